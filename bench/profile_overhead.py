"""Profiler overhead per eager op: the bench/core.py eager row (fresh(s + s) on 64x64) with profiling off and on.

  python bench/profile_overhead.py [--device CPU] [--reps 2000] [--compare-with DIR]

--compare-with DIR also times the same row with profiling off in another checkout (e.g. an export of main), in a
subprocess, so 'off' here can be checked against the code without the profiler hooks. Prints microseconds per op
and ratios (on/off, off/other). The goal: off within noise of the other checkout, on under 2x off.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def eager_us(device: str | None, reps: int, modes: tuple[bool, ...] = (False, True)) -> list[float]:
    """Microseconds per realized small op, as bench/core.py's eager row measures it, for each mode (profiling off
    or on). The modes alternate, 7 rounds, and each keeps its best round: the machine's noise hits both alike."""
    import time

    import numpy as np

    import baregrad as bg
    from baregrad.engine.realize import bump_epoch

    def fresh(t: bg.Tensor) -> bg.Tensor:
        bump_epoch()
        return t.realize()
    device = device or bg.default_device()
    s = bg.Tensor(np.random.rand(64, 64).astype(np.float32), device=device).realize()

    def loop() -> float:
        t0 = time.perf_counter()
        for _ in range(reps):
            fresh(s + s)
        return time.perf_counter() - t0
    loop()  # warm-up: compiles
    best = [float("inf")] * len(modes)
    for _ in range(7):
        for i, profiled in enumerate(modes):
            if profiled:
                with bg.profile():  # a fresh profiler per loop: what a user's profile of this loop would hold
                    seconds = loop()
            else:
                seconds = loop()
            best[i] = min(best[i], seconds)
    return [b / reps * 1e6 for b in best]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default=None)
    ap.add_argument("--reps", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (more: steadier on a busy machine)")
    ap.add_argument("--compare-with", default=None, help="another checkout's root, timed with profiling off")
    ap.add_argument("--only-off", action="store_true", help=argparse.SUPPRESS)  # the subprocess of --compare-with
    args = ap.parse_args()
    if args.only_off:
        print(json.dumps(eager_us(args.device, args.reps, (False,))[0]))
        return
    sys.path.insert(0, str(ROOT))
    other = off = on = float("inf")
    for _ in range(args.rounds):  # interleaved with the other checkout's runs, so both see the same machine load
        if args.compare_with:
            env = {**os.environ, "PYTHONPATH": os.path.abspath(args.compare_with)}
            cmd = [sys.executable, str(Path(__file__).resolve()), "--only-off", "--reps", str(args.reps)]
            cmd += ["--device", args.device] if args.device else []
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=args.compare_with, check=True)
            other = min(other, json.loads(out.stdout.strip().splitlines()[-1]))
        this_off, this_on = eager_us(args.device, args.reps)
        off, on = min(off, this_off), min(on, this_on)
    cells = [f"eager small op us/op: profiling off {off:8.2f}", f"on {on:8.2f} ({on / off:4.2f}x off)"]
    if args.compare_with:
        cells.append(f"other checkout (off) {other:8.2f} (this off / other {off / other:4.2f}x)")
    print("  ".join(cells))


if __name__ == "__main__":
    main()
