"""Movement ops against torch, forward and backward, on every device: reshape/view, permute/transpose/T,
expand, squeeze/unsqueeze, flatten, flip, pad, repeat, cat/stack, split/chunk, with empty and size-1 dims."""
import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from hypothesis import example, given
from hypothesis import strategies as st

import baregrad as bg
from tests.helpers import check, few, rand, shapes


@given(shape=shapes(min_dims=1), data=st.data())
@example(shape=(2, 0, 3), data=None)
@few(4)
def test_reshape_view_flatten(device, shape, data):
    x = rand(shape)
    n = x.size
    check(lambda t: t.reshape(-1), lambda t: t.reshape(-1), [x], device)
    check(lambda t: t.view(n, 1) if n else t.view(0, 5), lambda t: t.view(n, 1) if n else t.view(0, 5), [x], device)
    check(lambda t: t.reshape(1, *shape[::-1]), lambda t: t.reshape(1, *shape[::-1]), [x], device)
    check(lambda t: t.flatten(), lambda t: t.flatten(), [x], device)
    if len(shape) >= 2:
        check(lambda t: t.flatten(0, 1), lambda t: t.flatten(0, 1), [x], device)
        check(lambda t: t.flatten(-2), lambda t: t.flatten(-2), [x], device)


def test_flatten_0d_and_view_chain(device):
    check(lambda t: t.flatten(), lambda t: t.flatten(), [rand(())], device)
    x = rand((2, 3, 4))
    fn = lambda t: t.reshape(6, 4).T.reshape(2, 2, 6)[1]  # noqa: E731
    check(fn, fn, [x], device)


@given(shape=shapes(min_dims=1), data=st.data())
@example(shape=(2, 1, 3), data=None)
@few(4)
def test_permute_transpose(device, shape, data):
    order = data.draw(st.permutations(range(len(shape)))) if data else [2, 0, 1]
    x = rand(shape)
    check(lambda t: t.permute(*order), lambda t: t.permute(*order), [x], device)
    check(lambda t: t.transpose(0, -1), lambda t: t.transpose(0, -1), [x], device)
    check(lambda t: t.mT if t.ndim >= 2 else t, lambda t: t.mT if t.ndim >= 2 else t, [x], device)
    if len(shape) <= 2:
        check(lambda t: t.T, lambda t: t.T, [x], device)
        check(lambda t: t.t(), lambda t: t.t(), [x], device)
    check(lambda t: (t.permute(*order) * 2).contiguous().permute(*np.argsort(order).tolist()),
          lambda t: (t.permute(*order) * 2).contiguous().permute(*np.argsort(order).tolist()), [x], device)


@pytest.mark.parametrize("src,target", [((3, 1), (3, 4)), ((1,), (2, 3, 5)), ((2, 1, 3), (4, 2, 5, 3)),
                                        ((), (2, 2)), ((1, 3), (0, 3)), ((3, 1), (-1, 2))])
def test_expand(device, src, target):
    x = rand(src)
    check(lambda t: t.expand(*target), lambda t: t.expand(*target), [x], device)
    check(lambda t: t.expand(target) * 1.5, lambda t: t.expand(target) * 1.5, [x], device)


@pytest.mark.parametrize("shape", [(1, 3, 1, 2), (1,), (), (2, 0, 1)])
def test_squeeze_unsqueeze(device, shape):
    x = rand(shape)
    check(lambda t: t.squeeze(), lambda t: t.squeeze(), [x], device)
    for d in range(-len(shape), len(shape)):
        check(lambda t: t.squeeze(d), lambda t: t.squeeze(d), [x], device)
    for d in range(-len(shape) - 1, len(shape) + 1):
        check(lambda t: t.unsqueeze(d), lambda t: t.unsqueeze(d), [x], device)
    if len(shape) >= 2:
        check(lambda t: t.squeeze((0, -1)), lambda t: t.squeeze((0, -1)), [x], device)


@given(shape=shapes(min_dims=1), data=st.data())
@example(shape=(3, 0, 2), data=None)
@few(4)
def test_flip(device, shape, data):
    dims = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1, max_size=len(shape),
                              unique_by=lambda d: d % len(shape))) if data else [0, -1]
    x = rand(shape)
    check(lambda t: t.flip(dims), lambda t: t.flip(dims), [x], device)
    check(lambda t: t.flip(*dims), lambda t: t.flip(*dims), [x], device)


@pytest.mark.parametrize("pad", [(1, 2), (0, 0, 2, 1), (1, 1, 0, 3), (-1, 2, 1, -1), (2, 0, 0, 0, 1, 1)])
@pytest.mark.parametrize("value", [0.0, -1.5])
def test_pad(device, pad, value):
    x = rand((2, 3, 4))
    check(lambda t: t.pad_torch(pad, value=value), lambda t: tF.pad(t, pad, value=value), [x], device)


def test_pad_pairs(device):
    """Our per-dim (before, after) form, compared against torch's last-dim-first form."""
    x = rand((3, 2))
    check(lambda t: t.pad([(1, 0), (2, 3)]), lambda t: tF.pad(t, (2, 3, 1, 0)), [x], device)


@pytest.mark.parametrize("shape,reps", [((2, 3), (2, 1)), ((3,), (2, 2)), ((2, 1), (1, 3)), ((2,), (0,)),
                                        ((), (3, 2)), ((2, 0), (2, 2))])
def test_repeat(device, shape, reps):
    x = rand(shape)
    check(lambda t: t.repeat(*reps), lambda t: t.repeat(*reps), [x], device)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_stack(device, dim):
    a, b, c = rand((2, 3), seed=1), rand((2, 3), seed=2), rand((2, 3), seed=3)
    check(lambda x, y, z: bg.cat([x, y, z], dim), lambda x, y, z: torch.cat([x, y, z], dim), [a, b, c], device)
    check(lambda x, y, z: bg.stack([x, y, z], dim), lambda x, y, z: torch.stack([x, y, z], dim), [a, b, c], device)


def test_cat_uneven_and_empty(device):
    a, b, e = rand((2, 3), seed=1), rand((2, 1), seed=2), rand((2, 0), seed=3)
    check(lambda x, y, z: bg.cat([x, y, z], 1), lambda x, y, z: torch.cat([x, y, z], 1), [a, b, e], device)
    check(lambda x, y: bg.cat([x, y], 1), lambda x, y: torch.cat([x, y], 1), [b, a], device)
    check(lambda x, y: bg.cat([x, y], 0), lambda x, y: torch.cat([x, y], 0), [rand((1, 3)), a], device)
    check(lambda x: bg.stack([x], 2), lambda x: torch.stack([x], 2), [a], device)


def test_cat_promotes(device):
    a = rand((2,), dtype="float32")
    i = np.array([1, 2, 3], dtype=np.int32)
    check(lambda x, y: bg.cat([x, y]), lambda x, y: torch.cat([x, y]), [a, i], device)
    check(lambda y: bg.cat([y, y.to(bg.int8)]), lambda y: torch.cat([y, y.to(torch.int8)]), [i], device)


@pytest.mark.parametrize("size", [1, 2, 3, 5, [1, 4], [0, 2, 3]])
def test_split(device, size):
    x = rand((5, 2))
    for i in range(2 if size != 5 else 1):
        check(lambda t: t.split(size)[i] * (i + 1), lambda t: t.split(size)[i] * (i + 1), [x], device)
    n = len(torch.from_numpy(x).split(size))
    assert len(bg.Tensor(x, device=device).split(size)) == n


@pytest.mark.parametrize("chunks", [1, 2, 3, 4, 6])
def test_chunk(device, chunks):
    x = rand((2, 5))
    expected = torch.from_numpy(x).chunk(chunks, 1)
    actual = bg.Tensor(x, device=device).chunk(chunks, 1)
    assert [p.shape for p in actual] == [tuple(p.shape) for p in expected]
    check(lambda t: bg.cat([p * (k + 1) for k, p in enumerate(t.chunk(chunks, 1))], 1),
          lambda t: torch.cat([p * (k + 1) for k, p in enumerate(t.chunk(chunks, 1))], 1), [x], device)


def test_movement_chain_gradient(device):
    """Many views in one graph, then a reduction: gradients scatter back through every one."""
    x = rand((2, 3, 4))

    def fn(t):
        u = t.permute(2, 0, 1).flip(0)[1:, :, ::2]
        v = u.reshape(3, -1).expand(2, 3, 4).pad_torch((1, 1)) if isinstance(t, bg.Tensor) else \
            tF.pad(u.reshape(3, -1).expand(2, 3, 4), (1, 1))
        return v.sum(0) * t.mean()
    check(fn, fn, [x], device, scale=8)
