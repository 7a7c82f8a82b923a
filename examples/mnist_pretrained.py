"""Evaluate ccexam's pretrained MNIST CNN (ccexam==1.0.0, ccexam/weights/mnist.pth) with baregrad.

    python examples/mnist_pretrained.py [--device CPU]

The checkpoint is read with baregrad.nn.state.torch_load (no torch needed) into CCExamCNN, whose layer
names match its state_dict keys; inputs use the (0.1307, 0.3081) normalization it was trained with.
Expected test accuracy: 99.05%.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
from typing import Iterable

import baregrad as bg
from baregrad.nn.state import torch_load

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist import CCExamCNN, evaluate, load_mnist  # noqa: E402


def weights_path() -> str:
    return str(importlib.metadata.distribution("ccexam").locate_file("ccexam/weights/mnist.pth"))


def main(argv: Iterable[str] | None = None) -> float:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default=None)
    args = ap.parse_args(list(argv) if argv is not None else None)
    device = args.device or bg.default_device()
    model = CCExamCNN()
    model.load_state_dict(torch_load(weights_path()))
    model.to(device).eval()
    acc = evaluate(model, load_mnist(device).test)
    print(f"ccexam mnist.pth test accuracy {acc:.4f} ({round(acc * 10000)} / 10000)")
    return acc


if __name__ == "__main__":
    main()
