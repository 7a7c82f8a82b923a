"""The same short training run gives the same losses on every device that works here."""
from __future__ import annotations

import numpy as np
import pytest

import baregrad as bg
from tests.helpers import devices_under_test

STEPS, LR = 5, 0.1


def train(device: str) -> list[float]:
    """A tiny MLP on fixed random data, plain SGD written with Tensor ops; the loss before each step."""
    rng = np.random.default_rng(0)
    x = bg.Tensor(rng.standard_normal((16, 8)).astype(np.float32), device=device)
    y = bg.Tensor(rng.standard_normal((16, 2)).astype(np.float32), device=device)
    params = [rng.standard_normal((8, 12)) * 0.4, np.zeros(12), rng.standard_normal((12, 2)) * 0.4, np.zeros(2)]
    params = [bg.Tensor(p.astype(np.float32), device=device, requires_grad=True) for p in params]
    losses = []
    for _ in range(STEPS):
        w1, b1, w2, b2 = params
        loss = ((((x @ w1 + b1).relu() @ w2 + b2) - y) ** 2).mean()
        loss.backward()
        losses.append(float(loss.item()))
        params = [(p - LR * p.grad).detach().requires_grad_() for p in params]
    return losses


@pytest.fixture(scope="module")
def reference() -> list[float]:
    return train("CPU" if "CPU" in devices_under_test() else "PYTHON")


@pytest.mark.parametrize("name", devices_under_test())
def test_same_losses_on_every_device(name, reference):
    losses = train(name)
    assert losses[-1] < losses[0], f"{name}: training did not reduce the loss {losses}"
    np.testing.assert_allclose(losses, reference, rtol=1e-5, atol=1e-6, err_msg=name)
