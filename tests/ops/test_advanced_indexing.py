"""Advanced indexing against torch: integer tensors, bool masks, assignment, gather/scatter and friends.

Each case runs forward and backward on every device. Index tensors are made with numpy and passed to
both frameworks, so the same indices (negatives and duplicates included) hit both.
"""
import numpy as np
import pytest
import torch

import baregrad as bg
from baregrad.engine.realize import canonicalize
from baregrad.engine.schedule import build_schedule
from baregrad.ir.ops import Op
from tests.helpers import check, compare

RNG = np.random.default_rng(7)
X34 = RNG.standard_normal((3, 4)).astype(np.float32)
X234 = RNG.standard_normal((2, 3, 4)).astype(np.float32)


def _idx(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def _both(values, device):
    """The same index as a baregrad tensor and a torch tensor."""
    arr = np.asarray(values)
    return bg.Tensor(arr, device=device), torch.from_numpy(arr)


# ---- getitem with integer tensors ----
@pytest.mark.parametrize("index", [[0, 2, 2, -1], [[1, 0], [2, 2]], []])
def test_getitem_int_tensor(device, index):
    i = _idx(index)
    check(lambda x, k: x[k], lambda x, k: x[k], [X34, i], device)


def test_getitem_list_and_negative(device):
    check(lambda x: x[[2, -3, 0]], lambda x: x[[2, -3, 0]], [X34], device)


def test_getitem_tensor_after_slice(device):
    i = _idx([3, 0, 3])
    check(lambda x, k: x[:, k], lambda x, k: x[:, k], [X34, i], device)
    check(lambda x, k: x[..., k], lambda x, k: x[..., k], [X234, i], device)
    check(lambda x, k: x[None, 1:, k], lambda x, k: x[None, 1:, k], [X234, _idx([2, 0])], device)


def test_getitem_two_tensors_adjacent_and_split(device):
    a, b = _idx([0, 1, 1]), _idx([3, -1, 0])
    # adjacent tensor indices keep their place; separated ones move to the front (numpy rule)
    check(lambda x, i, j: x[:, i, j], lambda x, i, j: x[:, i, j], [X234, _idx([0, 2, 1]), b], device)
    check(lambda x, i, j: x[i, :, j], lambda x, i, j: x[i, :, j], [X234, a, b], device)
    check(lambda x, i, j: x[i, j], lambda x, i, j: x[i, j], [X34, _idx([[0], [2]]), b], device)  # broadcast


def test_getitem_int_and_tensor(device):
    i = _idx([1, 0])
    check(lambda x, k: x[1, k], lambda x, k: x[1, k], [X234, i], device)


# ---- bool masks ----
def test_getitem_bool_mask_full(device):
    mask = X34 > 0
    check(lambda x, m: x[m], lambda x, m: x[m], [X34, mask], device)


def test_getitem_bool_mask_partial(device):
    m1 = np.array([True, False, True])
    check(lambda x, m: x[:, m], lambda x, m: x[:, m], [X234, m1], device)
    m0 = np.array([False, True])
    check(lambda x, m: x[m], lambda x, m: x[m], [X234, m0], device)


def test_getitem_bool_mask_empty(device):
    mask = np.zeros((3, 4), dtype=bool)
    check(lambda x, m: x[m], lambda x, m: x[m], [X34, mask], device)


def test_getitem_bool_list(device):
    check(lambda x: x[[True, False, True]], lambda x: x[[True, False, True]], [X34], device)


# ---- setitem ----
def _set_bg(index, value):
    def fn(x, *vals):
        y = x * 1
        y[index] = vals[0] if vals else value
        return y
    return fn


def _set_torch(index, value):
    def fn(x, *vals):
        y = x.clone()
        y[index] = vals[0] if vals else value
        return y
    return fn


def test_setitem_int_tensor_scalar(device):
    bi, ti = _both(_idx([2, 0]), device)
    check(_set_bg(bi, 5.0), _set_torch(ti, 5.0), [X34], device)


def test_setitem_int_tensor_value_grad(device):
    bi, ti = _both(_idx([2, -3]), device)
    v = RNG.standard_normal((2, 4)).astype(np.float32)
    check(_set_bg(bi, None), _set_torch(ti, None), [X34, v], device)


def test_setitem_second_dim_broadcast_value(device):
    bi, ti = _both(_idx([3, 1]), device)
    v = RNG.standard_normal((3, 1)).astype(np.float32)
    check(_set_bg((slice(None), bi), None), _set_torch((slice(None), ti), None), [X34, v], device)


def test_setitem_mask(device):
    bm, tm = _both(X34 > 0.3, device)
    check(_set_bg(bm, -1.0), _set_torch(tm, -1.0), [X34], device)


def test_setitem_mask_tensor_value(device):
    mask = X34 > 0.0
    bm, tm = _both(mask, device)
    v = RNG.standard_normal((int(mask.sum()),)).astype(np.float32)
    check(_set_bg(bm, None), _set_torch(tm, None), [X34, v], device)


def test_setitem_int_dtype(device):
    x = bg.Tensor(np.arange(6, dtype=np.int32), device=device)
    x[bg.Tensor([4, 1], device=device)] = 9
    assert x.tolist() == [0, 9, 2, 3, 9, 5]


# ---- gather / scatter family ----
def test_gather(device):
    i = _idx([[0, 3, 3, 1], [2, 2, 0, 0], [1, 1, 1, 1]])
    check(lambda x, k: x.gather(1, k), lambda x, k: x.gather(1, k), [X34, i], device)
    i0 = _idx([[2, 0, 1, -0]])
    check(lambda x, k: x.gather(0, k), lambda x, k: x.gather(0, k), [X34, i0], device)
    i_small = _idx([[1], [0]])  # index smaller than the input off the gather dim
    check(lambda x, k: x.gather(-1, k), lambda x, k: x.gather(-1, k), [X34, i_small], device)


def test_take_along_dim(device):
    i = _idx([[0], [3], [2]])
    check(lambda x, k: x.take_along_dim(k, 1), lambda x, k: torch.take_along_dim(x, k, 1), [X34, i], device)
    order = np.argsort(X34, axis=0)
    check(lambda x, k: x.take_along_dim(k, 0), lambda x, k: torch.take_along_dim(x, k, 0), [X34, order], device)


def test_index_select(device):
    i = _idx([2, 0, 2])
    check(lambda x, k: x.index_select(0, k), lambda x, k: x.index_select(0, k), [X34, i], device)
    check(lambda x, k: x.index_select(-1, k), lambda x, k: x.index_select(-1, k), [X234, i], device)


def test_scatter_add_duplicates(device):
    i = _idx([[0, 1, 0, 2], [0, 0, 0, 0]])
    src = RNG.standard_normal((2, 4)).astype(np.float32)
    check(lambda x, k, s: x.scatter_add(0, k, s), lambda x, k, s: x.scatter_add(0, k, s), [X34, i, src], device)


def test_scatter(device):
    i = _idx([[1, 0, 2], [3, 2, 0]])  # unique positions per row: torch's result is well defined
    src = RNG.standard_normal((2, 3)).astype(np.float32)
    check(lambda x, k, s: x.scatter(1, k, s), lambda x, k, s: x.scatter(1, k, s), [X34, i, src], device)
    check(lambda x, k: x.scatter(1, k, 2.5), lambda x, k: x.scatter(1, k, 2.5), [X34, i], device)


def test_scatter_multiply(device):
    i = _idx([[1, 1], [3, 0]])
    src = RNG.standard_normal((2, 2)).astype(np.float32)
    check(lambda x, k, s: x.scatter(1, k, s, reduce="multiply"),
          lambda x, k, s: x.scatter(1, k, s, reduce="multiply"), [X34, i, src], device, grad=False)


def test_index_add(device):
    i = _idx([0, 2, 0])
    src = RNG.standard_normal((3, 4)).astype(np.float32)
    check(lambda x, k, s: x.index_add(0, k, s, alpha=2), lambda x, k, s: x.index_add(0, k, s, alpha=2),
          [X34, i, src], device)


def test_masked_fill(device):
    mask = np.array([True, False, False, True])
    check(lambda x, m: x.masked_fill(m, -3.0), lambda x, m: x.masked_fill(m, -3.0), [X34, mask], device)


def test_where_scalars(device):
    cond = X34 > 0
    check(lambda c: bg.where(c, 1.0, 0.0), lambda c: torch.where(c, 1.0, 0.0), [cond], device)
    check(lambda c, x: bg.where(c, x, 0.0), lambda c, x: torch.where(c, x, 0.0), [cond, X34], device)
    check(lambda c, x: bg.where(c, 2, x), lambda c, x: torch.where(c, 2, x), [cond, X34], device)


def test_nonzero(device):
    a = np.array([[0, 1, 0], [2, 0, 3]], dtype=np.int32)
    check(lambda x: x.nonzero(), lambda x: x.nonzero(), [a], device)
    for b, t in zip(bg.Tensor(a, device=device).nonzero(as_tuple=True), torch.from_numpy(a).nonzero(as_tuple=True)):
        compare(b.numpy(), t.numpy())
    check(lambda x: x.nonzero(), lambda x: x.nonzero(), [np.zeros((2, 2), np.float32)], device)


def test_errors():
    x = bg.zeros(3, 4)
    with pytest.raises(bg.BoundsError):
        x[3]
    with pytest.raises(bg.DTypeError):
        x[bg.tensor([0.5])]
    with pytest.raises(bg.ShapeError):
        x.gather(0, bg.tensor([0]))


# ---- fusion contract: indexing is a gather, one load per output element ----
def _kernels(t: bg.Tensor) -> list:
    canonical, inputs = canonicalize([t.node])
    return build_schedule(canonical, len(inputs)).steps


def _has_reduce(node) -> bool:
    seen, stack = set(), [node]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if n.op in (Op.REDUCE, Op.LOOP_REDUCE):
            return True
        stack.extend(n.src)
    return False


def test_getitem_is_one_gather_kernel():
    x = bg.Tensor(RNG.standard_normal((50, 8)).astype(np.float32)).realize()
    idx = bg.Tensor(_idx([3, 49, 0, 3])).realize()
    for out in (x[idx], x[idx] * 2 + 1, x.index_select(0, idx), x[:, idx[:2] % 8]):
        steps = _kernels(out)
        assert len(steps) == 1
        assert not _has_reduce(steps[0].ast), "indexing must be a gather, not a one-hot reduce"
