"""Reductions against torch, forward and backward, on every device: every dim (and all dims, negative dims,
tuples of dims) with and without keepdim, tolerances scaled with the number of reduced elements."""
import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from tests.helpers import check, few, rand, shapes

REDUCE = {
    "sum": (lambda x, d, k: x.sum(d, keepdim=k), lambda x, d, k: x.sum(d, keepdim=k)),
    "mean": (lambda x, d, k: x.mean(d, keepdim=k), lambda x, d, k: x.mean(d, keepdim=k)),
    "prod": (lambda x, d, k: x.prod(d, keepdim=k), lambda x, d, k: x.prod(d, keepdim=k)),
    "amax": (lambda x, d, k: x.amax(d, keepdim=k), lambda x, d, k: x.amax(d, keepdim=k)),
    "amin": (lambda x, d, k: x.amin(d, keepdim=k), lambda x, d, k: x.amin(d, keepdim=k)),
    "max": (lambda x, d, k: x.max(d, keepdim=k).values, lambda x, d, k: x.max(d, keepdim=k).values),
    "min": (lambda x, d, k: x.min(d, keepdim=k).values, lambda x, d, k: x.min(d, keepdim=k).values),
    "var": (lambda x, d, k: x.var(d, keepdim=k), lambda x, d, k: x.var(d, keepdim=k)),
    "std": (lambda x, d, k: x.std(d, keepdim=k), lambda x, d, k: x.std(d, keepdim=k)),
    "var0": (lambda x, d, k: x.var(d, keepdim=k, correction=0), lambda x, d, k: x.var(d, keepdim=k, correction=0)),
    "logsumexp": (lambda x, d, k: x.logsumexp(d, keepdim=k), lambda x, d, k: x.logsumexp(d, keepdim=k)),
}
INT_DIM = {  # ops that take exactly one int dim
    "softmax": (lambda x, d: x.softmax(d), lambda x, d: x.softmax(d)),
    "log_softmax": (lambda x, d: x.log_softmax(d), lambda x, d: x.log_softmax(d)),
    "cumsum": (lambda x, d: x.cumsum(d), lambda x, d: x.cumsum(d)),
    "argmax": (lambda x, d: x.argmax(d), lambda x, d: x.argmax(d)),
    "argmin": (lambda x, d: x.argmin(d), lambda x, d: x.argmin(d)),
    "argmax_keep": (lambda x, d: x.argmax(d, keepdim=True), lambda x, d: x.argmax(d, keepdim=True)),
    "max_indices": (lambda x, d: x.max(d).indices, lambda x, d: x.max(d).indices),
    "min_indices": (lambda x, d: x.min(d).indices, lambda x, d: x.min(d).indices),
}
INT_ONLY = {"prod", "max", "min"}  # torch takes one int dim for these
NONEMPTY = {"amax", "amin", "max", "min", "argmax", "argmin", "argmax_keep", "max_indices", "min_indices"}


@st.composite
def shape_and_dims(draw, min_side=0):
    shape = draw(shapes(min_dims=1, min_side=min_side))
    n = len(shape)
    dims = draw(st.one_of(st.integers(-n, n - 1), st.lists(st.integers(0, n - 1), min_size=1, max_size=n,
                                                           unique=True).map(tuple)))
    return shape, dims, draw(st.booleans())


def _tolerance_scale(shape, dims):
    dims = (dims,) if isinstance(dims, int) else dims
    return max(1, int(np.prod([shape[d] for d in dims])))


def _values(shape, name):
    x = rand(shape, -2, 2)
    return x * 0.5 + 1.0 if name == "prod" else x  # keep products near 1


@pytest.mark.filterwarnings("ignore:.*degrees of freedom")  # var of one element is nan in both
@pytest.mark.parametrize("name", list(REDUCE))
@given(case=shape_and_dims())
@example(case=((3, 4), 1, False))
@example(case=((2, 3, 4), (0, 2), True))
@few(4)
def test_reduce(device, name, case):
    shape, dims, keep = case
    if name in INT_ONLY and not isinstance(dims, int):
        dims = dims[0]
    if name in NONEMPTY and 0 in shape:
        shape = tuple(s or 1 for s in shape)
    bg_fn, torch_fn = REDUCE[name]
    x = _values(shape, name)
    check(lambda t: bg_fn(t, dims, keep), lambda t: torch_fn(t, dims, keep), [x], device,
          scale=_tolerance_scale(shape, dims))


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "amax", "var", "std", "logsumexp"])
def test_reduce_all(device, name):
    x = _values((3, 5), name)
    t_fn = {"amax": lambda t: t.amax(), "var": lambda t: t.var(), "std": lambda t: t.std()}.get(
        name, lambda t: getattr(t, name)() if name != "logsumexp" else t.logsumexp((0, 1)))
    b_fn = t_fn if name != "logsumexp" else (lambda t: t.logsumexp(None))
    check(b_fn, t_fn, [x], device, scale=15)
    check(lambda t: t.max(), lambda t: t.max(), [x], device)
    check(lambda t: t.min(), lambda t: t.min(), [x], device)


@pytest.mark.parametrize("name", list(INT_DIM))
@given(case=shape_and_dims(min_side=1))
@example(case=((3, 5), -1, False))
@few(4)
def test_single_dim(device, name, case):
    shape, dims, _ = case
    dim = dims if isinstance(dims, int) else dims[0]
    bg_fn, torch_fn = INT_DIM[name]
    x = rand(shape, -3, 3)
    check(lambda t: bg_fn(t, dim), lambda t: torch_fn(t, dim), [x], device, scale=shape[dim])


def test_softmax_empty_and_large(device):
    check(lambda t: t.softmax(-1), lambda t: t.softmax(-1), [rand((2, 0))], device)
    big = rand((2, 6), -3, 3) + np.array([[0.0], [300.0]], dtype=np.float32)
    check(lambda t: t.softmax(-1), lambda t: t.softmax(-1), [big], device)
    check(lambda t: t.log_softmax(-1), lambda t: t.log_softmax(-1), [big], device, scale=30)
    check(lambda t: t.logsumexp(-1), lambda t: t.logsumexp(-1), [big], device, scale=30)


def test_max_ties_split_gradient(device):
    """torch's amax splits the gradient evenly between tied maxima; max(dim) gives it to the one index chosen."""
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]], dtype=np.float32)
    check(lambda t: t.amax(1), lambda t: t.amax(1), [x], device)
    check(lambda t: t.amin(0), lambda t: t.amin(0), [x], device)
    check(lambda t: t.argmax(1), lambda t: t.argmax(1), [x], device)
    check(lambda t: t.argmin(1), lambda t: t.argmin(1), [x], device)


def test_max_dim_ties_gradient(device):
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]], dtype=np.float32)
    check(lambda t: t.max(1).values, lambda t: t.max(1).values, [x], device)


def test_prod_with_zeros(device):
    x = np.array([[1.5, 0.0, 2.0], [0.0, 0.0, 3.0], [2.0, -1.0, 0.5]], dtype=np.float32)
    check(lambda t: t.prod(1), lambda t: t.prod(1), [x], device)
    check(lambda t: t.prod(), lambda t: t.prod(), [x], device)


def test_argmax_nan(device):
    x = np.array([[1.0, np.nan, 3.0], [2.0, 5.0, 1.0]], dtype=np.float32)
    check(lambda t: t.argmax(1), lambda t: t.argmax(1), [x], device)
    check(lambda t: t.argmax(), lambda t: t.argmax(), [x], device)
    check(lambda t: t.argmin(), lambda t: t.argmin(), [x], device)


@pytest.mark.parametrize("dtype", ["bool", "int32", "uint8", "float32"])
def test_any_all(device, dtype):
    x = (rand((3, 4), 0, 1.4) > 0.8).astype(dtype)
    x[2] = 1
    for fn in (lambda t: t.any(), lambda t: t.all(), lambda t: t.any(1), lambda t: t.all(0),
               lambda t: t.any(0, keepdim=True), lambda t: t.all(-1, keepdim=True)):
        check(fn, fn, [x], device, grad=False)
    empty = np.zeros((0, 3), dtype=dtype)
    for fn in (lambda t: t.any(), lambda t: t.all(), lambda t: t.any(0), lambda t: t.all(0)):
        check(fn, fn, [empty], device, grad=False)


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint8", "int32", "int64"])
def test_int_reductions_dtype(device, dtype):
    """sum/prod/cumsum of integers and bools accumulate in int64, as torch."""
    x = rand((3, 4), 0 if dtype in ("bool", "uint8") else -5, 2 if dtype == "bool" else 6, dtype)
    fns = [lambda t: t.sum(), lambda t: t.sum(0), lambda t: t.prod(1), lambda t: t.cumsum(1),
           lambda t: t.amax(1), lambda t: t.amin(0)]
    if dtype != "bool":  # torch has no argmax for bool
        fns += [lambda t: t.argmax(1), lambda t: t.argmin(0)]
    for fn in fns:
        check(fn, fn, [x], device)


def test_mean_int_and_sum_dtype(device):
    x = rand((3, 4), -5, 6, "int32")
    check(lambda t: t.sum(dtype="float32"), lambda t: t.sum(dtype=torch.float32), [x], device)
    check(lambda t: t.float().mean(0), lambda t: t.float().mean(0), [x], device)


def test_cumsum_long(device):
    x = rand((2, 40), -1, 1)
    check(lambda t: t.cumsum(1), lambda t: t.cumsum(1), [x], device, scale=40)
