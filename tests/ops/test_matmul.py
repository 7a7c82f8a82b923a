"""matmul / @ against torch, forward and backward, on every device: 1-d, 2-d, batched and broadcast batches,
with tolerances scaled by the inner dimension."""
import numpy as np
import pytest
import torch

import baregrad as bg
from tests.helpers import check, rand

CASES = [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)), ((3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)),
         ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 2)), ((1, 4), (4, 1)),
         ((2, 3, 4), (4,)), ((4,), (2, 4, 3)), ((0, 4), (4, 3)), ((3, 0), (0, 2)), ((17, 33), (33, 9))]


@pytest.mark.parametrize("sa,sb", CASES, ids=str)
def test_matmul(device, sa, sb):
    a, b = rand(sa, seed=1), rand(sb, seed=2)
    k = sa[-1]
    check(lambda x, y: x @ y, lambda x, y: x @ y, [a, b], device, scale=max(k, 1))


def test_matmul_methods(device):
    a, b = rand((2, 3, 4), seed=1), rand((2, 4, 2), seed=2)
    check(lambda x, y: x.matmul(y), torch.matmul, [a, b], device, scale=4)
    check(lambda x, y: bg.matmul(x, y), torch.matmul, [a, b], device, scale=4)
    check(lambda x, y: x.bmm(y), torch.bmm, [a, b], device, scale=4)
    check(lambda x, y: x[0].mm(y[0]), lambda x, y: x[0].mm(y[0]), [a, b], device, scale=4)
    v, w = rand((5,), seed=3), rand((5,), seed=4)
    check(lambda x, y: x.dot(y), torch.dot, [v, w], device, scale=5)


def test_matmul_transposed_operands(device):
    """Views as operands: the kernel reads strided memory, and the gradient lands back in the right layout."""
    a, b = rand((4, 3), seed=1), rand((5, 4), seed=2)
    check(lambda x, y: x.T @ y.T, lambda x, y: x.T @ y.T, [a, b], device, scale=4)
    check(lambda x, y: (x.T @ y.T).relu() @ y, lambda x, y: (x.T @ y.T).relu() @ y, [a, b], device, scale=20)


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_matmul_int(device, dtype):
    a, b = rand((3, 4), -5, 5, dtype, seed=1), rand((4, 2), -5, 5, dtype, seed=2)
    check(lambda x, y: x @ y, lambda x, y: x @ y, [a, b], device)


def test_matmul_half(device):
    a, b = rand((3, 8), seed=1), rand((8, 2), seed=2)
    expected = (torch.from_numpy(a).half() @ torch.from_numpy(b).half()).float().numpy()
    actual = (bg.Tensor(a, device=device).half() @ bg.Tensor(b, device=device).half()).float().numpy()
    np.testing.assert_allclose(actual, expected, rtol=8e-3, atol=8e-3)


def test_matmul_promotes(device):
    a, b = rand((3, 4), seed=1), rand((4, 2), -3, 3, "int32", seed=2)
    check(lambda x, y: x @ y.float(), lambda x, y: x @ y.float(), [a, b], device, scale=4)
    out = bg.Tensor(a, device=device) @ bg.Tensor(b, device=device)
    assert out.dtype is bg.float32
