"""A first cross-device check: a few ops forward and backward against torch."""
import numpy as np

from tests.helpers import check


def test_add_mul_broadcast(device):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((4,)).astype(np.float32)
    check(lambda x, y: (x + y) * x, lambda x, y: (x + y) * x, [a, b], device)


def test_softmax(device):
    a = np.random.default_rng(2).standard_normal((5, 7)).astype(np.float32)
    check(lambda x: x.softmax(-1), lambda x: x.softmax(-1), [a], device)


def test_matmul(device):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((5, 6)).astype(np.float32), rng.standard_normal((6, 3)).astype(np.float32)
    check(lambda x, y: x @ y, lambda x, y: x @ y, [a, b], device)
