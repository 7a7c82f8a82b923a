"""Llama-family causal LM from a GGUF file (SmolLM2 and friends), following generate.LanguageModel.

The other decoder families (Mistral, Qwen2/3, Phi-3, Gemma 2/3) are this model with the differences that
models/families.py tabulates (biases, q/k norms, post-norms, GELU, soft-caps, sliding windows, RoPE variants).

Per layer: RMSNorm, q/k/v projections on the quantized weights (quant_matmul fuses the block decode into each
matmul kernel), RoPE, a KV-cache write, grouped-query attention, SwiGLU MLP; then the last position's logits
(or their argmax, on the device).

Graph structure is kept identical across positions so schedules and kernels are reused:
  * positions, the number of valid tokens and the cache offsets are int32 *data* tensors, never Python constants;
  * the KV cache is a list of fixed-size chunks (CHUNK positions, separate buffers); a step writes the chunk(s)
    it touches (an ASSIGN of a where() over the chunk) and attends over the first n chunks, masked by position.
    Which chunk buffer is written does not change the graph; only the number of chunks attended over does;
  * prompts are padded to a few bucket lengths, so prompts of different lengths share compiled kernels.
A step is captured once per shape as 32 engine.replay plans (embedding, one per layer, head) over persistent
buffers (the step's data and a ping-pong residual stream). The 30 layers have the same canonical graph, so they
share one schedule; later steps of that shape replay the plans with no graph building at all.

On the CPU device, with Q4_1 / Q8_0 weights, the projections, the KV-cache writes and attention run as hand-written
C kernels instead (cpu_quant, cpu_attention): each layer's part is cut at those into scheduled parts and kernel
launches, with the activations between them in persistent scratch buffers (Scratch); the residual adds happen
inside the projection launches.

Arch "llama" uses the GGML "normal" RoPE variant (rotate consecutive pairs (2i, 2i+1)): llama.cpp's converter
permutes the rows of attn_q / attn_k from Hugging Face's half-split order into this interleaved order. The other
families keep Hugging Face's order and rotate (i, i + head_dim / 2) ("neox").
"""
from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from baregrad import dtype as dt
from baregrad.codegen.opt import KernelOptions
from baregrad.device import Device, get_device
from baregrad.engine import replay
from baregrad.engine.buffer import Buffer
from baregrad.errors import ArgumentError, FormatError
from baregrad.ir.node import Node
from baregrad.ir.ops import Op
from baregrad.models import cpu_attention, cpu_paged, cpu_quant
from baregrad.models import quant_matmul as qm
from baregrad.models.batching import BatchFeed, BatchResult
from baregrad.models.families import FAMILIES, Activation, Family, RopeStyle
from baregrad.models.quant_matmul import QuantWeight
from baregrad.models.spm_tokenizer import SPMTokenizer
from baregrad.models.tokenizer import BPETokenizer
from baregrad.nn.state.gguf import GGUFFile, gguf_load, gguf_tensor
from baregrad.profile import profiler
from baregrad.profile.progress import tracked
from baregrad.tensor import Tensor

CHUNK = 128          # KV-cache positions per chunk buffer
DEFAULT_CONTEXT = 2048


@dataclass(frozen=True)
class LlamaConfig:
    dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    ffn_dim: int
    vocab_size: int
    norm_eps: float
    rope_base: float
    context_length: int
    head_dim: int
    arch: str = "llama"
    sliding_window: int = 0       # 0: none; else a sliding layer's query at p sees keys p - window < j <= p
    attn_softcap: float = 0.0     # 0: none; else scores become cap * tanh(scores / cap)
    final_softcap: float = 0.0    # the same on the output logits
    rope_scale: float = 1.0       # linear RoPE scaling: positions divided by this (global layers)
    attn_scale: float = 0.0       # 0: 1 / sqrt(head_dim)
    rope_attn_factor: float = 1.0          # cos and sin scaled by this (Phi-3's LongRoPE)
    rope_original_context: int = 0         # the context the model was trained at, before RoPE scaling

    @property
    def family(self) -> Family:
        return FAMILIES[self.arch]

    @property
    def q_dim(self) -> int:
        """Width of the attention output (n_heads * head_dim; not always dim, e.g. in Gemma)."""
        return self.n_heads * self.head_dim

    @property
    def scale(self) -> float:
        return self.attn_scale or 1.0 / math.sqrt(self.head_dim)

    def sliding(self, layer: int) -> bool:
        """Whether `layer` attends over a sliding window (see Family.swa_pattern)."""
        pattern = self.family.swa_pattern
        return self.sliding_window > 0 and (pattern == 0 or (layer + 1) % pattern != 0)

    @classmethod
    def from_gguf(cls, meta: dict[str, Any]) -> LlamaConfig:
        arch = str(meta.get("general.architecture", "llama"))
        if arch not in FAMILIES:
            raise FormatError(f"GGUF architecture {arch!r} is not supported; supported: {', '.join(FAMILIES)}")

        def get(key: str, default: Any = None) -> Any:
            value = meta.get(f"{arch}.{key}", default)
            if value is None:
                raise FormatError(f"GGUF metadata lacks {arch}.{key}")
            return value

        n_heads, dim, n_layers = int(get("attention.head_count")), int(get("embedding_length")), int(get("block_count"))
        wide_query = n_layers in FAMILIES[arch].wide_query_scale_blocks
        scaling = str(get("rope.scaling.type", "none"))
        tokens = meta.get("tokenizer.ggml.tokens")
        return cls(dim=dim, n_layers=n_layers, n_heads=n_heads,
                   n_kv_heads=int(get("attention.head_count_kv", n_heads)), ffn_dim=int(get("feed_forward_length")),
                   vocab_size=int(get("vocab_size", len(tokens) if tokens else None)),
                   norm_eps=float(get("attention.layer_norm_rms_epsilon", 1e-5)),
                   rope_base=float(get("rope.freq_base", 10000.0)), context_length=int(get("context_length", 2048)),
                   head_dim=int(get("attention.key_length", dim // n_heads)), arch=arch,
                   sliding_window=int(get("attention.sliding_window", 0)),
                   attn_softcap=float(get("attn_logit_softcapping", 0.0)),
                   final_softcap=float(get("final_logit_softcapping", 0.0)),
                   rope_scale=float(get("rope.scaling.factor", 1.0)) if scaling == "linear" else 1.0,
                   attn_scale=float(get("attention.scale", (n_heads / dim) ** 0.5 if wide_query else 0.0)),
                   rope_attn_factor=float(get("rope.scaling.attn_factor", 1.0)),
                   rope_original_context=int(get("rope.scaling.original_context_length", 0)))


@dataclass
class LayerWeights:
    attn_norm: Tensor
    wqkv: list[QuantWeight]   # attn_q, attn_k, attn_v rows stacked: one matmul kernel instead of three
    wo: QuantWeight
    ffn_norm: Tensor
    w_gate_up: list[QuantWeight]  # ffn_gate and ffn_up rows stacked
    w_down: QuantWeight
    qkv_bias: Tensor | None = None        # q, k, v biases concatenated (Qwen2)
    q_norm: Tensor | None = None          # per-head RMSNorm weights of q and k (Gemma 3, Qwen3)
    k_norm: Tensor | None = None
    post_attn_norm: Tensor | None = None  # norms of the attention and MLP outputs before the residual add (Gemma)
    post_ffn_norm: Tensor | None = None


@dataclass
class Scratch:
    """Activations between the native matmul launches (CPU path), for one padded length T."""
    h: Tensor        # (T, dim): a normalized projection input
    qkv: Tensor      # (T, q + k + v features)
    q: Tensor        # (T, n_heads, head_dim): queries after RoPE
    k: Tensor        # (T, n_kv_heads, head_dim): keys after RoPE
    attn: Tensor     # (T, dim): attention output
    x_mid: Tensor    # (T, dim): residual stream after attention
    gate_up: Tensor  # (T, 2 * ffn_dim)
    ffn: Tensor      # (T, ffn_dim)
    head_in: Tensor  # (1, dim): the last position, normalized
    logits: Tensor   # (1, vocab_size)


@dataclass
class StepState:
    """Persistent device buffers of one padded length: the step's data, and the residual stream (ping-pong)."""
    ids: Tensor
    meta: Tensor
    offsets: Tensor
    x_a: Tensor
    x_b: Tensor
    scratch: Scratch | None = None  # only where the projections are native launches
    attend: Any = None  # a batched step's attention over the pooled cache (BatchDecoder), in place of the chunks'

    @property
    def x(self) -> tuple[Tensor, Tensor]:
        return self.x_a, self.x_b


class Part(Protocol):
    def run(self, device: Device) -> Buffer: ...


@dataclass
class Plan:
    """A captured step in order: the replay plans of its lazy parts (over the step's persistent buffers) and native
    launches. Running it does no graph work at all; it returns the last part's (first) output buffer."""
    parts: list[replay.ReplayPlan | Part]

    def run(self, device: Device) -> Buffer:
        out: Buffer | None = None
        for part in self.parts:
            if isinstance(part, replay.ReplayPlan):
                out = part.run()[0]
            elif profiler.ACTIVE is not None:  # a hand-written native kernel: timed as one span
                out = profiler.ACTIVE.timed(type(part).__name__, lambda p=part: p.run(device), device)
            else:
                out = part.run(device)
        assert out is not None
        return out


@dataclass
class PlanBuilder:
    """Collects the targets of the scheduled part being built; a native launch closes that part first."""
    parts: list[replay.ReplayPlan | Part] = field(default_factory=list)
    pending: list[Tensor] = field(default_factory=list)

    def add(self, *targets: Tensor) -> None:
        self.pending.extend(targets)

    def launch(self, launch: Part) -> None:
        self.flush()
        self.parts.append(launch)

    def flush(self) -> None:
        if self.pending:
            self.parts.append(capture_part(self.pending))
            self.pending = []

    def plan(self) -> Plan:
        self.flush()
        return Plan(self.parts)


@dataclass
class StepInputs:
    """The per-call data tensors: they change every call while the graph stays the same."""
    ids: Tensor        # (T_pad,) int32 token ids, zero-padded
    meta: Tensor       # (3,) int32: start position, number of valid tokens, index of the last valid token
    offsets: Tensor    # (n_written,) int32: start position minus the first position of each written chunk
    first_chunk: int   # index of the first chunk written
    n_chunks: int      # chunks attended over


def rms_norm(x: Tensor, weight: Tensor, eps: float) -> Tensor:
    return x * (x.square().mean(-1, keepdim=True) + eps).rsqrt() * weight


def rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate consecutive pairs of the last axis. x: (T, H, D); cos, sin: (T, 1, D // 2)."""
    pairs = x.reshape(*x.shape[:-1], x.shape[-1] // 2, 2)
    a, b = pairs[..., 0], pairs[..., 1]
    return Tensor.stack([a * cos - b * sin, a * sin + b * cos], dim=-1).reshape(x.shape)


def rope_neox(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate pairs (i, i + D/2) of the last axis (GPT-NeoX / Hugging Face order). x: (T, H, D)."""
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    return Tensor.cat([a * cos - b * sin, b * cos + a * sin], dim=-1)


def soft_cap(x: Tensor, cap: float) -> Tensor:
    """cap * tanh(x / cap): Gemma 2's bound on attention scores and logits (cap 0: x unchanged)."""
    return (x * (1.0 / cap)).tanh() * cap if cap else x


@dataclass(frozen=True)
class RopeTables:
    """cos and sin of every position's angles, (max_context, head_dim // 2) each."""
    cos: Tensor
    sin: Tensor


def tokenizer_from_gguf(meta: dict[str, Any]) -> BPETokenizer | SPMTokenizer:
    """The file's tokenizer: SentencePiece-style ("llama": Llama 2, Mistral, Phi-3, Gemma) or byte-level BPE."""
    if meta.get("tokenizer.ggml.model") == "llama":
        return SPMTokenizer.from_gguf_metadata(meta)
    return BPETokenizer.from_gguf_metadata(meta)


def prompt_bucket(n: int) -> int:
    """Padded prompt length: few distinct lengths, so prefill graphs (and kernels) are shared."""
    if n <= 1:
        return 1
    return max(16, 1 << (n - 1).bit_length())


class LlamaModel:
    """A GGUF llama with a chunked, preallocated KV cache; see the module docstring."""

    def __init__(self, gguf: GGUFFile, device: str | None = None, max_context: int = DEFAULT_CONTEXT):
        self.config = cfg = LlamaConfig.from_gguf(gguf.metadata)
        self.device = get_device(device).name
        self.tokenizer = tokenizer_from_gguf(gguf.metadata)
        self.max_context = min(max_context, cfg.context_length)
        t = gguf.tensors
        self.token_embd = qm.from_gguf(t["token_embd.weight"], self.device)
        output = t.get("output.weight")
        self.output = qm.from_gguf(output, self.device) if output is not None else self.token_embd
        self.output_norm = self._plain(t["output_norm.weight"])
        layer_bytes = [sum(x.nbytes for name, x in t.items() if name.startswith(f"blk.{i}.")) for i in
                       range(cfg.n_layers)]
        self.layers = [self._layer(t, i) for i in tracked(range(cfg.n_layers), sum(layer_bytes), "loading model",
                                                          "B", size=layer_bytes.__getitem__)]
        factors = self._rope_factors(t)
        freq_factors = None if factors is None else array("f", gguf_tensor(factors).to_bytes()).tolist()
        self.rope_global = self._rope_tables(cfg.rope_base, cfg.rope_scale, freq_factors, cfg.rope_attn_factor)
        local_base = cfg.family.local_rope_base
        self.rope_local = self.rope_global if local_base is None else self._rope_tables(local_base, 1.0, None)
        # a file whose RoPE needs what is not built here would otherwise run with wrong angles
        scaling = gguf.metadata.get(f"{cfg.arch}.rope.scaling.type")
        if scaling not in (None, "none", "linear") and factors is None:
            raise FormatError(f"{cfg.arch}.rope.scaling.type={scaling!r} without rope factor tensors is not "
                              "supported (only none, linear, Llama 3.1's rope_freqs and Phi-3's LongRoPE)")
        n_chunks = math.ceil(self.max_context / CHUNK)
        shape = (CHUNK, cfg.n_kv_heads, cfg.head_dim)
        self.k_cache = [[_fresh(dt.float32, shape, self.device) for _ in range(n_chunks)] for _ in range(cfg.n_layers)]
        self.v_cache = [[_fresh(dt.float32, shape, self.device) for _ in range(n_chunks)] for _ in range(cfg.n_layers)]
        self._device = get_device(self.device)
        # the projections as hand-written SIMD kernels where they exist (CPU, Q4_1 / Q8_0 weights)
        self._native = self._native_fits() and cpu_quant.supported(self.device, self._matrices())
        self._states: dict[tuple[int, int], StepState] = {}
        self._plans: dict[tuple, Plan] = {}

    # ---- loading ----
    def _plain(self, tensor) -> Tensor:
        return gguf_tensor(tensor).to(self.device).cast(dt.float32).realize()

    def _layer(self, t: dict, i: int) -> LayerWeights:
        missing = [f"blk.{i}.{n}" for n in self.config.family.required_tensors() if f"blk.{i}.{n}" not in t]
        if missing:
            raise FormatError(f"{self.config.arch} GGUF lacks {', '.join(missing)}")

        def q(name: str) -> QuantWeight:
            return qm.from_gguf(t[f"blk.{i}.{name}.weight"], self.device)

        def optional(name: str) -> Tensor | None:
            tensor = t.get(f"blk.{i}.{name}")
            return None if tensor is None else self._plain(tensor)

        # Phi-3 stores q, k, v (and gate, up) fused, in the order the separate tensors are stacked below
        wqkv = [q("attn_qkv")] if f"blk.{i}.attn_qkv.weight" in t else qm.stack_rows([q("attn_q"), q("attn_k"),
                                                                                         q("attn_v")])
        gate_up = qm.stack_rows([q("ffn_gate"), q("ffn_up")]) if f"blk.{i}.ffn_gate.weight" in t else [q("ffn_up")]
        return LayerWeights(self._plain(t[f"blk.{i}.attn_norm.weight"]), wqkv, q("attn_output"),
                            self._plain(t[f"blk.{i}.ffn_norm.weight"]), gate_up, q("ffn_down"),
                            qkv_bias=self._qkv_bias(t, i), q_norm=optional("attn_q_norm.weight"),
                            k_norm=optional("attn_k_norm.weight"),
                            post_attn_norm=optional("post_attention_norm.weight"),
                            post_ffn_norm=optional("post_ffw_norm.weight"))

    def _qkv_bias(self, t: dict, i: int) -> Tensor | None:
        """The q, k and v biases as one vector (zeros for a missing one), or None when the layer has none."""
        cfg = self.config
        names = [f"blk.{i}.attn_{p}.bias" for p in "qkv"]
        if not any(n in t for n in names):
            return None
        widths = (cfg.q_dim, cfg.n_kv_heads * cfg.head_dim, cfg.n_kv_heads * cfg.head_dim)
        parts = [self._plain(t[n]).reshape(w) if n in t else Tensor.zeros(w, device=self.device)
                 for n, w in zip(names, widths)]
        return Tensor.cat(parts, dim=0).realize()

    def _rope_factors(self, t: dict) -> Any:
        """The tensor of per-frequency RoPE divisors, if any: Llama 3.1's rope_freqs, or Phi-3's LongRoPE pair, of
        which (as llama.cpp) the long one when the context asked for exceeds the original training context."""
        if "rope_freqs.weight" in t:
            return t["rope_freqs.weight"]
        long, short = t.get("rope_factors_long.weight"), t.get("rope_factors_short.weight")
        if long is None or short is None:
            return None
        return long if self.max_context > self.config.rope_original_context else short

    def _rope_tables(self, base: float, scale: float, freq_factors: list[float] | None,
                     attn_factor: float = 1.0) -> RopeTables:
        hd = self.config.head_dim
        half = hd // 2
        inv = [base ** (-2.0 * i / hd) / scale for i in range(half)]
        if freq_factors is not None:
            if len(freq_factors) != half:
                raise FormatError(f"rope_freqs has {len(freq_factors)} factors for head_dim {hd} (needs {half})")
            inv = [f / d for f, d in zip(inv, freq_factors)]
        # angles in float64 on the host, as llama.cpp / torch build them, then rounded to float32
        cos = [math.cos(p * f) * attn_factor for p in range(self.max_context) for f in inv]
        sin = [math.sin(p * f) * attn_factor for p in range(self.max_context) for f in inv]
        shape = (self.max_context, half)
        return RopeTables(Tensor.from_bytes(array("f", cos).tobytes(), dt.float32, shape, self.device),
                          Tensor.from_bytes(array("f", sin).tobytes(), dt.float32, shape, self.device))

    def _native_fits(self) -> bool:
        """Whether the hand-written CPU kernels compute this model's layers: they add the residual inside the
        projection (no post-norms) and attend over every earlier position with the 1 / sqrt(head_dim) scale and
        dim-wide output (no window, no soft-cap)."""
        cfg = self.config
        return (cfg.sliding_window == 0 and not cfg.attn_softcap and not cfg.attn_scale and cfg.q_dim == cfg.dim
                and all(layer.post_attn_norm is None and layer.post_ffn_norm is None for layer in self.layers))

    def _matrices(self) -> list[QuantWeight]:
        """Every weight a decoded token multiplies with."""
        return [self.output] + [w for layer in self.layers for w in (*layer.wqkv, layer.wo, *layer.w_gate_up,
                                                                     layer.w_down)]

    @property
    def weight_nbytes(self) -> int:
        """Bytes of weights read per decoded token (all matrices, norms excluded)."""
        return qm.weight_bytes(self._matrices())

    # ---- the protocol ----
    def reset(self) -> None:
        """Forget the cache. Entries are never read beyond the current position, so nothing needs clearing."""

    def forward(self, token_ids: list[int], start_pos: int) -> list[float]:
        return array("f", self._run(token_ids, start_pos, argmax=False).to_bytes()).tolist()

    def greedy(self, token_ids: list[int], start_pos: int) -> int:
        """Feed the tokens like forward() and return the argmax of the last logits, computed on the device."""
        return array("i", self._run(token_ids, start_pos, argmax=True).to_bytes())[0]

    def batch_decoder(self, slots: int, ctx_size: int) -> BatchDecoder | None:
        """Batched steps for `slots` sequences over a pooled KV cache of `ctx_size` positions (serving), or None
        where this model has no batched path (only the native CPU kernels have one)."""
        if not self._native or self.config.final_softcap:
            return None
        return BatchDecoder(self, slots, ctx_size)

    def _run(self, token_ids: list[int], start_pos: int, argmax: bool) -> Buffer:
        n = len(token_ids)
        if n == 0 or start_pos < 0 or start_pos + n > self.max_context:
            raise ArgumentError(f"cannot feed {n} tokens at position {start_pos} with a context of {self.max_context}")
        padded = prompt_bucket(n)
        first, last = start_pos // CHUNK, (start_pos + n - 1) // CHUNK
        state = self._state(padded, last + 1 - first)
        state.ids.node.arg.copyin(array("i", token_ids + [0] * (padded - n)).tobytes())
        state.meta.node.arg.copyin(array("i", [start_pos, n, n - 1]).tobytes())
        state.offsets.node.arg.copyin(array("i", [start_pos - c * CHUNK for c in range(first, last + 1)]).tobytes())
        key = (padded, first, last + 1, argmax)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._capture(state, first, last + 1, argmax)
        return plan.run(self._device)

    # ---- capture: one schedule per part (embedding, each layer, head), replayed on persistent buffers ----
    def _state(self, padded: int, n_written: int) -> StepState:
        key = (padded, n_written)
        state = self._states.get(key)
        if state is None:
            def buf(d: dt.DType, *shape: int) -> Tensor:
                return _fresh(d, shape, self.device)
            state = self._states[key] = StepState(buf(dt.int32, padded), buf(dt.int32, 3), buf(dt.int32, n_written),
                                                  buf(dt.float32, padded, self.config.dim),
                                                  buf(dt.float32, padded, self.config.dim))
            if self._native:
                state.scratch = self._scratch(padded)
        return state

    def _scratch(self, padded: int, head_rows: int = 1) -> Scratch:
        cfg = self.config
        qkv = sum(w.shape[0] for w in self.layers[0].wqkv)

        def buf(*shape: int) -> Tensor:
            return _fresh(dt.float32, shape, self.device)
        return Scratch(buf(padded, cfg.dim), buf(padded, qkv), buf(padded, cfg.n_heads, cfg.head_dim),
                       buf(padded, cfg.n_kv_heads, cfg.head_dim), buf(padded, cfg.dim), buf(padded, cfg.dim),
                       buf(padded, 2 * cfg.ffn_dim), buf(padded, cfg.ffn_dim), buf(head_rows, cfg.dim),
                       buf(head_rows, self.output.shape[0]))

    def _capture(self, state: StepState, first: int, n_chunks: int, argmax: bool) -> Plan:
        inp = StepInputs(state.ids, state.meta, state.offsets, first, n_chunks)
        cfg, t = self.config, state.ids.shape[0]
        positions = state.meta[0:1] + Tensor.arange(t, dtype=dt.int32, device=self.device)

        def angles(tables: RopeTables) -> tuple[Tensor, Tensor]:
            return (tables.cos.index_select(0, positions).reshape(t, 1, cfg.head_dim // 2),
                    tables.sin.index_select(0, positions).reshape(t, 1, cfg.head_dim // 2))
        rope_global = angles(self.rope_global)
        rope_local = rope_global if self.rope_local is self.rope_global else angles(self.rope_local)
        # key j is visible to query i when j <= start + i (and, in a sliding layer, j > start + i - window);
        # the mask is finite because WGSL may assume no infinity
        keys = Tensor.arange(n_chunks * CHUNK, dtype=dt.int32, device=self.device).reshape(1, -1)
        seen = keys <= positions.reshape(-1, 1)
        mask = seen.where(0.0, -1e30)
        local_mask = (seen & (keys > positions.reshape(-1, 1) - cfg.sliding_window)).where(0.0, -1e30)
        b = PlanBuilder()
        x0 = qm.embedding(self.token_embd, state.ids)
        b.add(_assign(state.x[0], x0 * math.sqrt(cfg.dim) if cfg.family.embed_scale else x0))
        b.flush()
        for i, layer in enumerate(self.layers):
            sliding = cfg.sliding(i)
            cos, sin = rope_local if sliding else rope_global
            x_out = self._block(b, state, i, layer, state.x[i % 2], cos, sin, local_mask if sliding else mask, inp)
            if x_out is not state.x[1 - i % 2]:
                b.add(_assign(state.x[1 - i % 2], x_out))
            b.flush()  # one part per layer: the 30 layers share its schedule
        x = state.x[len(self.layers) % 2]
        last = x.index_select(0, state.meta[2:3])
        scratch = state.scratch
        out = self._project(b, rms_norm(last, self.output_norm, cfg.norm_eps), [self.output],
                            scratch and scratch.head_in, scratch and scratch.logits)
        out = soft_cap(out, cfg.final_softcap)
        # realized before the argmax, whose reduces would otherwise each recompute the 49152-row matmul
        if argmax:
            b.add(_contiguous(out).argmax(-1).cast(dt.int32))
        elif out.node.op is not Op.BUFFER:
            b.add(out)
        return b.plan()

    def _block(self, b: PlanBuilder, state: StepState, i: int, layer: LayerWeights, x: Tensor, cos: Tensor,
               sin: Tensor, mask: Tensor, inp: StepInputs) -> Tensor:
        # s is None off the native path: projections are then lazy Tensor ops, and `s and s.h` passes no buffer
        cfg, s = self.config, state.scratch
        t, hd = x.shape[0], cfg.head_dim
        # normalized once: fused into each projection, the norm would be redone per output row
        h = rms_norm(x, layer.attn_norm, cfg.norm_eps)
        # a projection is its own kernel: RoPE reads two of its outputs per element, the cache write gathers rows
        qkv = self._project(b, h, layer.wqkv, s and s.h, s and s.qkv)
        if layer.qkv_bias is not None and s is not None:
            # native: the cache write reads v from the projection's buffer, so the bias is added in place, first
            b.add(_assign(s.qkv, s.qkv + layer.qkv_bias))
            b.flush()
        elif layer.qkv_bias is not None:
            qkv = qkv + layer.qkv_bias
        q_end, k_end = cfg.n_heads * hd, (cfg.n_heads + cfg.n_kv_heads) * hd
        q = qkv[:, :q_end].reshape(t, cfg.n_heads, hd)
        k = qkv[:, q_end:k_end].reshape(t, cfg.n_kv_heads, hd)
        v = qkv[:, k_end:].reshape(t, cfg.n_kv_heads, hd)
        if layer.q_norm is not None and layer.k_norm is not None:
            q, k = rms_norm(q, layer.q_norm, cfg.norm_eps), rms_norm(k, layer.k_norm, cfg.norm_eps)
        rotate = rope_neox if cfg.family.rope is RopeStyle.NEOX else rope
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        if state.attend is not None:
            attn = state.attend(b, i, q, k, k_end)
        elif s is not None:
            attn = self._native_attention(b, i, q, k, k_end, inp, state)
        else:
            keys = self._write(b, self.k_cache[i], k, inp)
            values = self._write(b, self.v_cache[i], v, inp)
            # the residual stream and every matmul input are realized: a consumer inside a reduce loop would
            # otherwise recompute them per iteration
            attn = self._attention(q.contiguous(), keys, values, mask)
        # the attention output is a permuted view of a realized buffer: the projection reads it as it is
        if layer.post_attn_norm is None:
            x = self._project(b, attn, [layer.wo], s and s.attn, s and s.x_mid, residual=x, realize_input=False)
        else:  # Gemma: the attention output normalized before the residual add (never on the native path)
            out = self._project(b, attn, [layer.wo], None, None, realize_input=False)
            x = (x + rms_norm(out, layer.post_attn_norm, cfg.norm_eps)).contiguous()
        h = rms_norm(x, layer.ffn_norm, cfg.norm_eps)
        gate_up = self._project(b, h, layer.w_gate_up, s and s.h, s and s.gate_up)
        # realized: fused into the down projection, the activation would be recomputed for every output row
        gate = gate_up[:, :cfg.ffn_dim]
        act = gate.gelu(approximate="tanh") if cfg.family.activation is Activation.GELU_TANH else gate.silu()
        ffn = act * gate_up[:, cfg.ffn_dim:]
        if layer.post_ffn_norm is None:
            return self._project(b, ffn, [layer.w_down], s and s.ffn, s and state.x[1 - i % 2], residual=x)
        out = self._project(b, ffn, [layer.w_down], None, None)
        return x + rms_norm(out, layer.post_ffn_norm, cfg.norm_eps)

    def _project(self, b: PlanBuilder, x: Tensor, weights: list[QuantWeight], staging: Tensor | None,
                 out: Tensor | None, residual: Tensor | None = None, realize_input: bool = True) -> Tensor:
        """(residual +) x @ W.T for W the rows of `weights`: a realized lazy result (x realized first unless told
        not to), or, on the native path, the scratch buffer `out` written by kernel launches reading x from
        `staging`."""
        if not self._native or staging is None or out is None:
            x = _contiguous(x) if realize_input else x
            if residual is None:
                return qm.linear_stacked(x, weights)
            (w,) = weights
            return (residual + qm.linear(x, w)).contiguous()
        if x.node.op is not Op.BUFFER:
            b.add(_assign(staging, x))
            x = staging
        column = 0
        for w in weights:
            b.launch(cpu_quant.launch(out, x, w, residual, column))
            column += w.shape[0]
        return out

    def _native_attention(self, b: PlanBuilder, i: int, q: Tensor, k: Tensor, v_column: int, inp: StepInputs,
                          state: StepState) -> Tensor:
        """RoPE'd q and k realized into scratch, then launches: the new k and v rows (v read from the projection's
        output at v_column) written into the chunks they fall in, and attention over the first n chunks."""
        s = state.scratch
        assert s is not None
        b.add(_assign(s.q, q), _assign(s.k, k))
        meta = state.meta.node.arg
        for c in range(inp.first_chunk, inp.n_chunks):
            b.launch(cpu_attention.KVWrite(self.k_cache[i][c].node.arg, c * CHUNK, s.k.node.arg, meta))
            b.launch(cpu_attention.KVWrite(self.v_cache[i][c].node.arg, c * CHUNK, s.qkv.node.arg, meta, v_column))
        chunks = range(inp.n_chunks)
        b.launch(cpu_attention.Attention(s.attn.node.arg, s.q.node.arg, [self.k_cache[i][c].node.arg for c in chunks],
                                         [self.v_cache[i][c].node.arg for c in chunks], meta))
        return s.attn

    def _write(self, b: PlanBuilder, chunks: list[Tensor], new: Tensor, inp: StepInputs) -> Tensor:
        """Write the valid rows of `new` into the chunks they fall in; the keys (or values) to attend over."""
        rows = Tensor.arange(CHUNK, dtype=dt.int32, device=self.device)
        count = inp.meta[1:2]
        parts = list(chunks[:inp.n_chunks])
        for j in range(inp.n_chunks - inp.first_chunk):
            c = inp.first_chunk + j
            src_row = rows - inp.offsets[j:j + 1]
            inside = (src_row >= 0) & (src_row < count)
            gathered = new.index_select(0, src_row)
            value = inside.reshape(CHUNK, 1, 1).where(gathered, chunks[c])
            parts[c] = _assign(chunks[c], value)
            b.add(parts[c])
        return parts[0] if len(parts) == 1 else Tensor.cat(parts, dim=0)

    def _attention(self, q: Tensor, keys: Tensor, values: Tensor, mask: Tensor) -> Tensor:
        """Grouped-query attention. q: (T, H, D); keys, values: (L, Hkv, D); mask: (T, L) additive."""
        cfg = self.config
        t, hd = q.shape[0], cfg.head_dim
        rep = cfg.n_heads // cfg.n_kv_heads
        qg = q.reshape(t, cfg.n_kv_heads, rep, hd).permute(1, 2, 0, 3)              # (Hkv, R, T, D)
        kg = keys.permute(1, 0, 2).unsqueeze(1)                                      # (Hkv, 1, L, D)
        vg = values.permute(1, 0, 2).unsqueeze(1)
        # three kernels: fused further, the engine would recompute the scores (and softmax sums) per output
        scores = (soft_cap((qg @ kg.transpose(-1, -2)) * cfg.scale, cfg.attn_softcap) + mask).contiguous()
        out = (scores.softmax(-1).contiguous() @ vg).contiguous()                           # (Hkv, R, T, D)
        return out.permute(2, 0, 1, 3).reshape(t, cfg.q_dim)


def _fresh(d: dt.DType, shape: tuple[int, ...], device: str) -> Tensor:
    """A zeroed buffer of its own. Realizing Tensor.zeros twice gives the SAME buffer (the engine memoizes
    computed nodes), and these buffers are written in place."""
    return Tensor.from_bytes(bytes(math.prod(shape) * d.itemsize), d, shape, device)


def _contiguous(x: Tensor) -> Tensor:
    """x as its own kernel's output, unless it already is a buffer."""
    return x if x.node.op in (Op.BUFFER, Op.CONTIGUOUS) else x.contiguous()


def _assign(target: Tensor, value: Tensor) -> Tensor:
    """A lazy write of `value` into the realized `target` (target itself is left untouched, unlike assign())."""
    node = Node(Op.ASSIGN, target.dtype, (target.node, value.cast(target.dtype).node))
    return Tensor.from_node(node, target.device)


# The schedule options of every captured part: the generic ones, which the decode path was tuned and measured
# with (the device's own add SIMD tiling and GPU reduce splits; switching is a measured change of its own)
PART_OPTIONS = KernelOptions()


def capture_part(targets: list[Tensor]) -> replay.ReplayPlan:
    """The replay plan of `targets`, lazy writes into the step's persistent buffers. Schedules are cached by device
    and graph structure, so the 30 layers share one and its compiled kernels."""
    return replay.capture([t.node for t in targets], get_device(targets[0].device), PART_OPTIONS)


# ---- batched steps over a pooled KV cache (the server's continuous batching) ----


def batch_bucket(rows: int) -> int:
    """Padded row count of a batched step: powers of two up to 16 (decode steps), then multiples of 32 (steps with
    prompt chunks), so a step wastes at most 31 rows yet few distinct plans are captured."""
    return 1 << (rows - 1).bit_length() if rows <= 16 else -(-rows // 32) * 32


@dataclass
class BatchState:
    """Persistent buffers of a batched step of T rows: each row's position (-1: padding), block-table row, and the
    rows whose logits the head computes (and their argmax)."""
    step: StepState
    pos: Tensor         # (T,) int32
    table: Tensor       # (T, max_blocks) int32
    out_rows: Tensor    # (head rows,) int32
    argmax: Tensor      # (head rows,) int32


class BatchDecoder:
    """Decodes several sequences in one step: every row is one token of one sequence at its own position, and the
    KV cache is a pool of `block`-position blocks that sequences own lists of (see cpu_paged). Row counts are padded
    (batch_bucket), and the rows the head computes logits for to powers of two; a step is captured once per pair
    of them, as LlamaModel captures its steps."""

    BLOCK = 16

    def __init__(self, model: LlamaModel, slots: int, ctx_size: int):
        cfg = model.config
        self.model, self.slots = model, slots
        self.block = self.BLOCK
        self.n_blocks = max(1, -(-ctx_size // self.block))
        self.max_blocks = -(-min(ctx_size, model.max_context) // self.block)  # per sequence
        shape = (self.n_blocks * self.block, cfg.n_kv_heads, cfg.head_dim)
        self.k_pool = [_fresh(dt.float32, shape, model.device) for _ in range(cfg.n_layers)]
        self.v_pool = [_fresh(dt.float32, shape, model.device) for _ in range(cfg.n_layers)]
        self._states: dict[tuple[int, int], BatchState] = {}
        self._plans: dict[tuple[int, int], Plan] = {}

    @property
    def max_positions(self) -> int:
        """Positions one sequence may hold."""
        return min(self.max_blocks * self.block, self.model.max_context)

    def step(self, feeds: list[BatchFeed]) -> BatchResult:
        """Feed every sequence's tokens in one batched step."""
        wanted = [f for f in feeds if f.want]
        rows = sum(len(f.tokens) for f in feeds)
        if not feeds or len(wanted) > self.slots or any(not f.tokens for f in feeds):
            raise ArgumentError(f"a batched step takes 1..{self.slots} sequences with tokens, got {len(feeds)}")
        padded, head = batch_bucket(rows), 1 << max(len(wanted) - 1, 0).bit_length()
        state = self._state(padded, head)
        ids, pos, table, out_rows = [], [], [], []
        for f in feeds:
            if f.start < 0 or f.start + len(f.tokens) > min(len(f.blocks) * self.block, self.max_positions):
                raise ArgumentError(f"cannot feed {len(f.tokens)} tokens at position {f.start} into "
                                    f"{len(f.blocks)} blocks of {self.block}")
            row = f.blocks + [0] * (self.max_blocks - len(f.blocks))
            ids += f.tokens
            pos += range(f.start, f.start + len(f.tokens))
            table += row * len(f.tokens)
            if f.want:
                out_rows.append(len(ids) - 1)
        extra = padded - rows
        state.step.ids.node.arg.copyin(array("i", ids + [0] * extra).tobytes())
        state.pos.node.arg.copyin(array("i", pos + [-1] * extra).tobytes())
        state.table.node.arg.copyin(array("i", table + [0] * (extra * self.max_blocks)).tobytes())
        state.out_rows.node.arg.copyin(array("i", out_rows + [0] * (head - len(out_rows))).tobytes())
        plan = self._plans.get((padded, head))
        if plan is None:
            plan = self._plans[padded, head] = self._capture(state)
        argmax = array("i", plan.run(self.model._device).to_bytes()).tolist()[:len(wanted)]
        scratch = state.step.scratch
        assert scratch is not None
        vocab = scratch.logits.shape[1]
        cache: list[bytes] = []

        def logits(k: int) -> list[float]:
            if not cache:  # read once per step, however many sequences need their logits
                cache.append(scratch.logits.node.arg.to_bytes())
            return array("f", cache[0][4 * vocab * k:4 * vocab * (k + 1)]).tolist()
        return BatchResult(argmax, logits)

    def _state(self, padded: int, head: int) -> BatchState:
        state = self._states.get((padded, head))
        if state is None:
            m, cfg = self.model, self.model.config

            def buf(d: dt.DType, *shape: int) -> Tensor:
                return _fresh(d, shape, m.device)
            step = StepState(buf(dt.int32, padded), buf(dt.int32, 3), buf(dt.int32, 1),
                             buf(dt.float32, padded, cfg.dim), buf(dt.float32, padded, cfg.dim),
                             m._scratch(padded, head))
            state = self._states[padded, head] = BatchState(step, buf(dt.int32, padded),
                                                            buf(dt.int32, padded, self.max_blocks),
                                                            buf(dt.int32, head), buf(dt.int32, head))
        return state

    def _capture(self, state: BatchState) -> Plan:
        m, cfg, step = self.model, self.model.config, state.step
        t = step.ids.shape[0]
        positions = state.pos.clamp(0, m.max_context - 1)  # padding rows (-1) read position 0's angles
        cos = m.rope_global.cos.index_select(0, positions).reshape(t, 1, cfg.head_dim // 2)
        sin = m.rope_global.sin.index_select(0, positions).reshape(t, 1, cfg.head_dim // 2)
        step.attend = lambda b, i, q, k, v_column: self._attend(b, state, i, q, k, v_column)
        b = PlanBuilder()
        x0 = qm.embedding(m.token_embd, step.ids)
        b.add(_assign(step.x[0], x0 * math.sqrt(cfg.dim) if cfg.family.embed_scale else x0))
        b.flush()
        for i, layer in enumerate(m.layers):
            x_out = m._block(b, step, i, layer, step.x[i % 2], cos, sin, None, None)  # type: ignore[arg-type]
            if x_out is not step.x[1 - i % 2]:
                b.add(_assign(step.x[1 - i % 2], x_out))
            b.flush()
        x = step.x[len(m.layers) % 2]
        scratch = step.scratch
        assert scratch is not None
        last = x.index_select(0, state.out_rows)
        m._project(b, rms_norm(last, m.output_norm, cfg.norm_eps), [m.output], scratch.head_in, scratch.logits)
        b.launch(cpu_paged.RowArgmax(state.argmax.node.arg, scratch.logits.node.arg))
        return b.plan()

    def _attend(self, b: PlanBuilder, state: BatchState, i: int, q: Tensor, k: Tensor, v_column: int) -> Tensor:
        """RoPE'd q and k into scratch; each row's k and v written into its block; attention over the pool."""
        s = state.step.scratch
        assert s is not None
        b.add(_assign(s.q, q), _assign(s.k, k))
        pos, table = state.pos.node.arg, state.table.node.arg
        keys, values = self.k_pool[i].node.arg, self.v_pool[i].node.arg
        b.launch(cpu_paged.PoolWrite(keys, s.k.node.arg, pos, table, self.block))
        b.launch(cpu_paged.PoolWrite(values, s.qkv.node.arg, pos, table, self.block, v_column))
        b.launch(cpu_paged.PoolAttention(s.attn.node.arg, s.q.node.arg, keys, values, pos, table, self.block,
                                         self.model.config.scale))
        return s.attn


def load_llama(path: str | Path, device: str | None = None, max_context: int = DEFAULT_CONTEXT) -> LlamaModel:
    """A LlamaModel from a GGUF file; quantized weights stay quantized on the device."""
    return LlamaModel(gguf_load(path), device, max_context)
