"""Shared set-up of the profiler tests: a device that compiles kernels (CPU when a C compiler exists, else PYTHON)
and a small training step to profile."""
from __future__ import annotations

import numpy as np
import pytest

import baregrad as bg
import baregrad.nn.functional as F
from baregrad import nn, optim
from baregrad.device import describe_devices


@pytest.fixture(scope="session")
def prof_device() -> str:
    works = {d.name for d in describe_devices() if d.works}
    return "CPU" if "CPU" in works else "PYTHON"


def train_step(device: str, seed: int = 0) -> tuple[float, list[np.ndarray]]:
    """One SGD step of a 2-layer MLP with a cross-entropy loss; returns the loss and the updated weights."""
    rng = np.random.default_rng(seed)
    bg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)).to(device)
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = bg.Tensor(rng.standard_normal((32, 8)).astype(np.float32), device=device)
    y = bg.Tensor(rng.integers(0, 4, 32).astype(np.int64), device=device)
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.item()), [p.numpy() for p in model.parameters()]
