"""Core engine benchmarks (issue 2): baregrad beside numpy and torch on this machine, printed as ratios.

  python bench/core.py [--device CPU] [--quick]
Rows: fp32 matmul 512/1024/2048 GFLOP/s; a fused elementwise chain over 16M floats in GB/s beside a numpy
copy (the practical memory bound); softmax 4096x4096; eager overhead per small op in microseconds;
`import baregrad` time.
"""
from __future__ import annotations

import argparse
import subprocess
import sys

import numpy as np
from timing import best_time


def fresh(t):
    """Realize t even if an identical graph was computed before (as if its inputs had changed)."""
    from baregrad.engine.realize import bump_epoch
    bump_epoch()
    return t.realize()


def import_time() -> float:
    code = "import time; t=time.perf_counter(); import baregrad; print(time.perf_counter()-t)"
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout for _ in range(5)]
    return min(float(r) for r in runs)


def row(name: str, ours: float, others: dict[str, float], unit: str, higher_is_better: bool = True) -> None:
    cells = [f"{name:<28} baregrad {ours:10.2f} {unit}"]
    for label, value in others.items():
        ratio = ours / value if higher_is_better else value / ours
        cells.append(f"{label} {value:10.2f} ({ratio:5.2f}x)")
    print("  ".join(cells), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default=None)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    import torch

    import baregrad as bg
    device = args.device or bg.default_device()
    print(f"device {device}; ratios are baregrad / other (for times: other / baregrad); higher is better")
    sizes = [512, 1024] if args.quick else [512, 1024, 2048]
    for n in sizes:
        a_np, b_np = np.random.rand(n, n).astype(np.float32), np.random.rand(n, n).astype(np.float32)
        a, b = bg.Tensor(a_np, device=device).realize(), bg.Tensor(b_np, device=device).realize()
        ta, tb = torch.from_numpy(a_np), torch.from_numpy(b_np)
        flops = 2 * n ** 3
        ours = flops / best_time(lambda: fresh(a @ b), repeat=3) / 1e9
        row(f"matmul {n} fp32 GFLOP/s", ours, {"numpy": flops / best_time(lambda: a_np @ b_np) / 1e9,
                                              "torch": flops / best_time(lambda: ta @ tb) / 1e9}, "")
    n = 16 * 1024 * 1024
    x_np, y_np = np.random.rand(n).astype(np.float32), np.random.rand(n).astype(np.float32)
    x, y = bg.Tensor(x_np, device=device).realize(), bg.Tensor(y_np, device=device).realize()
    tx, ty = torch.from_numpy(x_np), torch.from_numpy(y_np)
    nbytes = 3 * n * 4  # two reads, one write
    ours = nbytes / best_time(lambda: fresh((x * 2 + y).relu() * 0.5 + 1)) / 1e9
    copy_bw = 2 * n * 4 / best_time(lambda: x_np.copy()) / 1e9
    torch_bw = nbytes / best_time(lambda: ((tx * 2 + ty).relu() * 0.5 + 1)) / 1e9
    row("fused elementwise 16M GB/s", ours, {"numpy copy": copy_bw, "torch": torch_bw}, "")
    m_np = np.random.rand(4096, 4096).astype(np.float32)
    m, tm = bg.Tensor(m_np, device=device).realize(), torch.from_numpy(m_np)
    ours_ms = best_time(lambda: fresh(m.softmax(-1))) * 1e3

    def np_softmax() -> None:
        e = np.exp(m_np - m_np.max(-1, keepdims=True))
        e / e.sum(-1, keepdims=True)
    row("softmax 4096x4096 ms", ours_ms, {"numpy": best_time(np_softmax) * 1e3,
                                          "torch": best_time(lambda: tm.softmax(-1)) * 1e3}, "", False)
    s_np = np.random.rand(64, 64).astype(np.float32)
    s, ts = bg.Tensor(s_np, device=device).realize(), torch.from_numpy(s_np)
    reps = 2000
    ours_us = best_time(lambda: [fresh(s + s) for _ in range(reps)], repeat=3) / reps * 1e6
    torch_us = best_time(lambda: [ts + ts for _ in range(reps)], repeat=3) / reps * 1e6
    row("eager small op us/op", ours_us, {"torch": torch_us, "tinygrad(GPU host, issue)": 1700.0}, "", False)
    row("import baregrad s", import_time(), {"target": 0.3}, "", False)


if __name__ == "__main__":
    main()
