"""A torchvision-architecture MobileNetV2 state_dict saved by torch in the legacy (non-zip) format, as torchvision's
published ImageNet weights are, loaded with bg.load into a bg.nn MobileNetV2: load time beside torch.load's, every
tensor compared, and (with --forward) the eval-mode outputs of both networks on one image.

    python bench/legacy_checkpoint.py [--forward] [--size 224]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "bench")]
from zoo import mobilenet_v2

import baregrad as bg
import baregrad.nn


def best_of(fn, repeat: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forward", action="store_true", help="also compare one eval-mode forward")
    parser.add_argument("--size", type=int, default=224, help="image side for --forward")
    args = parser.parse_args()
    torch.manual_seed(0)
    ref = mobilenet_v2(torch.nn)
    ref.train()(torch.randn(2, 3, 64, 64))  # BatchNorm running statistics off their defaults
    ref.eval()
    state = ref.state_dict()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "mobilenet_v2.pth")
        torch.save(state, path, _use_new_zipfile_serialization=False)
        size = os.path.getsize(path)
        ours_s, loaded = best_of(lambda: bg.load(path, device="CPU"))
        theirs_s, _ = best_of(lambda: torch.load(path, weights_only=True))
    model = mobilenet_v2(bg.nn)
    start = time.perf_counter()
    result = model.load_state_dict(loaded)
    assign_s = time.perf_counter() - start
    ours_state = model.state_dict()
    equal = sum(np.array_equal(ours_state[k].numpy(), v.numpy()) for k, v in state.items())
    print(f"legacy .pth of {size / 2**20:.1f} MiB, {len(state)} tensors; missing {result.missing_keys}, "
          f"unexpected {result.unexpected_keys}; equal to torch's: {equal}/{len(state)}")
    print(f"bg.load {ours_s * 1e3:.0f} ms  torch.load {theirs_s * 1e3:.0f} ms  ratio {theirs_s / ours_s:.2f}x "
          f"(torch / ours); load_state_dict {assign_s * 1e3:.0f} ms")
    if args.forward:
        model.eval()
        x = np.random.default_rng(0).standard_normal((1, 3, args.size, args.size)).astype(np.float32)
        start = time.perf_counter()
        ours = model(bg.Tensor(x, device="CPU")).numpy()
        first_s = time.perf_counter() - start
        with torch.no_grad():
            theirs = ref(torch.from_numpy(x)).numpy()
        print(f"forward {args.size}x{args.size}: max |ours - torch| {np.abs(ours - theirs).max():.2e} "
              f"(logits up to {np.abs(theirs).max():.2f}), first forward {first_s:.1f} s")


if __name__ == "__main__":
    main()
