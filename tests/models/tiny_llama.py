"""A tiny random llama written to GGUF by the tests (gguf package): Q8_0 matrices, so on the CPU device it runs the
native kernels and has batched steps; byte-level BPE over the 256 bytes plus ChatML's special tokens, and a ChatML
chat template that defines tools."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from baregrad.models.tokenizer import bytes_to_unicode

DIM, LAYERS, HEADS, KV_HEADS, FFN, CONTEXT = 64, 2, 4, 2, 128, 512
SPECIALS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]
TEMPLATE = """{%- if tools %}<|im_start|>system
You may call these functions:
{%- for tool in tools %}
{{ tool.function.name }}: {{ tool.function.description }}
{%- endfor %}
Answer a call as <tool_call>{"name": ..., "arguments": {...}}</tool_call><|im_end|>
{% endif %}
{%- for message in messages %}<|im_start|>{{ message.role }}
{{ message.content }}<|im_end|>
{% endfor %}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %}"""


def write_tiny_llama(path: Path, seed: int = 0) -> Path:
    gguf = __import__("gguf")
    rng = np.random.default_rng(seed)
    byte_chars = bytes_to_unicode()
    tokens = [byte_chars[b] for b in range(256)] + [byte_chars[32] + "t"] + SPECIALS
    vocab = len(tokens)
    writer = gguf.GGUFWriter(str(path), "llama")
    for key, value in {"context_length": CONTEXT, "embedding_length": DIM, "block_count": LAYERS,
                       "feed_forward_length": FFN, "attention.head_count": HEADS,
                       "attention.head_count_kv": KV_HEADS, "vocab_size": vocab}.items():
        writer.add_uint32(f"llama.{key}", value)
    writer.add_float32("llama.attention.layer_norm_rms_epsilon", 1e-5)
    writer.add_float32("llama.rope.freq_base", 10000.0)
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(tokens)
    writer.add_token_merges([f"{byte_chars[32]} t"])
    writer.add_token_types([1] * 257 + [3] * len(SPECIALS))
    writer.add_eos_token_id(tokens.index("<|im_end|>"))
    writer.add_chat_template(TEMPLATE)
    q8 = gguf.GGMLQuantizationType.Q8_0

    def matrix(name: str, rows: int, cols: int, scale: float = 0.3) -> None:
        data = (rng.standard_normal((rows, cols)) * scale).astype(np.float32)
        writer.add_tensor(name, gguf.quants.quantize(data, q8), raw_dtype=q8)

    def norm(name: str) -> None:
        writer.add_tensor(name, (1.0 + 0.1 * rng.standard_normal(DIM)).astype(np.float32))

    head_dim = DIM // HEADS
    matrix("token_embd.weight", vocab, DIM, 1.0)
    norm("output_norm.weight")
    for i in range(LAYERS):
        norm(f"blk.{i}.attn_norm.weight")
        norm(f"blk.{i}.ffn_norm.weight")
        matrix(f"blk.{i}.attn_q.weight", HEADS * head_dim, DIM)
        matrix(f"blk.{i}.attn_k.weight", KV_HEADS * head_dim, DIM)
        matrix(f"blk.{i}.attn_v.weight", KV_HEADS * head_dim, DIM)
        matrix(f"blk.{i}.attn_output.weight", DIM, HEADS * head_dim)
        matrix(f"blk.{i}.ffn_gate.weight", FFN, DIM)
        matrix(f"blk.{i}.ffn_up.weight", FFN, DIM)
        matrix(f"blk.{i}.ffn_down.weight", DIM, FFN)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
