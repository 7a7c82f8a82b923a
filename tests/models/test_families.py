"""Each GGUF decoder family against transformers: a tiny random model of that family, written to GGUF by the test.

The conversion below follows what llama.cpp's converter does to each family's tensors (the facts models/families.py
relies on): arch "llama" (Mistral too) gets its q / k rows permuted into interleaved RoPE pairs, Gemma's norm weights
get their "1 +" added, every other tensor is renamed with the gguf package's own name map. The model is then run by
baregrad (prefill, then one token at a time through the KV cache) and its logits at each position compared with
transformers' float32 forward over the same tokens (1e-4), and every greedy token with transformers' argmax.

Needs `transformers` and `gguf` (test extras): skipped with the reason when either is missing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
gguf = pytest.importorskip("gguf")

from tests.helpers import devices_under_test  # noqa: E402 - after the skips for missing packages

VOCAB, PROMPT, GENERATED = 96, 12, 8
WINDOW = 5  # sliding window, shorter than the prompt so it masks something in prefill and decode
TOLERANCE = 1e-4


@dataclass
class Case:
    arch: str                      # GGUF general.architecture
    model_class: str               # transformers class
    config_class: str
    config: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)  # extra GGUF metadata (key without the "{arch}." prefix)


COMMON = {"vocab_size": VOCAB, "hidden_size": 32, "intermediate_size": 48, "num_attention_heads": 4,
          "num_key_value_heads": 2, "num_hidden_layers": 2, "max_position_embeddings": 64, "pad_token_id": 0,
          "rms_norm_eps": 1e-6, "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2}

CASES = {
    # Llama 3.1-style RoPE frequency factors (rope_freqs tensor) and an untied output
    "llama": Case("llama", "LlamaForCausalLM", "LlamaConfig",
                  dict(COMMON, rope_parameters={"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0,
                                                    "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                    "original_max_position_embeddings": 16})),
    # written as arch "llama" by llama.cpp; a sliding window on every layer
    "mistral": Case("llama", "MistralForCausalLM", "MistralConfig",
                    dict(COMMON, sliding_window=WINDOW, head_dim=8), {"attention.sliding_window": WINDOW}),
    "qwen2": Case("qwen2", "Qwen2ForCausalLM", "Qwen2Config",
                  dict(COMMON, tie_word_embeddings=True, rope_parameters={"rope_type": "default",
                                                                               "rope_theta": 1e6})),
    "qwen3": Case("qwen3", "Qwen3ForCausalLM", "Qwen3Config", dict(COMMON, head_dim=16)),
    # Phi-3.5's LongRoPE (past the original context: the long factors and the attention factor)
    "phi3": Case("phi3", "Phi3ForCausalLM", "Phi3Config",
                 dict(COMMON, sliding_window=WINDOW, original_max_position_embeddings=16,
                      rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0,
                                       "short_factor": [1.0, 1.0, 1.5, 2.0], "long_factor": [3.0, 5.0, 8.0, 16.0]}),
                 {"attention.sliding_window": WINDOW, "rope.scaling.type": "longrope",
                  "rope.scaling.original_context_length": 16, "rope.scaling.attn_factor": math.sqrt(1 + math.log(4) /
                                                                                                   math.log(16))}),
    "gemma2": Case("gemma2", "Gemma2ForCausalLM", "Gemma2Config",
                   dict(COMMON, tie_word_embeddings=True, head_dim=16, query_pre_attn_scalar=16,
                        sliding_window=WINDOW, attn_logit_softcapping=5.0, final_logit_softcapping=3.0,
                        hidden_activation="gelu_pytorch_tanh"),
                   {"attention.sliding_window": WINDOW, "attn_logit_softcapping": 5.0,
                    "final_logit_softcapping": 3.0}),
    # 6 layers: llama.cpp's Gemma 3 pattern (5 sliding, 1 global); the global layer's RoPE scaled linearly
    "gemma3": Case("gemma3", "Gemma3ForCausalLM", "Gemma3TextConfig",
                   dict(COMMON, num_hidden_layers=6, tie_word_embeddings=True, head_dim=16, query_pre_attn_scalar=16,
                        sliding_window=WINDOW, hidden_activation="gelu_pytorch_tanh",
                        rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                                         "full_attention": {"rope_type": "linear", "rope_theta": 1e6, "factor": 4.0}}),
                   {"attention.sliding_window": WINDOW, "rope.scaling.type": "linear", "rope.scaling.factor": 4.0,
                    "rope.freq_base": 1e6}),
}


def hf_model(case: Case) -> Any:
    config = getattr(transformers, case.config_class)(**case.config)
    config._attn_implementation = "eager"  # soft-capping and windows as written, no fused kernel
    torch.manual_seed(0)
    model = getattr(transformers, case.model_class)(config).float().eval()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():  # weights far from init's near-zero values, so logits are not near-ties
        for name, p in model.named_parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * (0.1 if name.endswith("norm.weight") else 0.3))
    return model


def llama_permute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Rows of each head from Hugging Face's half-split RoPE order to interleaved pairs (llama.cpp's converter)."""
    return w.reshape(n_heads, 2, w.shape[0] // n_heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_gguf(model: Any, case: Case, path: Path, arch: str | None = None, drop: str = "",
               quant: Any = None) -> None:
    """`model` converted as llama.cpp does; `arch` overrides the architecture name written, tensors whose GGUF
    name contains `drop` (when given) are left out (to make broken files), and with `quant` (a gguf quantization
    type) the matrices are stored quantized."""
    cfg = model.config
    writer = gguf.GGUFWriter(str(path), arch or case.arch)
    arch = case.arch
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    meta = {"context_length": cfg.max_position_embeddings, "embedding_length": cfg.hidden_size,
            "block_count": cfg.num_hidden_layers, "feed_forward_length": cfg.intermediate_size,
            "attention.head_count": cfg.num_attention_heads, "attention.head_count_kv": cfg.num_key_value_heads,
            "attention.layer_norm_rms_epsilon": cfg.rms_norm_eps, "attention.key_length": head_dim,
            "attention.value_length": head_dim, "vocab_size": cfg.vocab_size}
    rope = getattr(cfg, "rope_parameters", None) or {}
    if "rope_theta" in rope:
        meta["rope.freq_base"] = float(rope["rope_theta"])
    for key, value in {**meta, **case.meta}.items():
        full = f"{writer.arch}.{key}"
        if isinstance(value, str):
            writer.add_string(full, value)
        elif isinstance(value, float):
            writer.add_float32(full, value)
        else:
            writer.add_uint32(full, value)
    # placeholder vocabularies (the tokenizers are tested elsewhere), of the kind the family's real files have
    if arch in ("qwen2", "qwen3") or case.model_class.startswith("Llama"):
        writer.add_tokenizer_model("gpt2")  # byte-level BPE: one merge, whose result is the last token
        writer.add_token_list([chr(0x100 + i) for i in range(cfg.vocab_size - 1)] + [chr(0x100) + chr(0x101)])
        writer.add_token_merges([f"{chr(0x100)} {chr(0x101)}"])
    else:
        writer.add_tokenizer_model("llama")  # SentencePiece-style: scored pieces
        writer.add_token_list(["<unk>", "<s>", "</s>"] + [chr(0x100 + i) for i in range(cfg.vocab_size - 3)])
        writer.add_token_scores([0.0, 0.0, 0.0] + [-float(i) for i in range(cfg.vocab_size - 3)])
        writer.add_token_types([2, 3, 3] + [1] * (cfg.vocab_size - 3))
        writer.add_unk_token_id(0)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH[arch.upper()], cfg.num_hidden_layers)
    for hf_name, tensor in model.state_dict().items():
        if hf_name == "lm_head.weight" and cfg.tie_word_embeddings:
            continue
        data = tensor.float().numpy()
        if arch == "llama" and hf_name.endswith("q_proj.weight"):
            data = llama_permute(data, cfg.num_attention_heads)
        if arch == "llama" and hf_name.endswith("k_proj.weight"):
            data = llama_permute(data, cfg.num_key_value_heads)
        if arch.startswith("gemma") and hf_name.endswith("norm.weight"):
            data = data + 1.0
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        assert name is not None, f"no GGUF name for {hf_name}"
        if drop and drop in name:
            continue
        data = np.ascontiguousarray(data, dtype=np.float32)
        if quant is not None and data.ndim == 2:
            writer.add_tensor(name, gguf.quants.quantize(data, quant), raw_dtype=quant)
        else:
            writer.add_tensor(name, data)
    if rope.get("rope_type") == "llama3":  # the converter stores the per-frequency divisors as a tensor
        inv = 1.0 / rope["rope_theta"] ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
        wavelen = 2 * np.pi / inv
        low, high = (rope["original_max_position_embeddings"] / rope[k] for k in ("low_freq_factor",
                                                                                   "high_freq_factor"))
        smooth = (rope["original_max_position_embeddings"] / wavelen - rope["low_freq_factor"]) / (
            rope["high_freq_factor"] - rope["low_freq_factor"])
        factors = np.where(wavelen < high, 1.0, np.where(wavelen > low, rope["factor"],
                                                         1.0 / ((1 - smooth) / rope["factor"] + smooth)))
        writer.add_tensor("rope_freqs.weight", factors.astype(np.float32))
    if rope.get("rope_type") == "longrope":
        writer.add_tensor("rope_factors_long.weight", np.array(rope["long_factor"], np.float32))
        writer.add_tensor("rope_factors_short.weight", np.array(rope["short_factor"], np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def second_device() -> str:
    """The GPU-free device besides CPU that the families are checked on: LLVM, else OPENCL."""
    devices = devices_under_test()
    return next((d for d in ("LLVM", "OPENCL") if d in devices), "LLVM")


_BUILT: dict[str, tuple[Any, Path]] = {}


def built(family: str, folder: Path) -> tuple[Any, Path]:
    """The transformers model of a family and its GGUF file, made once per session."""
    if family not in _BUILT:
        model = hf_model(CASES[family])
        path = folder / f"{family}.gguf"
        write_gguf(model, CASES[family], path)
        _BUILT[family] = model, path
    return _BUILT[family]


def baregrad_greedy(path: Path, device: str, prompt: list[int]) -> tuple[list[int], list[np.ndarray]]:
    """Prefill, then GENERATED - 1 single-token steps: the greedy tokens and the logits before each."""
    from baregrad.models.llama import load_llama
    model = load_llama(path, device=device, max_context=64)
    assert type(model.tokenizer).__name__ == ("BPETokenizer" if path.stem in ("llama", "qwen2", "qwen3")
                                              else "SPMTokenizer")
    logits = [np.array(model.forward(prompt, 0))]
    tokens = [int(np.argmax(logits[-1]))]
    while len(tokens) < GENERATED:
        logits.append(np.array(model.forward([tokens[-1]], len(prompt) + len(tokens) - 1)))
        tokens.append(int(np.argmax(logits[-1])))
    assert model.greedy(prompt, 0) == tokens[0]  # the on-device argmax path agrees
    return tokens, logits


@pytest.mark.parametrize("target", ["CPU", second_device()])
@pytest.mark.parametrize("family", list(CASES))
def test_family_matches_transformers(family: str, target: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    if target not in devices_under_test():
        pytest.skip(f"{target} is not among the devices under test here")
    model, path = built(family, tmp_path_factory.getbasetemp())
    prompt = [int(t) for t in np.random.default_rng(2).integers(0, VOCAB, PROMPT)]
    tokens, logits = baregrad_greedy(path, target, prompt)
    with torch.no_grad():
        ref = model(torch.tensor([prompt + tokens[:-1]])).logits[0, PROMPT - 1:].numpy()
    worst = max(float(np.abs(ours - theirs).max()) for ours, theirs in zip(logits, ref))
    print(f"{family} on {target}: max |logit difference| {worst:.2e} over {len(logits)} positions")
    assert worst < TOLERANCE, f"{family} on {target}: max logit difference {worst:.2e}"
    assert tokens == [int(t) for t in ref.argmax(-1)], f"{family} on {target}: greedy tokens differ"


def test_bad_files_are_format_errors(tmp_path: Path) -> None:
    from baregrad.errors import FormatError
    from baregrad.models.llama import load_llama
    model = hf_model(CASES["gemma2"])
    write_gguf(model, CASES["gemma2"], tmp_path / "no_post_norm.gguf", drop="post_ffw_norm")
    with pytest.raises(FormatError, match=r"gemma2 GGUF lacks blk\.0\.post_ffw_norm\.weight"):
        load_llama(tmp_path / "no_post_norm.gguf", device="CPU", max_context=64)
    write_gguf(model, CASES["gemma2"], tmp_path / "falcon.gguf", arch="falcon")
    with pytest.raises(FormatError, match="architecture 'falcon' is not supported"):
        load_llama(tmp_path / "falcon.gguf", device="CPU", max_context=64)
    yarn = Case("gemma2", "", "", {}, dict(CASES["gemma2"].meta, **{"rope.scaling.type": "yarn"}))
    write_gguf(model, yarn, tmp_path / "yarn.gguf")
    with pytest.raises(FormatError, match="rope.scaling.type='yarn'"):
        load_llama(tmp_path / "yarn.gguf", device="CPU", max_context=64)


def round_to(model: Any, quant: Any) -> None:
    """The model's matrices replaced by their values after a round trip through `quant` blocks."""
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim == 2:
                raw = gguf.quants.quantize(p.numpy(), quant)
                p.copy_(torch.from_numpy(gguf.quants.dequantize(raw, quant).reshape(p.shape)))


@pytest.mark.parametrize("family", ["llama", "qwen2"])
def test_q8_0_on_the_native_cpu_kernels(family: str, tmp_path: Path) -> None:
    """Q8_0 weights take the hand-written CPU kernels (Qwen2's q/k/v biases included); against transformers
    running the same rounded weights."""
    from baregrad.models.llama import load_llama
    case = CASES[family]
    case = Case(case.arch, case.model_class, case.config_class, dict(case.config, intermediate_size=64), case.meta)
    model = hf_model(case)
    q8 = gguf.GGMLQuantizationType.Q8_0
    round_to(model, q8)
    path = tmp_path / f"{family}.gguf"
    write_gguf(model, case, path, quant=q8)
    assert load_llama(path, device="CPU", max_context=64)._native
    prompt = [int(t) for t in np.random.default_rng(2).integers(0, VOCAB, PROMPT)]
    tokens, logits = baregrad_greedy(path, "CPU", prompt)
    with torch.no_grad():
        ref = model(torch.tensor([prompt + tokens[:-1]])).logits[0, PROMPT - 1:].numpy()
    worst = max(float(np.abs(ours - theirs).max()) for ours, theirs in zip(logits, ref))
    print(f"{family} Q8_0 on CPU (native kernels): max |logit difference| {worst:.2e}")
    assert worst < TOLERANCE, f"{family} Q8_0: max logit difference {worst:.2e}"
    assert tokens == [int(t) for t in ref.argmax(-1)]


@pytest.mark.parametrize(("arch", "blocks", "scale"), [("gemma2", 46, (16 / 2048) ** 0.5), ("gemma2", 26, 0.0),
                                                       ("gemma3", 62, (16 / 2048) ** 0.5), ("llama", 46, 0.0)])
def test_gemma_27b_query_scale(arch: str, blocks: int, scale: float) -> None:
    """Gemma's 27B models scale queries by 1 / sqrt(dim / heads) (their query_pre_attn_scalar), not by head_dim;
    their files do not say so (checked on the config: a 27B-sized model is no unit test)."""
    from baregrad.models.llama import LlamaConfig
    meta = {"general.architecture": arch, f"{arch}.attention.head_count": 16, f"{arch}.embedding_length": 2048,
            f"{arch}.block_count": blocks, f"{arch}.feed_forward_length": 4096, f"{arch}.vocab_size": 10,
            f"{arch}.attention.key_length": 128}
    cfg = LlamaConfig.from_gguf(meta)
    assert cfg.attn_scale == pytest.approx(scale)
    assert cfg.scale == pytest.approx(scale or 128 ** -0.5)
