"""What each GGUF decoder family changes in the llama block: a table of differences, read by models/llama.py.

Every family here is the llama block (norm, attention with RoPE and grouped-query heads, gated MLP, residuals); a
`Family` row says where one departs from it. Facts about how llama.cpp's converter writes each family (so what the
tensors in a GGUF already contain) are in the comments, since they decide what the model must (not) do at run time:

  llama (also Mistral, which llama.cpp writes as arch "llama"): attn_q / attn_k rows permuted into interleaved
      RoPE pairs ("normal" RoPE); optional sliding window over all layers (Mistral v0.1) and per-dimension RoPE
      frequency factors (Llama 3.1's `rope_freqs` tensor).
  qwen2: biases on q, k and v; RoPE on the two halves of a head ("neox"); small models tie the output embedding.
  qwen3: no biases, a per-head RMSNorm on q and k before RoPE; neox RoPE.
  phi3: q, k, v rows fused in one `attn_qkv` tensor and gate, up rows in one `ffn_up` tensor, already in the order
      the llama model stacks them; neox RoPE; optional sliding window over all layers; Phi-3.5 / 128k files carry
      LongRoPE (rope_factors_long / _short tensors and rope.scaling.attn_factor).
  gemma2 / gemma3: the norm weights are stored with Gemma's "1 +" already added (so the plain RMSNorm applies);
      token embeddings scaled by sqrt(dim); tanh-GELU MLP; a second norm after attention and after the MLP (before
      each residual add); tied output embedding; head_dim from attention.key_length (not dim / heads); sliding
      window on every layer but each `swa_pattern`-th. Gemma 2 soft-caps attention scores and final logits
      (cap * tanh(x / cap)); Gemma 3 instead has q/k norms, and its sliding layers use RoPE base 10000 while the
      global ones use rope.freq_base with the linear rope.scaling.factor.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass


class RopeStyle(enum.Enum):
    NORMAL = "normal"  # rotate consecutive pairs (2i, 2i + 1)
    NEOX = "neox"      # rotate (i, i + head_dim / 2)


class Activation(enum.Enum):
    SILU = "silu"
    GELU_TANH = "gelu_tanh"


@dataclass(frozen=True)
class Family:
    """How one GGUF architecture differs from llama (the defaults are llama)."""
    rope: RopeStyle = RopeStyle.NORMAL
    activation: Activation = Activation.SILU
    embed_scale: bool = False          # token embeddings times sqrt(dim)
    post_norms: bool = False           # post_attention_norm / post_ffw_norm before each residual add
    qk_norm: bool = False              # per-head RMSNorm of q and k (attn_q_norm / attn_k_norm) before RoPE
    qkv_bias: bool = False             # attn_q / attn_k / attn_v biases
    fused_qkv: bool = False            # attn_qkv and a gate-and-up ffn_up instead of separate tensors
    swa_pattern: int = 0               # with a sliding window: layer i is global when (i + 1) % swa_pattern == 0
    #                                    (0: every layer slides)
    local_rope_base: float | None = None  # RoPE base of the sliding layers, when it differs from rope.freq_base
    # block counts of the sizes whose queries scale by 1 / sqrt(dim / heads) instead of 1 / sqrt(head_dim): Gemma's
    # 27B models (query_pre_attn_scalar); their GGUF files do not say it, llama.cpp decides by size as well
    wide_query_scale_blocks: tuple[int, ...] = ()

    def required_tensors(self) -> tuple[str, ...]:
        """Per-layer tensors (names after "blk.{i}.") a file of this family must have: the model uses whichever
        optional tensors a file holds, so a file lacking one its family needs would otherwise run wrong silently."""
        names = ["attn_norm.weight", "attn_output.weight", "ffn_norm.weight", "ffn_up.weight", "ffn_down.weight"]
        names += ["attn_qkv.weight"] if self.fused_qkv else ["attn_q.weight", "attn_k.weight", "attn_v.weight",
                                                               "ffn_gate.weight"]
        if self.qkv_bias:
            names += ["attn_q.bias", "attn_k.bias", "attn_v.bias"]
        if self.qk_norm:
            names += ["attn_q_norm.weight", "attn_k_norm.weight"]
        if self.post_norms:
            names += ["post_attention_norm.weight", "post_ffw_norm.weight"]
        return tuple(names)


FAMILIES: dict[str, Family] = {
    "llama": Family(),
    "qwen2": Family(rope=RopeStyle.NEOX, qkv_bias=True),
    "qwen3": Family(rope=RopeStyle.NEOX, qk_norm=True),
    "phi3": Family(rope=RopeStyle.NEOX, fused_qkv=True),
    "gemma2": Family(rope=RopeStyle.NEOX, activation=Activation.GELU_TANH, embed_scale=True, post_norms=True,
                     swa_pattern=2, wide_query_scale_blocks=(46,)),
    "gemma3": Family(rope=RopeStyle.NEOX, activation=Activation.GELU_TANH, embed_scale=True, post_norms=True,
                     qk_norm=True, swa_pattern=6, local_rope_base=10000.0, wide_query_scale_blocks=(62,)),
}
