"""Every working device side by side (issue 7): fp32 matmul 1024x1024 GFLOP/s and a fused elementwise chain
over 4M floats in GB/s, with numpy on the same machine for reference.

  python bench/devices.py [--devices CPU,LLVM,OPENCL,WEBGPU] [--n 1024] [--elems 4194304]
PYTHON is left out unless named: it interprets every element in Python and would take minutes.
"""
from __future__ import annotations

import argparse
from typing import Callable

import numpy as np
from timing import best_time


def timed_realize(make: Callable[[], object], device) -> Callable[[], None]:
    """Build, realize and wait for a fresh result each call (earlier results must not be reused)."""
    from baregrad.engine.realize import bump_epoch

    def run() -> None:
        bump_epoch()
        make().realize()
        device.synchronize()
    return run


def measure(name: str, n: int, elems: int) -> tuple[float, float]:
    import baregrad as bg
    from baregrad.device import get_device
    device = get_device(name)
    rng = np.random.default_rng(0)
    a, b = (bg.Tensor(rng.random((n, n), np.float32), device=name).realize() for _ in range(2))
    gflops = 2 * n ** 3 / best_time(timed_realize(lambda: a @ b, device)) / 1e9
    x, y = (bg.Tensor(rng.random(elems, np.float32), device=name).realize() for _ in range(2))
    gbs = 3 * elems * 4 / best_time(timed_realize(lambda: (x * 2 + y).relu() * 0.5 + 1, device)) / 1e9
    return gflops, gbs


def numpy_figures(n: int, elems: int) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), np.float32), rng.random((n, n), np.float32)
    x, y = rng.random(elems, np.float32), rng.random(elems, np.float32)
    gflops = 2 * n ** 3 / best_time(lambda: a @ b) / 1e9
    gbs = 3 * elems * 4 / best_time(lambda: np.maximum(x * 2 + y, 0) * 0.5 + 1) / 1e9
    return gflops, gbs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", default="")
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--elems", type=int, default=4 * 1024 * 1024)
    args = ap.parse_args()
    import baregrad as bg
    statuses = {s.name: s for s in bg.devices()}
    names = [d.strip().upper() for d in args.devices.split(",") if d.strip()] or \
        [s for s in statuses if statuses[s].works and s != "PYTHON"]
    print(f"{'device':<8} {f'matmul {args.n} fp32 GFLOP/s':>26} {f'elementwise {args.elems} GB/s':>26}")
    for name in names:
        if name in statuses and not statuses[name].works:
            print(f"{name:<8} {'-':>26} {'-':>26}   ({statuses[name].reason})")
            continue
        gflops, gbs = measure(name, args.n, args.elems)
        print(f"{name:<8} {gflops:26.2f} {gbs:26.2f}", flush=True)
    gflops, gbs = numpy_figures(args.n, args.elems)
    print(f"{'numpy':<8} {gflops:26.2f} {gbs:26.2f}   (elementwise: numpy runs 4 unfused passes)")


if __name__ == "__main__":
    main()
