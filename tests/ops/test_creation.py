"""Tensor creation, properties and conversions against torch and numpy, on every device."""
import math

import numpy as np
import pytest
import torch

import baregrad as bg
from tests.helpers import compare, rand


def _same(actual: bg.Tensor, expected: torch.Tensor):
    assert actual.shape == tuple(expected.shape), (actual.shape, expected.shape)
    assert actual.dtype.name == str(expected.dtype).replace("torch.", ""), (actual.dtype, expected.dtype)
    compare(actual.numpy(), expected.float().numpy() if expected.dtype == torch.bfloat16 else expected.numpy(),
            actual.dtype.name)


@pytest.mark.parametrize("data", [[1, 2, 3], [[1.5, 2.0], [3.0, -4.25]], [True, False], [[[]]], [], 7, 2.5, True,
                                  [[1, 2], [3, 4]], [1, 2.5], [True, 2]], ids=repr)
def test_tensor_from_python(device, data):
    _same(bg.tensor(data, device=device), torch.tensor(data))


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "float16",
                                   "float32", "float64"])
def test_tensor_from_numpy(device, dtype):
    x = rand((2, 3), -50, 50, dtype) if dtype != "bool" else rand((2, 3), 0, 2, "int8").astype(bool)
    t = bg.Tensor(x, device=device)
    assert t.dtype.name == dtype and t.shape == (2, 3)
    np.testing.assert_array_equal(t.numpy(), x)
    assert t.tolist() == x.tolist()
    strided = x[:, ::2].T
    np.testing.assert_array_equal(bg.Tensor(strided, device=device).numpy(), strided)


def test_tensor_from_numpy_0d_and_dtype_arg(device):
    t = bg.Tensor(np.array(3.5, dtype=np.float64), device=device)
    assert t.shape == () and t.dtype is bg.float64 and t.item() == 3.5
    t = bg.Tensor(np.arange(4), dtype=bg.float16, device=device)
    assert t.dtype is bg.float16 and t.tolist() == [0.0, 1.0, 2.0, 3.0]
    t = bg.tensor([1, 2], dtype=bg.float32, device=device)
    assert t.dtype is bg.float32 and t.tolist() == [1.0, 2.0]


def test_tensor_from_bytes(device):
    raw = np.array([1.5, -2.0, 3.25], dtype=np.float32).tobytes()
    t = bg.Tensor(raw, dtype=bg.float32, device=device)
    assert t.tolist() == [1.5, -2.0, 3.25]
    assert bg.Tensor(b"\x01\x02\xff", device=device).tolist() == [1, 2, 255]
    t = bg.Tensor.from_bytes(np.arange(6, dtype=np.int16).tobytes(), bg.int16, (2, 3), device=device)
    assert t.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert t.to_bytes() == np.arange(6, dtype=np.int16).tobytes()


@pytest.mark.parametrize("name", ["zeros", "ones", "empty"])
def test_zeros_ones_empty(device, name):
    for shape in [(2, 3), (0,), (), (1, 0, 2)]:
        t = getattr(bg, name)(*shape, device=device)
        assert t.shape == shape and t.dtype is bg.float32 and t.device == device
        if name != "empty":
            _same(t, getattr(torch, name)(shape))
    t = getattr(bg, name)((2, 2), dtype=bg.int32, device=device)
    assert t.dtype is bg.int32 and t.shape == (2, 2)


@pytest.mark.parametrize("value,dtype", [(1.5, None), (3, None), (True, None), (-2, bg.int8), (2.7, bg.int32),
                                         (300, bg.uint8), (1e-3, bg.float16)])
def test_full(device, value, dtype):
    tdtype = getattr(torch, dtype.name) if dtype is not None else None
    if dtype is bg.uint8:  # torch refuses an out-of-range fill, and so do we
        with pytest.raises(bg.DTypeError, match="300 cannot be converted to uint8"):
            bg.full((2,), value, dtype, device=device)
        return
    _same(bg.full((2, 3), value, dtype, device=device), torch.full((2, 3), value, dtype=tdtype))


@pytest.mark.parametrize("args", [(5,), (2, 7), (1, 10, 3), (0, 1, 0.25), (5, 1, -1), (-3.5, 2.5, 0.5), (0,),
                                  (1.0, 2.0, 0.3), (10, 0, -3)], ids=repr)
def test_arange(device, args):
    _same(bg.arange(*args, device=device), torch.arange(*args))


def test_arange_dtype(device):
    _same(bg.arange(4, dtype=bg.float16, device=device), torch.arange(4, dtype=torch.float16))
    _same(bg.arange(1, 9, 2, dtype=bg.int32, device=device), torch.arange(1, 9, 2, dtype=torch.int32))


@pytest.mark.parametrize("args", [(0, 1, 5), (-2.0, 3.0, 7), (1, 1, 3), (0, 10, 1), (0, 1, 0), (3, -3, 4),
                                  (0, 1, 100)], ids=repr)
def test_linspace(device, args):
    _same(bg.linspace(*args, device=device), torch.linspace(*args))


@pytest.mark.parametrize("args", [(3,), (2, 4), (4, 2), (0,)])
def test_eye(device, args):
    _same(bg.eye(*args, device=device), torch.eye(*args))
    _same(bg.eye(*args, dtype=bg.int64, device=device), torch.eye(*args, dtype=torch.int64))


def test_like(device):
    x = bg.Tensor(rand((2, 3), -5, 5, "int32"), device=device)
    tx = torch.from_numpy(x.numpy())
    _same(bg.zeros_like(x), torch.zeros_like(tx))
    _same(bg.ones_like(x), torch.ones_like(tx))
    _same(bg.full_like(x, 7), torch.full_like(tx, 7))
    _same(bg.ones_like(x, dtype=bg.float16), torch.ones_like(tx, dtype=torch.float16))
    assert bg.empty_like(x).shape == (2, 3) and bg.empty_like(x).dtype is bg.int32
    f = bg.Tensor(rand((3, 2)), device=device)
    for fn in (bg.rand_like, bg.randn_like):
        r = fn(f)
        assert r.shape == (3, 2) and r.dtype is bg.float32 and r.device == device
    assert bg.rand_like(f, dtype=bg.float64).dtype is bg.float64


def test_rand_randn_randint_shapes(device):
    bg.manual_seed(1)
    assert bg.rand(2, 3, device=device).shape == (2, 3)
    assert bg.rand((4,), device=device).numpy().shape == (4,)
    assert bg.randn(0, 2, device=device).numpy().shape == (0, 2)
    assert bg.randn((), device=device).shape == ()
    r = bg.randint(-3, 4, (50,), device=device)
    assert r.dtype is bg.int64
    v = r.numpy()
    assert v.min() >= -3 and v.max() < 4 and len(set(v.tolist())) > 3
    assert set(bg.randint(2, size=(40,), device=device).tolist()) == {0, 1}
    assert bg.randint(0, 5, (3,), dtype=bg.int8, device=device).dtype is bg.int8
    x = bg.rand(3, requires_grad=True, device=device)
    assert x.requires_grad and x.is_leaf


def test_properties(device):
    x = bg.Tensor(rand((2, 3, 4)), device=device)
    assert x.shape == (2, 3, 4) and x.ndim == 3 and x.dim() == 3 and x.numel() == 24
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4 and len(x) == 2
    assert x.dtype is bg.float32 and x.device == device and x.element_size() == 4
    assert x.requires_grad is False and x.grad is None and x.is_leaf
    y = bg.Tensor(rand((2,)), device=device, requires_grad=True)
    assert y.requires_grad and y.grad is None
    (y * 2).sum().backward()
    assert y.grad.shape == (2,) and y.grad.tolist() == [2.0, 2.0]
    assert bg.zeros(()).numel() == 1 and bg.zeros(0, 3).numel() == 0


def test_conversions(device):
    x = rand((2, 3))
    t = bg.Tensor(x, device=device)
    np.testing.assert_array_equal(t.numpy(), x)
    assert t.tolist() == x.tolist()
    assert t[1, 2].item() == float(x[1, 2]) and isinstance(t[1, 2].item(), float)
    i = bg.tensor([[3, -1]], device=device)
    assert i[0, 1].item() == -1 and isinstance(i[0, 1].item(), int)
    assert bg.tensor([True], device=device).item() is True
    assert float(bg.tensor([2.5], device=device)) == 2.5 and int(bg.tensor(7, device=device)) == 7
    assert bool(bg.tensor(0.0, device=device)) is False
    _same(t.float(), torch.from_numpy(x).float())
    _same(t.half(), torch.from_numpy(x).half())
    _same(t.int(), torch.from_numpy(x).int())
    _same(t.bool(), torch.from_numpy(x).bool())
    _same(t.double(), torch.from_numpy(x).double())
    _same(t.long(), torch.from_numpy(x).long())
    _same(t.to(bg.float16), torch.from_numpy(x).to(torch.float16))
    _same(t.to("int8"), torch.from_numpy(x).to(torch.int8))
    _same(t.to(dtype=bg.int16), torch.from_numpy(x).to(torch.int16))
    c = t.T.contiguous().realize()
    np.testing.assert_array_equal(c.numpy(), x.T)
    assert t.realize() is t


def test_to_device(device):
    x = rand((2, 3))
    for other in ("PYTHON", "CPU"):
        if other not in [s.name for s in bg.devices() if s.works]:
            continue
        t = bg.Tensor(x, device=device, requires_grad=True)
        moved = t.to(other)
        assert moved.device == other
        np.testing.assert_array_equal(moved.numpy(), x)
        (moved * 3).sum().backward()
        assert t.grad.device == device and t.grad.tolist() == [[3.0] * 3] * 2
        both = bg.Tensor(x, device=device).to(other, bg.float16)
        assert both.device == other and both.dtype is bg.float16


def test_item_and_tolist_edge(device):
    assert bg.zeros(0, device=device).tolist() == []
    assert bg.zeros(2, 0, device=device).tolist() == [[], []]
    assert bg.full((), 3, device=device).tolist() == 3
    assert math.isnan(bg.tensor(float("nan"), device=device).item())
    assert bg.tensor(2 ** 40, device=device).item() == 2 ** 40


def test_same_constant_graph_on_two_devices(device):
    """Nodes are hash-consed, so the same constant graph on another device is the same node: its computed
    buffer must not be reused by this device (it was a PYTHON buffer handed to a C kernel)."""
    others = [s.name for s in bg.devices() if s.works and s.name != device]
    for other in others[:1]:
        a = (bg.ones(2, 3, device=other) * 3).sum(0)
        assert a.tolist() == [6.0] * 3
        b = (bg.ones(2, 3, device=device) * 3).sum(0)
        assert b.device == device and b.tolist() == [6.0] * 3
