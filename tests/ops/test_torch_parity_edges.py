"""Edge cases where baregrad once disagreed with torch: integer types' minimum value under min/argmin, the max
of negative integers, dtype limits in nan_to_num, half-precision tensors times a Python number, NaN clamp bounds,
sign(NaN), and the gradients torch defines at awkward points (saturated sigmoid, log1p/expm1 at 0, x**0 at 0, std
and norm of a constant, the bounds of hardtanh and friends, xlogy at x = 0), reductions over an empty dim list, and
any/all of uint8."""
import math

import numpy as np
import pytest
import torch

import baregrad as bg
from tests.helpers import check, compare, skip_special_values, skip_unsupported


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64"])
def test_signed_int_minimum_value(device, dtype):
    """-x overflows at a signed type's minimum, so min/argmin must not be computed as -max(-x)."""
    skip_unsupported(device, dtype)
    if device == "WEBGPU" and dtype == "int64":
        pytest.skip("WEBGPU computes int64 in 32 bits (documented in baregrad/device/webgpu.py)")
    lo = np.iinfo(dtype).min
    x = np.array([[5, lo, 3, lo, 7], [2, -1, 0, 1, lo]], dtype=dtype)
    y = np.array([[lo, 5, lo, 0, -3], [lo, lo, 1, 1, 2]], dtype=dtype)
    check(lambda a: a.amin(1), lambda a: a.amin(1), [x], device)
    check(lambda a: a.min(), lambda a: a.min(), [x], device)
    check(lambda a: a.argmin(1), lambda a: a.argmin(1), [x], device)
    check(lambda a: a.min(1).values, lambda a: a.min(1).values, [x], device)
    check(lambda a: a.cummin(1).indices, lambda a: a.cummin(1).indices, [x], device)
    check(lambda a, b: a.minimum(b), torch.minimum, [x, y], device)


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_max_and_min_of_negative_integers(device, dtype):
    """The reduction identities are the type's extremes; WEBGPU computes int64 in 32 bits, where -2**63 wrapped
    to 0 made the max of negative numbers 0 (and amin of small non-negative int64, through ~x, -1)."""
    skip_unsupported(device, dtype)
    x = np.array([[-5, -3, -7], [-1, -9, -2]], dtype=dtype)
    check(lambda a: a.amax(1), lambda a: a.amax(1), [x], device)
    check(lambda a: a.max(), lambda a: a.max(), [x], device)
    check(lambda a: a.argmax(1), lambda a: a.argmax(1), [x], device)
    check(lambda a: a.amin(), lambda a: a.amin(), [-x], device)


@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_nan_to_num_uses_the_dtype_limits(device, dtype):
    x = np.array([np.inf, -np.inf, np.nan, 1.5], dtype=dtype)
    check(lambda t: t.nan_to_num(), torch.nan_to_num, [x], device, dtype=dtype)


def test_nan_to_num_bfloat16(device):
    skip_unsupported(device, "bfloat16")
    x = np.array([np.inf, -np.inf, np.nan, 1.5], dtype=np.float32)
    check(lambda t: t.bfloat16().nan_to_num().float(), lambda t: t.bfloat16().nan_to_num().float(), [x], device,
          grad=False)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_times_python_number(device, dtype):
    """torch multiplies and divides a half tensor by a number in float32 and rounds once: 0.5 * 70000 is 35000 in
    float16, not 0.5 * inf; and 0.3 * 1.01 is not 0.3 * bfloat16(1.01). (Products stay finite in float16.)"""
    skip_unsupported(device, dtype)
    x = np.array([0.1, 0.5, -0.9, 0.3, 0.75, -0.0625], dtype=np.float32)
    t = torch.from_numpy(x).to(getattr(torch, dtype))
    b = bg.Tensor(x, device=device).cast(dtype)
    for number in (70000.0, 1.01, 0.1, 70001):
        compare((b * number).float().numpy(), (t * number).float().numpy(), "exact", what=f"x * {number}")
        compare((number * b).float().numpy(), (number * t).float().numpy(), "exact", what=f"{number} * x")
        compare((b / number).float().numpy(), (t / number).float().numpy(), "exact", what=f"x / {number}")


def test_clamp_nan_bound_gives_nan(device):
    x = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    skip_special_values(device, np.array([math.nan]))
    check(lambda t: t.clamp(min=math.nan), lambda t: t.clamp(min=math.nan), [x], device, grad=False)
    check(lambda t: t.clamp(max=math.nan), lambda t: t.clamp(max=math.nan), [x], device, grad=False)
    lo = np.array([0.0, np.nan, -3.0], dtype=np.float32)
    check(lambda t, m: t.clamp(min=m), lambda t, m: t.clamp(min=m), [x, lo], device, grad=False)


def test_sign_of_nan_is_zero(device):
    x = np.array([np.nan, -np.inf, -2.0, 0.0, 3.0], dtype=np.float32)
    check(lambda t: t.sign(), torch.sign, [x], device)


def test_sigmoid_silu_gradient_when_exp_overflows(device):
    """exp(-x) is inf below x = -88: the gradient is 0 there, not 0 * inf = NaN."""
    x = np.array([-100.0, -90.0, -30.0, 0.0, 30.0, 100.0], dtype=np.float32)
    check(lambda t: t.sigmoid(), torch.sigmoid, [x], device)
    check(lambda t: t.silu(), torch.nn.functional.silu, [x], device)


def test_log1p_expm1_gradient_near_zero(device):
    x = np.array([0.0, -0.0, 1e-9, -1e-9, 0.5, -0.5, 3.0], dtype=np.float32)
    check(lambda t: t.log1p(), torch.log1p, [x], device)
    check(lambda t: t.expm1(), torch.expm1, [x], device)


def test_log1p_expm1_at_infinity(device):
    x = np.array([np.inf, 1.0], dtype=np.float32)
    check(lambda t: t.log1p(), torch.log1p, [x], device, grad=False)
    check(lambda t: t.expm1(), torch.expm1, [x], device, grad=False)


def test_pow_gradient_with_zero_exponent(device):
    """torch: d/dx x**0 is 0 even at x = 0 (not 0 * 0**-1 = NaN); d/dy 0**y is 0 for y >= 0."""
    x = np.array([0.0, -0.0, 2.0, -2.0], dtype=np.float32)
    check(lambda t: t ** 0, lambda t: t ** 0, [x], device)
    base = np.array([0.0, 0.0, 2.0, 3.0, 0.0], dtype=np.float32)
    exponent = np.array([0.0, 2.0, 0.0, 1.5, 3.0], dtype=np.float32)  # gradients stay finite (WEBGPU)
    check(lambda a, b: a ** b, lambda a, b: a ** b, [base, exponent], device)


def test_std_and_norm_gradient_at_zero(device):
    """torch's gradient of std of a constant row and of the 2-norm of a zero vector is 0, not NaN."""
    x = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]], dtype=np.float32)
    check(lambda t: t.std(1), lambda t: t.std(1), [x], device)
    z = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, 4.0]], dtype=np.float32)
    check(lambda t: t.norm(dim=1), lambda t: t.norm(dim=1), [z], device)
    check(lambda t: bg.linalg.vector_norm(t, dim=1), lambda t: torch.linalg.vector_norm(t, dim=1), [z], device)


def test_hardtanh_family_gradient_at_bounds(device):
    """Unlike clamp, torch's hardtanh, relu6, hardsigmoid and hardswish have gradient 0 at their kinks."""
    f = torch.nn.functional
    x = np.array([-3.0, -1.0, 0.0, 1.0, 3.0, 6.0, -4.0, 0.5, 7.0], dtype=np.float32)
    check(lambda t: t.hardtanh(), f.hardtanh, [x], device)
    check(lambda t: t.relu6(), f.relu6, [x], device)
    check(lambda t: t.hardsigmoid(), f.hardsigmoid, [x], device)
    check(lambda t: t.hardswish(), f.hardswish, [x], device)


def test_xlogy_gradient_at_x_zero(device):
    """torch's gradient for x is log(y), but 0 where x == 0 and y <= 0 (not -inf)."""
    x = np.array([0.0, 0.0, 1.0, 2.0], dtype=np.float32)
    y = np.array([0.0, 2.0, 3.0, 0.5], dtype=np.float32)
    check(lambda a, b: a.xlogy(b), torch.xlogy, [x, y], device)


def test_bool_power_is_int64(device):
    x = np.array([True, False, True])
    assert (bg.Tensor(x, device=device) ** 2).dtype is bg.int64  # check compares values, not integer dtypes
    check(lambda t: t ** 2, lambda t: t ** 2, [x], device)
    check(lambda t: t ** 1, lambda t: t ** 1, [x], device)


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "nansum", "var", "std", "norm"])
def test_empty_dim_list_reduces_every_dim(device, name):
    """torch's sum/mean/amax/var/norm read dim=() (or []) as 'every dim', not as 'none'."""
    x = np.random.default_rng(5).standard_normal((3, 4)).astype(np.float32)
    grad = name not in ("var", "std")  # torch 2.13's var/std backward over dim=() divides by 0 (infs); ours is finite
    check(lambda a: getattr(a, name)(dim=()), lambda a: getattr(a, name)(dim=()), [x], device, grad=grad)
    check(lambda a: getattr(a, name)(dim=[]), lambda a: getattr(a, name)(dim=[]), [x], device, grad=grad)
    if not grad:  # the gradient still equals the one over every dim named
        every = tuple(range(x.ndim))
        check(lambda a: getattr(a, name)(dim=()), lambda a: getattr(a, name)(dim=every), [x], device)


@pytest.mark.parametrize("dtype", ["uint8", "bool", "float32"])
@pytest.mark.parametrize("dim", [None, 1, ()])
def test_any_all_dtype_and_empty_dim_list(device, dtype, dim):
    """any/all keep uint8 for uint8 input (bool otherwise), and reduce nothing over dim=(), as torch's do."""
    skip_unsupported(device, dtype)
    x = np.array([[1, 0, 2], [3, 3, 3]]).astype(dtype)
    call = {} if dim is None else {"dim": dim}
    for name in ("any", "all"):
        ours = getattr(bg.Tensor(x, device=device), name)(**call)
        theirs = getattr(torch.tensor(x), name)(**call)
        assert ours.dtype.name == str(theirs.dtype).removeprefix("torch."), (name, ours.dtype, theirs.dtype)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
