"""Basic indexing against torch, forward and backward, on every device: ints, slices with steps and negative
bounds, None, Ellipsis, and assignment through slices (advanced indexing lives in test_advanced_indexing.py)."""
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import baregrad as bg
from tests.helpers import check, few, rand

E = Ellipsis
INDICES = [
    1, -1, (0, 2), (-2, -1, 3), slice(None), slice(1, None), slice(None, -1), slice(None, None, 2),
    (slice(None), slice(1, 3)), (slice(None), slice(None), slice(None, None, 3)), (slice(-2, None), 0),
    (E, 1), (E, slice(None, None, 2)), (0, E), (1, E, 2), (None,), (None, 0, None), (slice(None), None, E, None),
    (E, None), (slice(5, 1), 0), (slice(1, 100),), (slice(-100, 2),), (slice(None), slice(3, 1, 1)),
    (slice(0, 3, 2), slice(1, 4, 3), slice(None, None, 2)), (2, -3, -1), (),
]


@pytest.mark.parametrize("index", INDICES, ids=repr)
def test_getitem_basic(device, index):
    x = rand((3, 3, 4))
    check(lambda t: t[index], lambda t: t[index], [x], device)


@st.composite
def slices(draw, size):
    start = draw(st.none() | st.integers(-size - 2, size + 2))
    stop = draw(st.none() | st.integers(-size - 2, size + 2))
    return slice(start, stop, draw(st.none() | st.integers(1, 3)))


@given(data=st.data())
@few(6)
def test_getitem_random_slices(device, data):
    shape = (4, 5)
    index = tuple(data.draw(slices(s)) for s in shape)
    x = rand(shape)
    check(lambda t: t[index], lambda t: t[index], [x], device)


@pytest.mark.parametrize("index", [slice(None, None, -1), (slice(None), slice(None, None, -2)),
                                   (slice(3, 0, -1),), (slice(-1, None, -3), 1)], ids=repr)
def test_getitem_negative_step_like_numpy(device, index):
    """torch refuses negative steps; numpy's meaning is flip-then-slice, compared here through torch.flip."""
    x = rand((4, 5))
    expected = torch.from_numpy(x.copy()[index].copy())
    actual = bg.Tensor(x, device=device)[index]
    assert actual.shape == tuple(expected.shape)
    assert torch.allclose(torch.from_numpy(actual.numpy()), expected)


def test_getitem_0d_and_item(device):
    x = rand((3,))
    check(lambda t: t[1], lambda t: t[1], [x], device)
    check(lambda t: t[None], lambda t: t[None], [rand(())], device)
    check(lambda t: t[...], lambda t: t[...], [rand(())], device)
    assert bg.Tensor(x, device=device)[2].item() == pytest.approx(float(x[2]))


def test_getitem_tensor_int_index(device):
    """A 0-d integer tensor indexes like an int."""
    x = rand((3, 4))
    check(lambda t: t[bg.tensor(2, device=device)], lambda t: t[torch.tensor(2)], [x], device)


SET_CASES = [
    (1, (4,)), ((slice(None), 0), (3,)), ((slice(0, 2), slice(1, 3)), (2, 2)), ((E, -1), (3,)),
    ((slice(None, None, 2), slice(None)), (2, 4)), ((slice(None), slice(1, None, 2)), (1, 2)),
    ((0, slice(None)), ()), ((slice(1, 1),), (0, 4)),
]


@pytest.mark.parametrize("index,value_shape", SET_CASES, ids=repr)
def test_setitem_tensor_value(device, index, value_shape):
    """y = x.clone(); y[index] = v: gradients reach x outside the slice and v through it."""
    x, v = rand((3, 4), seed=1), rand(value_shape, seed=2)

    def fn(a, b):
        y = a * 1
        y[index] = b
        return y
    check(fn, fn, [x, v], device)


@pytest.mark.parametrize("index", [0, (slice(None), 2), (slice(None, None, 2), E), (E, slice(-2, None))], ids=repr)
def test_setitem_scalar(device, index):
    x = rand((3, 4))

    def fn(a):
        y = a * 1
        y[index] = 2.5
        return y
    check(fn, fn, [x], device)


def test_setitem_int_tensor_and_dtype_cast(device):
    x = rand((2, 3), -5, 5, "int32")

    def fn(a):
        y = a + 0
        y[:, 1] = 7
        y[0] = torch.tensor([1.9, -1.9, 3.0]) if isinstance(y, torch.Tensor) else bg.tensor([1.9, -1.9, 3.0],
                                                                                           device=device)
        return y
    check(fn, fn, [x], device)


def test_setitem_then_read_old_view(device):
    """A view taken before the assignment keeps the old values (baregrad is functional under the hood)."""
    x = bg.Tensor(rand((3,)), device=device)
    y = x * 1
    y[1] = 0.0
    assert y.tolist()[1] == 0.0 and x.tolist()[1] != 0.0
