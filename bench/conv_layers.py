"""The conv layers of MobileNetV2 and ResNet-50 on small maps (7x7, 14x14), ours beside torch's conv2d, one thread.

    OMP_NUM_THREADS=1 python bench/conv_layers.py [--device CPU] [--runs 50]

Each row: batch 1, float32, CPU time (time.process_time, so other load on a shared machine counts less) per
forward of N forwards after a warm-up, ours and torch's (torch.set_num_threads(1)), and the ratio torch / ours
(above 1 we are faster). OMP_NUM_THREADS must be set before the process starts for our kernels to run on one
thread, as torch's do.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@dataclass(frozen=True)
class Layer:
    name: str
    cin: int
    cout: int
    size: int
    kernel: int
    stride: int = 1
    groups: int = 1

    @property
    def padding(self) -> int:
        return self.kernel // 2

    @property
    def macs(self) -> int:
        out = (self.size + 2 * self.padding - self.kernel) // self.stride + 1
        return self.cout * out * out * (self.cin // self.groups) * self.kernel * self.kernel


LAYERS = [
    Layer("1x1 160->960 7x7", 160, 960, 7, 1),
    Layer("dw3x3 960 7x7", 960, 960, 7, 3, groups=960),
    Layer("1x1 64->384 14x14", 64, 384, 14, 1),
    Layer("dw3x3 384 14x14", 384, 384, 14, 3, groups=384),
    Layer("dw3x3 s2 576 14x14", 576, 576, 14, 3, stride=2, groups=576),
    Layer("3x3 256->256 14x14", 256, 256, 14, 3),
    Layer("3x3 512->512 7x7", 512, 512, 7, 3),
    Layer("1x1 2048->512 7x7", 2048, 512, 7, 1),
    Layer("1x1 128->512 28x28", 128, 512, 28, 1),
    Layer("1x1 s2 256->512 56x56", 256, 512, 56, 1, stride=2),
    Layer("3x3 64->64 56x56", 64, 64, 56, 3),
    Layer("1x1 256->64 56x56", 256, 64, 56, 1),
    Layer("3x3 s2 3->32 224x224", 3, 32, 224, 3, stride=2),
]


def cpu_seconds(fn, runs: int) -> float:
    fn()
    fn()
    t0 = time.process_time()
    for _ in range(runs):
        fn()
    return (time.process_time() - t0) / runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default=os.environ.get("BAREGRAD_DEVICE", "CPU"))
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--only", default="", help="substring of the layer names to run")
    args = ap.parse_args()
    import torch

    import baregrad as bg
    import baregrad.nn.functional as F
    from baregrad.engine.realize import bump_epoch
    torch.set_num_threads(1)
    print(f"device {args.device}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; "
          "x = torch / ours (above 1: we are faster)")
    rng = np.random.default_rng(0)
    for layer in LAYERS:
        if args.only not in layer.name:
            continue
        x_np = rng.standard_normal((1, layer.cin, layer.size, layer.size), dtype=np.float32)
        w_np = rng.standard_normal((layer.cout, layer.cin // layer.groups, layer.kernel, layer.kernel),
                                   dtype=np.float32)
        x, w = bg.Tensor(x_np, device=args.device).realize(), bg.Tensor(w_np, device=args.device).realize()
        tx, tw = torch.from_numpy(x_np), torch.from_numpy(w_np)

        def ours(x=x, w=w, layer=layer):
            bump_epoch()  # recompute, as if the input were new
            return F.conv2d(x, w, None, layer.stride, layer.padding, 1, layer.groups).realize()

        def theirs(tx=tx, tw=tw, layer=layer):
            with torch.no_grad():
                return torch.nn.functional.conv2d(tx, tw, None, layer.stride, layer.padding, 1, layer.groups)

        diff = float(np.abs(ours().numpy() - theirs().numpy()).max())
        t_ours, t_torch = cpu_seconds(ours, args.runs), cpu_seconds(theirs, args.runs)
        gflops = 2 * layer.macs / 1e9
        print(f"{layer.name:<22} ours {t_ours * 1e6:9.1f} us ({gflops / t_ours:6.1f} GFLOP/s)  "
              f"torch {t_torch * 1e6:9.1f} us ({gflops / t_torch:6.1f} GFLOP/s)  {t_torch / t_ours:5.2f}x  "
              f"max|diff| {diff:.1e}", flush=True)


if __name__ == "__main__":
    main()
