"""Training benchmarks beside torch (CPU) in the same run: an MNIST-sized MLP Adam step, and a conv2d forward.

    python bench/train.py [--steps 30] [--device CPU] [--conv-iters 3]

1. MLP 784-128-10, batch 128, cross entropy + Adam: steps/s (plain, and with baregrad.jit when it exists).
2. conv2d N=16, C=64 -> 64, 56x56, 3x3, padding 1, forward only: GFLOP/s.
Each line prints our figure, torch's, and ours / torch.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

import baregrad as bg
import baregrad.nn as nn
import baregrad.nn.functional as F
from baregrad import optim


@dataclass
class Result:
    name: str
    ours: float
    torch: float
    unit: str

    def line(self) -> str:
        return f"{self.name:<34} baregrad {self.ours:10.2f} {self.unit:<8} torch {self.torch:10.2f} {self.unit:<8} " \
               f"ratio {self.ours / self.torch:6.3f}"


def _rate(fn: Callable[[], None], n: int) -> float:
    """Calls per second of fn over n calls, after one warm-up call (which compiles)."""
    fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def mlp_step(steps: int, device: str, use_jit: bool) -> float:
    rng = np.random.default_rng(0)
    x = bg.Tensor(rng.random((128, 784), dtype=np.float32), device=device).realize()
    y = bg.Tensor(rng.integers(0, 10, 128).astype(np.int32), device=device).realize()
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)).to(device)
    opt = optim.Adam(model.parameters(), lr=1e-3)

    def step(x: bg.Tensor, y: bg.Tensor) -> bg.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.realize()

    fn = bg.jit(step) if use_jit else step
    fn(x, y)  # the jit records on its second call
    return _rate(lambda: fn(x, y), steps)


def torch_mlp_step(steps: int) -> float:
    import torch
    x, y = torch.rand(128, 784), torch.randint(0, 10, (128,))
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return _rate(step, steps)


CONV = {"n": 16, "c": 64, "k": 64, "hw": 56, "r": 3}


def conv_flops() -> float:
    return 2.0 * CONV["n"] * CONV["k"] * CONV["hw"] ** 2 * CONV["c"] * CONV["r"] ** 2


def conv_gflops(iters: int, device: str) -> float:
    rng = np.random.default_rng(1)
    # a fresh input per call: the same lazy graph on the same buffers is memoized and would not run again
    xs = [bg.Tensor(rng.standard_normal((CONV["n"], CONV["c"], CONV["hw"], CONV["hw"]), dtype=np.float32),
                    device=device).realize() for _ in range(iters + 1)]
    w = bg.Tensor(rng.standard_normal((CONV["k"], CONV["c"], CONV["r"], CONV["r"]), dtype=np.float32),
                  device=device).realize()
    return _rate(lambda: F.conv2d(xs.pop(), w, padding=1).realize(), iters) * conv_flops() / 1e9


def torch_conv_gflops(iters: int) -> float:
    import torch
    x = torch.randn(CONV["n"], CONV["c"], CONV["hw"], CONV["hw"])
    w = torch.randn(CONV["k"], CONV["c"], CONV["r"], CONV["r"])
    with torch.no_grad():
        return _rate(lambda: torch.nn.functional.conv2d(x, w, padding=1), iters) * conv_flops() / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--conv-iters", type=int, default=3)
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    device = args.device or bg.default_device()
    import torch
    print(f"baregrad on {device}; torch {torch.__version__} on CPU with {torch.get_num_threads()} threads")
    torch_steps = torch_mlp_step(args.steps)
    results = [Result("MLP 784-128-10 b128 Adam step", mlp_step(args.steps, device, False), torch_steps, "steps/s")]
    if hasattr(bg, "jit"):
        results.append(Result("  same, with baregrad.jit", mlp_step(args.steps, device, True), torch_steps,
                              "steps/s"))
    results.append(Result("conv2d 16x64x56x56 3x3 forward", conv_gflops(args.conv_iters, device),
                          torch_conv_gflops(args.conv_iters), "GFLOP/s"))
    for r in results:
        print(r.line())


if __name__ == "__main__":
    main()
