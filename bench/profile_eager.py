"""Where the time of one eager op goes on a device: cProfile over a chain of small realized ops.

    python bench/profile_eager.py --device NV [--ops 3000] [--top 25]

Each op is `x = fresh(x * 1.0001 + 0.5)` on a 16-element tensor (one cached kernel launch per op, the realize
memo defeated as in bench/gpu.py). Prints microseconds per op without the profiler, then the profile.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import baregrad as bg  # noqa: E402
from baregrad.device import get_device  # noqa: E402
from baregrad.engine.realize import bump_epoch  # noqa: E402


def chain(x: bg.Tensor, ops: int) -> bg.Tensor:
    for _ in range(ops):
        bump_epoch()
        x = (x * 1.0001 + 0.5).realize()
    return x


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="CPU")
    p.add_argument("--ops", type=int, default=3000)
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args()
    dev = get_device(args.device)
    x = bg.Tensor(np.ones(16, np.float32), device=args.device)
    chain(x, 50)
    dev.synchronize()
    t = time.perf_counter()
    chain(x, args.ops)
    dev.synchronize()
    print(f"{args.device}: {(time.perf_counter() - t) / args.ops * 1e6:.1f} us per eager op")
    prof = cProfile.Profile()
    prof.enable()
    chain(x, args.ops)
    dev.synchronize()
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
