"""copy.copy / copy.deepcopy / pickle of tensors and modules, and exact float floor_divide, remainder and fmod,
against torch on every device.

Copies: deepcopy gives a leaf with its own buffer (training a deep-copied model leaves the original alone),
copy.copy shares the buffer as torch's does, and tensors pickle by value. Division: torch computes all three
from C's exact fmod (c10's div_floor_floating), so 1.0 // 0.1 is 9 and 1.0 % 0.1 is 0.09999999, not 10 and 0.
"""
import copy
import math
import pickle

import numpy as np
import pytest
import torch

import baregrad as bg
from baregrad import nn, optim
from tests.helpers import check, skip_special_values, skip_unsupported

INF, NAN = math.inf, math.nan
OPS = {"floor_divide": (lambda x, y: x // y, torch.floor_divide),
       "remainder": (lambda x, y: x % y, torch.remainder),
       "fmod": (lambda x, y: x.fmod(y), torch.fmod)}


def _assert_exact(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Bit-for-bit up to the sign of zero: these ops are exact in torch, so no tolerance hides a wrong result."""
    same = (actual == expected) | (np.isnan(actual) & np.isnan(expected))
    assert same.all(), (f"{what}: {int((~same).sum())} differ from torch, first (got, torch): "
                        f"{list(zip(actual[~same][:4], expected[~same][:4]))}")


def _compare_ops(a: np.ndarray, b: np.ndarray, device: str) -> None:
    for name, (bg_fn, torch_fn) in OPS.items():
        got = bg_fn(bg.Tensor(a, device=device), bg.Tensor(b, device=device)).numpy()
        _assert_exact(got, torch_fn(torch.from_numpy(a), torch.from_numpy(b)).numpy(), name)


# ---- copy, deepcopy, pickle ----
def test_deepcopy_tensor_is_a_leaf_with_its_own_buffer(device):
    x = bg.Tensor([1.0, -2.0, 3.5], device=device, requires_grad=True)
    (x * x).sum().backward()
    d = copy.deepcopy(x)
    assert d is not x and d.is_leaf and d.requires_grad and d.dtype == x.dtype and d.device == x.device
    np.testing.assert_array_equal(d.numpy(), x.numpy())
    np.testing.assert_array_equal(d.grad.numpy(), [2.0, -4.0, 7.0])  # torch deep-copies the grad too
    assert d.grad is not x.grad
    x.assign(x.detach() + 10).realize()
    np.testing.assert_array_equal(d.numpy(), [1.0, -2.0, 3.5])  # the copy's buffer is its own
    pair = copy.deepcopy([x, x])
    assert pair[0] is pair[1]  # the memo keeps shared tensors shared, as torch's does


def test_deepcopy_of_a_lazy_and_an_int_tensor(device):
    lazy = bg.Tensor([1.0, 2.0], device=device) * 3
    np.testing.assert_array_equal(copy.deepcopy(lazy).numpy(), [3.0, 6.0])
    ints = bg.Tensor([[1, -2], [3, 4]], dtype="int32", device=device)
    d = copy.deepcopy(ints)
    assert d.dtype == bg.int32 and not d.requires_grad and d.tolist() == [[1, -2], [3, 4]]


def test_deepcopy_of_a_non_leaf_raises_like_torch(device):
    x = bg.Tensor([1.0, 2.0], device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(torch.tensor([1.0], requires_grad=True) * 2)
    with pytest.raises(bg.ArgumentError, match=r"leaf tensors.*\(2,\)|\(2,\).*leaf tensors"):
        copy.deepcopy(x * 2)


def test_copy_copy_shares_the_buffer_like_torch(device):
    x = bg.Tensor([1.0, 2.0], device=device, requires_grad=True)
    x.sum().backward()
    c = copy.copy(x)
    assert c is not x and c.requires_grad and c.grad is None and c.is_leaf
    x.assign(x.detach() + 1).realize()
    np.testing.assert_array_equal(c.numpy(), [2.0, 3.0])  # torch: copy.copy shares storage


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool", "float16"])
def test_pickle_round_trip(device, dtype):
    skip_unsupported(device, dtype)
    x = bg.Tensor(np.arange(-3, 3).reshape(2, 3), device=device).cast(dtype)
    y = pickle.loads(pickle.dumps(x))
    assert (y.shape, y.dtype, y.device, y.requires_grad) == (x.shape, x.dtype, x.device, False)
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    w = bg.Tensor([0.5], device=device, requires_grad=True)
    assert pickle.loads(pickle.dumps(w * 2)).requires_grad  # torch pickles a non-leaf too, as a leaf
    assert pickle.loads(pickle.dumps(bg.zeros(0, 4, device=device))).shape == (0, 4)


def _model(device: str) -> nn.Module:
    bg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4, device=device), nn.BatchNorm1d(4, device=device), nn.ReLU(),
                          nn.Linear(4, 2, device=device))
    model[3].bias = nn.Parameter(model[3].bias.detach(), requires_grad=False)  # frozen, as in fine-tuning
    return model


def test_deepcopy_module_then_train_the_copy(device):
    model = _model(device)
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    twin = copy.deepcopy(model)
    assert list(twin.state_dict()) == list(model.state_dict())
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        assert p is not q and q.requires_grad == p.requires_grad, name
        np.testing.assert_array_equal(q.numpy(), p.numpy(), err_msg=name)
    opt = optim.SGD(twin.parameters(), lr=0.5)  # the frozen bias must still count as a parameter
    x = bg.Tensor(np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3), device=device)
    (twin(x) ** 2).sum().backward()
    opt.step()
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=f"original {k} changed")
    changed = [k for k, v in twin.state_dict().items() if not np.array_equal(v.numpy(), before[k])]
    assert "0.weight" in changed and "1.running_mean" in changed and "3.bias" not in changed


def test_deepcopy_state_dict(device):
    model = _model(device)
    sd = model.state_dict()
    sd_copy = copy.deepcopy(sd)
    assert list(sd_copy) == list(sd)
    for k in sd:
        assert sd_copy[k] is not sd[k]
        np.testing.assert_array_equal(sd_copy[k].numpy(), sd[k].numpy(), err_msg=k)
    model[0].weight.assign(model[0].weight.detach() * 0).realize()
    assert np.abs(sd_copy["0.weight"].numpy()).sum() > 0


def test_pickled_module_keeps_its_frozen_parameter(device):
    """A frozen Parameter (requires_grad=False) is still a Parameter after pickle, as after deepcopy: an
    optimizer given it directly accepts it, as torch's does."""
    twin = pickle.loads(pickle.dumps(_model(device)))
    assert twin[3].bias.requires_grad is False
    assert [n for n, _ in twin.named_parameters()] == [n for n, _ in _model(device).named_parameters()]
    optim.SGD([twin[3].bias, twin[0].weight], lr=0.1)  # raised "not a parameter" for the frozen bias before
    assert pickle.loads(pickle.dumps(bg.Tensor([1.0], device=device))).requires_grad is False


# ---- exact float floor_divide / remainder / fmod ----
def test_float_division_is_exact_on_finite_values(device):
    a = np.array([1.0, -1.0, 1.0, 0.3, -0.3, 7.5, -7.5, 1e30, -1e30, 5.0, 0.0, 2.0], np.float32)
    b = np.array([0.1, 0.1, -0.1, 0.1, 0.1, 2.0, 2.0, 3e-10, 3e-10, -3.0, 0.7, 2.0], np.float32)
    _compare_ops(a, b, device)
    assert (bg.Tensor([1.0], device=device) // 0.1).tolist() == [9.0]  # a Python scalar divisor too
    assert (1.0 % bg.Tensor([0.1], device=device)).tolist() == [pytest.approx(0.09999999, rel=1e-7)]


def test_float_division_with_inf_nan_and_zero(device):
    a = np.array([5.0, -5.0, 5.0, -5.0, INF, 1.0, -1.0, 0.0, NAN, 3.0, -INF], np.float32)
    b = np.array([INF, INF, -INF, -INF, 2.0, 0.0, 0.0, 0.0, 1.0, NAN, -INF], np.float32)
    skip_special_values(device, a)
    _compare_ops(a, b, device)  # torch: [5, -5] % inf is [5, inf], fmod(x, inf) is x


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_division_random_pairs_match_torch(device, dtype):
    skip_unsupported(device, dtype)
    rng = np.random.default_rng(1)
    n = 4096
    # wide magnitudes of both signs, small integers and near-integer quotients; |a / b| stays finite because
    # torch's vectorized fmod gives NaN where it overflows (its scalar path, C's fmod, does not)
    mag = 10.0 ** rng.uniform(-15, 15, (2, n)) * rng.choice([-1.0, 1.0], (2, n))
    ints = rng.integers(-20, 21, (2, n)).astype(np.float64)
    near = np.stack([ints[0] * 0.1, np.full(n, 0.1)])
    pick = rng.integers(0, 3, n)
    a, b = (np.where(pick == 0, mag[i], np.where(pick == 1, ints[i], near[i])).astype(dtype) for i in range(2))
    b = np.where(b == 0, 1.5, b).astype(dtype)
    _compare_ops(a, b, device)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_division_is_computed_in_float32(device, dtype):
    skip_unsupported(device, dtype)
    rng = np.random.default_rng(2)
    a32, b32 = rng.uniform(-100, 100, 512).astype(np.float32), rng.uniform(-3, 3, 512).astype(np.float32)
    ta, tb = torch.from_numpy(a32).to(getattr(torch, dtype)), torch.from_numpy(b32).to(getattr(torch, dtype))
    A, B = bg.Tensor(a32, device=device).cast(dtype), bg.Tensor(b32, device=device).cast(dtype)
    for name, (bg_fn, torch_fn) in OPS.items():
        # torch's scalar kernels compute in float32 and round once (its vectorized half floor_divide does not)
        expected = torch_fn(ta.float(), tb.float()).to(ta.dtype).float().numpy()
        _assert_exact(bg_fn(A, B).float().numpy(), expected, f"{name} {dtype}")


def test_remainder_and_fmod_gradients(device):
    a = np.array([1.0, -3.0, 7.5, -7.5, 5.0, 2.2], np.float32)
    b = np.array([0.1, 0.7, 2.0, 2.0, -3.0, -0.3], np.float32)
    # torch: d/da = 1; d/db = -floor_divide(a, b) for remainder, -trunc(a / b) for fmod (exact where it matters)
    check(lambda x, y: x % y, torch.remainder, [a, b], device, grad_scale=1)
    check(lambda x, y: x.fmod(y), torch.fmod, [a, b], device, grad_scale=1)
    x = bg.Tensor(a, device=device, requires_grad=True)
    assert not (x // 2.0).requires_grad and not x.div(0.3, rounding_mode="floor").requires_grad
