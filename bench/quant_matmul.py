"""The CPU's hand-written quantized matmul (models/cpu_quant.py) beside numpy's float32 matmul of the same weights
dequantized, on SmolLM2-135M's shapes, in process (CPU) time so that other load on the machine disturbs it less.

    .venv/bin/python bench/quant_matmul.py [--threads 1]

Decode rows (T=1) read every weight once, so GB/s of quantized weights is the figure; prompt rows (T=64) are
compute-bound, so GFLOP/s. numpy's side is an sgemm (OpenBLAS) on float32 weights 5-6x larger than the blocks: it is
the peer for the prompt GEMM, and a reference point only for decode.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import sys
import time
from pathlib import Path

# BLAS reads its thread count when it loads: set it before numpy is imported (--threads N, default 1)
_THREADS = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv[:-1] else "1"
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = _THREADS

import numpy as np  # noqa: E402

SHAPES = [(576, 576), (192, 576), (1536, 576), (576, 1536), (49152, 576)]  # (N, K): q, k/v, gate/up, down, lm_head
TYPES = {"Q4_1": 0, "Q8_0": 1}


def random_q4_1(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    blocks = np.zeros((n, k // 32, 20), np.uint8)
    blocks[..., 0:2] = rng.uniform(0.01, 0.1, (n, k // 32, 1)).astype(np.float16).view(np.uint8)
    blocks[..., 2:4] = rng.uniform(-0.5, 0.0, (n, k // 32, 1)).astype(np.float16).view(np.uint8)
    blocks[..., 4:] = rng.integers(0, 256, (n, k // 32, 16), dtype=np.uint8)
    return blocks


def random_q8_0(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    blocks = np.zeros((n, k // 32, 34), np.uint8)
    blocks[..., 0:2] = rng.uniform(0.001, 0.01, (n, k // 32, 1)).astype(np.float16).view(np.uint8)
    blocks[..., 2:] = rng.integers(0, 256, (n, k // 32, 32), dtype=np.uint8)
    return blocks


def dequantize(kind: str, blocks: np.ndarray) -> np.ndarray:
    d = blocks[..., 0:2].copy().view(np.float16).astype(np.float32)
    if kind == "Q8_0":
        return (blocks[..., 2:].view(np.int8).astype(np.float32) * d).reshape(blocks.shape[0], -1)
    m = blocks[..., 2:4].copy().view(np.float16).astype(np.float32)
    q = blocks[..., 4:]
    return (np.concatenate([q & 15, q >> 4], axis=-1).astype(np.float32) * d + m).reshape(blocks.shape[0], -1)


def best_time(fn, reps: int) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(reps):
            fn()
        best = min(best, (time.process_time() - start) / reps)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from baregrad.device import get_device
    from baregrad.models import cpu_quant
    fn = cpu_quant.native_function(get_device("CPU"), cpu_quant.SOURCE, "quant_matmul",
                                   [ctypes.c_int] + [ctypes.c_void_p] * 4 + [ctypes.c_int] * 4 + [ctypes.c_long])
    rng = np.random.default_rng(0)
    print(f"{'':22} {'baregrad us':>12} {'':>14} {'numpy f32 us':>13} {'ratio':>7}   "
          f"({args.threads} thread(s), process time)")
    for kind, code in TYPES.items():
        for rows in (1, 64):
            for n, k in SHAPES:
                blocks = (random_q4_1 if kind == "Q4_1" else random_q8_0)(rng, n, k)
                weights = dequantize(kind, blocks)
                weights_t = np.ascontiguousarray(weights.T)  # (K, N): numpy's fastest layout for x @ W.T
                x = rng.standard_normal((rows, k)).astype(np.float32)
                out = np.zeros((rows, n), np.float32)
                call = (code, out.ctypes.data, x.ctypes.data, blocks.ctypes.data, None, rows, n, k, n,
                        0 if args.threads > 1 else 1 << 62)
                fn(*call)
                error = np.abs(out - x @ weights.T).max() / np.abs(x @ weights.T).max()
                if error > 1e-4:
                    raise SystemExit(f"{kind} {rows}x{n}x{k}: relative error {error:.2e}")
                reps = max(3, int(2e7 / (n * k * rows)))
                ours = best_time(lambda: fn(*call), reps)
                theirs = best_time(lambda: x @ weights_t, reps)
                unit, scale = ("GB/s", blocks.nbytes) if rows == 1 else ("GFLOP/s", 2 * rows * n * k)
                print(f"{kind} T={rows:<3} {n:>6}x{k:<5} {ours * 1e6:12.1f} {scale / ours / 1e9:6.1f} {unit:7} "
                      f"{theirs * 1e6:13.1f} {theirs / ours:6.2f}x")


if __name__ == "__main__":
    main()
