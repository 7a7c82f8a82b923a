"""max_pool1d/2d(return_indices=True) and max_unpool1d/2d (functional and modules) against torch: values, int64
indices (torch's pick among ties and NaNs included), gradients, pool -> unpool round trips, and the errors torch
raises. Index tensors out of range are not checked (they write nowhere, see README); host-known ones raise."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import baregrad as bg
import baregrad.nn as nn
import baregrad.nn.functional as F
from tests.helpers import compare, raises_baregrad, skip_special_values

RNG = np.random.default_rng(5)

# dilation with ceil_mode is in the 1-d module test, which runs the same 2-d code over a unit height
POOL2D = [{"kernel_size": 3, "stride": 2, "padding": 1},
          {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 1), "dilation": (2, 1)},
          {"kernel_size": 2, "ceil_mode": True}]


def randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def ties(*shape: int) -> np.ndarray:
    """Integer-valued floats from {0, 1, 2}: most windows hold several maxima."""
    return RNG.integers(0, 3, shape).astype(np.float32)


def random_then_ties(*shape: int) -> np.ndarray:
    """A batch of two: random values, then ties."""
    return np.stack([randn(*shape), ties(*shape)])


def compare_pool(ours, theirs, x: np.ndarray, device: str) -> None:
    """ours(x) and theirs(x) both give (values, indices): compare both, then the gradient of weighted values."""
    tx, bx = torch.tensor(x, requires_grad=True), bg.Tensor(x, device=device, requires_grad=True)
    (tv, ti), (bv, bi) = theirs(tx), ours(bx)
    assert bi.dtype is bg.int64
    compare(bi.numpy(), ti.numpy(), what="indices")
    compare(bv.numpy(), tv.detach().numpy(), what="values")
    w = randn(*tv.shape)
    (tv * torch.tensor(w)).sum().backward()
    (bv * bg.Tensor(w, device=device)).sum().backward()
    compare(bx.grad.numpy(), tx.grad.numpy(), what="input grad")


@pytest.mark.parametrize("kw", POOL2D)
def test_max_pool2d_indices(device, kw):
    compare_pool(lambda t: F.max_pool2d(t, return_indices=True, **kw),
                 lambda t: TF.max_pool2d(t, return_indices=True, **kw), random_then_ties(2, 7, 8), device)


def test_max_pool_modules_return_indices(device):
    """The modules return (values, indices), for unbatched inputs too; the 1-d index is the position in the row."""
    kw = {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True}
    compare_pool(nn.MaxPool1d(return_indices=True, **kw), torch.nn.MaxPool1d(return_indices=True, **kw),
                 ties(3, 11), device)
    compare_pool(nn.MaxPool2d(2, return_indices=True), torch.nn.MaxPool2d(2, return_indices=True), ties(3, 5, 4),
                 device)


def test_nan_and_all_minus_inf_windows(device):
    """torch's CPU pick: the last NaN of a window; the first cell inside the input when all hold -inf; -inf at the
    first cell past the padding when dilation skips every cell of the input."""
    x = np.array([[[1, np.nan, 5, np.nan, 2, -np.inf, -np.inf, -np.inf]]], np.float32)
    skip_special_values(device, x)
    kw = {"kernel_size": 4, "stride": 2, "padding": 2}
    compare_pool(lambda t: F.max_pool1d(t, return_indices=True, **kw),
                 lambda t: TF.max_pool1d(t, return_indices=True, **kw), x, device)
    skipped = np.array([[0.5, 2.0]], np.float32)
    kw = {"kernel_size": 2, "stride": 1, "padding": 1, "dilation": 3}
    compare_pool(lambda t: F.max_pool1d(t, return_indices=True, **kw),
                 lambda t: TF.max_pool1d(t, return_indices=True, **kw), skipped, device)


def compare_unpool(ours, theirs, x: np.ndarray, index: np.ndarray, device: str) -> None:
    tx, bx = torch.tensor(x, requires_grad=True), bg.Tensor(x, device=device, requires_grad=True)
    expected, actual = theirs(tx, torch.tensor(index)), ours(bx, bg.Tensor(index, device=device))
    compare(actual.numpy(), expected.detach().numpy(), what="forward")
    w = randn(*expected.shape)
    (expected * torch.tensor(w)).sum().backward()
    (actual * bg.Tensor(w, device=device)).sum().backward()
    compare(bx.grad.numpy(), tx.grad.numpy(), what="input grad")


@pytest.mark.parametrize("kw,shape,out", [({"kernel_size": 3, "stride": 2, "padding": 1}, (2, 2, 7, 7), None),
                                          ({"kernel_size": 2}, (3, 5, 7), [1, 3, 5, 7])])
def test_pool_unpool_round_trip_2d(device, kw, shape, out):
    """Overlapping windows give repeated indices; output_size recovers the odd input size; then the modules."""
    values, index = TF.max_pool2d(torch.tensor(ties(*shape)), return_indices=True, **kw)
    values, index = values.numpy(), index.numpy()
    compare_unpool(lambda v, i: F.max_unpool2d(v, i, output_size=out, **kw),
                   lambda v, i: TF.max_unpool2d(v, i, output_size=out, **kw), values, index, device)
    compare_unpool(lambda v, i: nn.MaxUnpool2d(**kw)(v, i, out), lambda v, i: torch.nn.MaxUnpool2d(**kw)(v, i, out),
                   values, index, device)


def test_pool_unpool_round_trip_1d(device):
    x = bg.Tensor(ties(2, 3, 9), device=device)
    values, index = nn.MaxPool1d(2, return_indices=True)(x)
    back = nn.MaxUnpool1d(2)(values, index, output_size=[9])
    expected = TF.max_unpool1d(*TF.max_pool1d(torch.tensor(x.numpy()), 2, return_indices=True), 2, output_size=[9])
    compare(back.numpy(), expected.numpy(), what="round trip")
    compare_unpool(lambda v, i: F.max_unpool1d(v, i, 3, 2, 1), lambda v, i: TF.max_unpool1d(v, i, 3, 2, 1),
                   randn(3, 4), np.array([[0, 2, 2, 5], [6, 1, 0, 3], [4, 4, 4, 4]]), device)


def test_unpool_repeated_indices(device):
    """Any indices, repeats included: the last value in order is written (torch's CPU order) and every value's
    gradient is the output gradient at its index."""
    index = RNG.integers(0, 9, (2, 2, 2, 3)).astype(np.int64)
    compare_unpool(lambda v, i: F.max_unpool2d(v, i, 2, 1), lambda v, i: TF.max_unpool2d(v, i, 2, 1),
                   randn(2, 2, 2, 3), index, device)


def test_unpool_device_index_out_of_range_writes_nowhere(device):
    """An index tensor's values are not checked on the host: one out of range (negative too) writes nowhere and gets
    a zero gradient, where torch raises."""
    x = randn(1, 4)
    index = np.array([[-1, 2, 8, 0]])
    bx = bg.Tensor(x, device=device, requires_grad=True)
    out = F.max_unpool1d(bx, bg.Tensor(index, device=device), 2)
    compare(out.numpy(), np.array([[x[0, 3], 0, x[0, 1], 0, 0, 0, 0, 0]], np.float32), what="forward")
    w = randn(1, 8)
    (out * bg.Tensor(w, device=device)).sum().backward()
    compare(bx.grad.numpy(), np.array([[0, w[0, 2], 0, w[0, 0]]], np.float32), what="input grad")


def both_raise(ours, theirs, kind: type, builtin: type, match: str) -> None:
    """baregrad raises `kind` where torch raises too."""
    with pytest.raises((RuntimeError, ValueError, IndexError)):
        theirs()
    raises_baregrad(kind, builtin, match, ours)


def test_unpool_errors():
    x, tx = bg.Tensor(randn(1, 1, 2, 2)), torch.tensor(randn(1, 1, 2, 2))
    bad = [[[[0, 1], [2, 16]]]]
    both_raise(lambda: F.max_unpool2d(x, bad, 2), lambda: TF.max_unpool2d(tx, torch.tensor(bad), 2),
               bg.BoundsError, IndexError, "invalid max index 16")
    both_raise(lambda: nn.MaxUnpool1d(2)(x[0], np.array([[[-1, 0], [0, 1]]])),
               lambda: torch.nn.MaxUnpool1d(2)(tx[0], torch.tensor([[[-1, 0], [0, 1]]])), bg.BoundsError, IndexError,
               "invalid max index -1")
    ok = [[[[0, 1], [2, 3]]]]
    both_raise(lambda: F.max_unpool2d(x, bg.Tensor(ok, dtype=bg.int32), 2),
               lambda: TF.max_unpool2d(tx, torch.tensor(ok, dtype=torch.int32), 2), bg.DTypeError, TypeError, "int64")
    flat = [[0, 1, 2, 3]]
    both_raise(lambda: F.max_unpool2d(x, flat, 2), lambda: TF.max_unpool2d(tx, torch.tensor(flat), 2),
               bg.ShapeError, ValueError, "input's shape")
    both_raise(lambda: F.max_unpool2d(x[0, 0], [[0, 1], [2, 3]], 2),
               lambda: TF.max_unpool2d(tx[0, 0], torch.tensor([[0, 1], [2, 3]]), 2), bg.ShapeError, ValueError, "3-d")
    both_raise(lambda: F.max_unpool2d(x, ok, 2, output_size=(9, 9)),
               lambda: TF.max_unpool2d(tx, torch.tensor(ok), 2, output_size=(9, 9)), bg.ArgumentError, ValueError,
               "invalid output_size")
    both_raise(lambda: F.max_unpool2d(x, ok, 2, output_size=(1, 4, 4)),
               lambda: TF.max_unpool2d(tx, torch.tensor(ok), 2, output_size=(1, 4, 4)), bg.ArgumentError, ValueError,
               "2 or 4 elements")


def test_max_pool_padding_past_half_the_kernel_raises():
    x = randn(1, 1, 6)
    both_raise(lambda: F.max_pool1d(bg.Tensor(x), 2, 1, 2, return_indices=True),
               lambda: TF.max_pool1d(torch.tensor(x), 2, 1, 2, return_indices=True), bg.ArgumentError, ValueError,
               "at most half")
