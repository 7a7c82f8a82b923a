"""Elementwise ops against torch, forward and backward, on every device: unary math, binary arithmetic with
broadcasting (size-1 and empty dims included), Python operators (reflected and in-place), comparisons,
bitwise ops, and the edge points where a gradient rule must pick a side (ties, clamp bounds, zeros)."""
import math
import operator

import numpy as np
import pytest
import torch
from hypothesis import example, given

import baregrad as bg
from tests.helpers import away_from_zero, broadcast_shapes, check, few, rand, shapes

# name -> (baregrad fn, torch fn, (low, high) input range); one input, float32
UNARY = {
    "abs": (lambda x: x.abs(), torch.abs, (-2, 2)),
    "neg": (lambda x: -x, torch.neg, (-2, 2)),
    "exp": (lambda x: x.exp(), torch.exp, (-3, 3)),
    "exp2": (lambda x: x.exp2(), torch.exp2, (-3, 3)),
    "log": (lambda x: x.log(), torch.log, (0.1, 4)),
    "log2": (lambda x: x.log2(), torch.log2, (0.1, 4)),
    "sqrt": (lambda x: x.sqrt(), torch.sqrt, (0.1, 4)),
    "rsqrt": (lambda x: x.rsqrt(), torch.rsqrt, (0.2, 4)),
    "sin": (lambda x: x.sin(), torch.sin, (-4, 4)),
    "cos": (lambda x: x.cos(), torch.cos, (-4, 4)),
    "tan": (lambda x: x.tan(), torch.tan, (-1.2, 1.2)),
    "tanh": (lambda x: x.tanh(), torch.tanh, (-3, 3)),
    "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid, (-4, 4)),
    "relu": (lambda x: x.relu(), torch.relu, (-2, 2)),
    "gelu": (lambda x: x.gelu(), torch.nn.functional.gelu, (-3, 3)),
    "gelu_tanh": (lambda x: x.gelu("tanh"), lambda x: torch.nn.functional.gelu(x, approximate="tanh"), (-3, 3)),
    "silu": (lambda x: x.silu(), torch.nn.functional.silu, (-4, 4)),
    "softplus": (lambda x: x.softplus(), torch.nn.functional.softplus, (-4, 4)),
    "softplus_beta": (lambda x: x.softplus(2.0, 3.0), lambda x: torch.nn.functional.softplus(x, 2.0, 3.0), (-3, 3)),
    "clamp": (lambda x: x.clamp(-0.5, 0.7), lambda x: x.clamp(-0.5, 0.7), (-2, 2)),
    "clamp_min": (lambda x: x.clamp(min=0.1), lambda x: x.clamp(min=0.1), (-2, 2)),
    "clamp_max": (lambda x: x.clamp(max=0.1), lambda x: x.clamp(max=0.1), (-2, 2)),
    "reciprocal": (lambda x: x.reciprocal(), torch.reciprocal, None),
    "sign": (lambda x: x.sign(), torch.sign, (-2, 2)),
    "floor": (lambda x: x.floor(), torch.floor, (-4, 4)),
    "ceil": (lambda x: x.ceil(), torch.ceil, (-4, 4)),
    "round": (lambda x: x.round(), torch.round, (-4, 4)),
    "trunc": (lambda x: x.trunc(), torch.trunc, (-4, 4)),
    "square": (lambda x: x.square(), torch.square, (-2, 2)),
    "pow_scalar": (lambda x: x ** 3, lambda x: x ** 3, (-2, 2)),
    "pow_frac": (lambda x: x ** 1.7, lambda x: x ** 1.7, (0.1, 3)),
    "rpow": (lambda x: 2.5 ** x, lambda x: 2.5 ** x, (-2, 2)),
}


def _input(name, shape):
    domain = UNARY[name][2]
    return away_from_zero(shape) if domain is None else rand(shape, *domain)


@pytest.mark.parametrize("name", list(UNARY))
@given(shape=shapes())
@example(shape=(2, 0, 3))
@few(3)
def test_unary(device, name, shape):
    bg_fn, torch_fn, _ = UNARY[name]
    check(bg_fn, torch_fn, [_input(name, shape)], device, scale=4)


def test_round_half_to_even(device):
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49999997, -3.7, 1e7 + 0.5], dtype=np.float32)
    check(lambda t: t.round(), torch.round, [x], device)


def test_abs_sign_relu_at_zero(device):
    """torch's gradient of abs and relu at exactly 0 is 0."""
    x = np.array([0.0, -0.0, 1.5, -1.5], dtype=np.float32)
    check(lambda t: t.abs(), torch.abs, [x], device)
    check(lambda t: t.relu(), torch.relu, [x], device)
    check(lambda t: t.sign(), torch.sign, [x], device)


def test_clamp_at_bounds(device):
    """torch passes the gradient where min <= x <= max, bounds included."""
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0], dtype=np.float32)
    check(lambda t: t.clamp(-0.5, 1.0), lambda t: t.clamp(-0.5, 1.0), [x], device)


def test_maximum_minimum_ties(device):
    """A tie splits the gradient in half between both inputs, as in torch."""
    a = np.array([1.0, 2.0, 3.0, -1.0], dtype=np.float32)
    b = np.array([1.0, 1.0, 4.0, -1.0], dtype=np.float32)
    check(lambda x, y: x.maximum(y), torch.maximum, [a, b], device)
    check(lambda x, y: x.minimum(y), torch.minimum, [a, b], device)


def test_isnan_isinf(device):
    x = np.array([[0.0, np.nan, np.inf], [-np.inf, 1.5, -0.0]], dtype=np.float32)
    check(lambda t: t.isnan(), torch.isnan, [x], device, grad=False)
    check(lambda t: t.isinf(), torch.isinf, [x], device, grad=False)
    check(lambda t: t.isfinite(), torch.isfinite, [x], device, grad=False)
    i = np.array([1, -2, 3], dtype=np.int32)
    check(lambda t: t.isnan(), torch.isnan, [i], device)
    check(lambda t: t.isinf(), torch.isinf, [i], device)


def test_nan_propagates(device):
    x = np.array([np.nan, 1.0, -np.inf, np.inf], dtype=np.float32)
    for name in ("exp", "sqrt", "relu", "sigmoid", "tanh", "clamp", "floor", "abs"):
        check(UNARY[name][0], UNARY[name][1], [x], device, grad=False)


BINARY = {
    "add": (operator.add, (-2, 2), (-2, 2)),
    "sub": (operator.sub, (-2, 2), (-2, 2)),
    "mul": (operator.mul, (-2, 2), (-2, 2)),
    "truediv": (operator.truediv, (-2, 2), None),
    "pow": (operator.pow, (0.2, 3), (-2, 2)),
    "maximum": ("maximum", (-2, 2), (-2, 2)),
    "minimum": ("minimum", (-2, 2), (-2, 2)),
}


def _binary_fn(op):
    return (lambda x, y: getattr(x, op)(y)) if isinstance(op, str) else op


@pytest.mark.parametrize("name", list(BINARY))
@given(pair=broadcast_shapes())
@example(pair=((3, 1), (1, 4)))
@example(pair=((2, 0, 3), (1, 3)))
@few(3)
def test_binary_broadcast(device, name, pair):
    op, da, db = BINARY[name]
    a = rand(pair[0], *da, seed=1)
    b = rand(pair[1], *db, seed=2) if db else away_from_zero(pair[1], seed=2)
    fn = _binary_fn(op)
    check(fn, fn, [a, b], device, scale=4)


@given(shapes3=broadcast_shapes(3))
@example(shapes3=((2, 1), (1, 3), (2, 3)))
@few(3)
def test_where_broadcast(device, shapes3):
    cond = rand(shapes3[0], seed=3) > 0
    a, b = rand(shapes3[1], seed=4), rand(shapes3[2], seed=5)
    check(lambda c, x, y: bg.where(c, x, y), torch.where, [cond, a, b], device)
    check(lambda c, x: c.where(x, 0.5), lambda c, x: torch.where(c, x, 0.5), [cond, a], device)
    check(lambda c, y: c.where(1.5, y), lambda c, y: torch.where(c, 1.5, y), [cond, b], device)


@given(shapes3=broadcast_shapes(3))
@example(shapes3=((3, 1), (1, 4), (4,)))
@few(3)
def test_lerp(device, shapes3):
    a, b, w = (rand(s, seed=i) for i, s in enumerate(shapes3))
    check(lambda x, y: x.lerp(y, 0.3), lambda x, y: torch.lerp(x, y, 0.3), [a, b], device)
    check(lambda x, y, z: x.lerp(y, z), torch.lerp, [a, b, w], device, scale=4)


SCALAR_OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
              "pow": operator.pow}


@pytest.mark.parametrize("name", list(SCALAR_OPS))
@pytest.mark.parametrize("scalar", [1.5, -3])
def test_scalar_and_reflected(device, name, scalar):
    """tensor op scalar and scalar op tensor (the reflected dunder)."""
    op = SCALAR_OPS[name]
    low = 0.3 if name in ("pow", "truediv") else -2
    x = rand((3, 4), low, 2)
    check(lambda t: op(t, scalar), lambda t: op(t, scalar), [x], device, scale=4)
    if name != "pow" or scalar > 0:
        check(lambda t: op(scalar, t), lambda t: op(scalar, t), [x], device, scale=4)


INPLACE = {"iadd": operator.iadd, "isub": operator.isub, "imul": operator.imul, "itruediv": operator.itruediv,
           "ipow": operator.ipow}


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_float(device, name):
    """x += y on a non-leaf keeps the graph: gradients flow to both original inputs."""
    op = INPLACE[name]
    a, b = rand((2, 3), 0.5, 2, seed=1), rand((3,), 0.5, 2, seed=2)

    def fn(x, y):
        z = x * 1
        z = op(z, y) + 0  # a fresh tensor: torch's pow saves its output for the backward
        return op(z, 2.0)
    check(fn, fn, [a, b], device, scale=4)


INT_OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "floordiv": operator.floordiv,
           "mod": operator.mod, "truediv": operator.truediv, "and": operator.and_, "or": operator.or_,
           "xor": operator.xor}


@pytest.mark.parametrize("name", list(INT_OPS))
@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_int_binary(device, name, dtype):
    """Integer arithmetic and bitwise ops with negative operands: floor division and modulo as torch."""
    op = INT_OPS[name]
    a = rand((4, 5), -20, 20, dtype, seed=1)
    b = rand((5,), 1, 7, dtype, seed=2) * np.where(rand((5,), 0, 1, seed=3) < 0.5, -1, 1).astype(dtype)
    check(op, op, [a, b], device)
    check(lambda x: op(x, 3), lambda x: op(x, 3), [a], device)
    check(lambda x: op(x, -3), lambda x: op(x, -3), [a], device)
    check(lambda y: op(7, y), lambda y: op(7, y), [b], device)


def test_float_floordiv_mod(device):
    a = rand((3, 4), -5, 5, seed=1)
    b = away_from_zero((4,), 0.5, 3, seed=2)
    check(lambda x, y: x // y, lambda x, y: x // y, [a, b], device, grad=False)
    check(lambda x, y: x % y, lambda x, y: x % y, [a, b], device, grad=False)
    check(lambda x: x % 1.5, lambda x: x % 1.5, [a], device)
    check(lambda x: 2.5 % x, lambda x: 2.5 % x, [b], device, grad=False)
    check(lambda x: x.fmod(1.5), lambda x: x.fmod(1.5), [a], device, grad=False)


def test_int_pow(device):
    a = rand((6,), -3, 4, "int64")
    check(lambda x: x ** 3, lambda x: x ** 3, [a], device)
    check(lambda x: x ** 0, lambda x: x ** 0, [a], device)
    e = np.array([0, 1, 2, 3, 4, 5], dtype=np.int64)
    check(lambda x, y: x ** y, lambda x, y: x ** y, [a, e], device)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "int64", "bool"])
def test_bitwise(device, dtype):
    a = rand((3, 4), 0 if dtype in ("uint8", "bool") else -100, 2 if dtype == "bool" else 100, dtype, seed=1)
    b = rand((4,), 0 if dtype in ("uint8", "bool") else -100, 2 if dtype == "bool" else 100, dtype, seed=2)
    for op in (operator.and_, operator.or_, operator.xor):
        check(op, op, [a, b], device)
        scalar = True if dtype == "bool" else 5
        check(lambda x: op(x, scalar), lambda x: op(x, scalar), [a], device)
        check(lambda x: op(scalar, x), lambda x: op(scalar, x), [a], device)
    check(operator.invert, operator.invert, [a], device)
    check(lambda x: x.logical_not(), torch.logical_not, [a], device)


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8"])
def test_shifts(device, dtype):
    a = rand((2, 3), 0, 60, dtype, seed=1)
    s = rand((3,), 0, 3, dtype, seed=2)
    for op in (operator.lshift, operator.rshift):
        check(op, op, [a, s], device)
        check(lambda x: op(x, 2), lambda x: op(x, 2), [a], device)


INT_INPLACE = {"iadd": operator.iadd, "isub": operator.isub, "imul": operator.imul, "ifloordiv": operator.ifloordiv,
               "imod": operator.imod, "iand": operator.iand, "ior": operator.ior, "ixor": operator.ixor,
               "ilshift": operator.ilshift, "irshift": operator.irshift}


@pytest.mark.parametrize("name", list(INT_INPLACE))
def test_inplace_int(device, name):
    op = INT_INPLACE[name]
    a = rand((2, 3), -20, 20, "int32", seed=1)
    b = rand((3,), 1, 4, "int32", seed=2)

    def fn(x, y):
        x = x.clone()
        x = op(x, y)
        return op(x, 2)
    check(fn, fn, [a, b], device)


def test_inplace_keeps_dtype(device):
    """x += float on an int tensor is an error in torch; x *= 2 on int stays int; float x += int tensor stays float."""
    x = bg.Tensor([1, 2, 3], dtype=bg.int32, device=device)
    x *= 2
    assert x.dtype is bg.int32 and x.tolist() == [2, 4, 6]
    y = bg.Tensor([1.5, 2.5], device=device)
    y += bg.Tensor([1, 2], device=device)
    assert y.dtype is bg.float32 and y.tolist() == [2.5, 4.5]


def test_inplace_on_leaf_requiring_grad_raises(device):
    x = bg.Tensor([1.0, 2.0], device=device, requires_grad=True)
    with pytest.raises(bg.Error):
        x += 1


CMP = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge, "eq": operator.eq,
       "ne": operator.ne}


@pytest.mark.parametrize("name", list(CMP))
@given(pair=broadcast_shapes())
@example(pair=((2, 0), (1,)))
@few(2)
def test_compare(device, name, pair):
    op = CMP[name]
    a, b = np.asarray(np.round(rand(pair[0], seed=1))), np.asarray(np.round(rand(pair[1], seed=2)))  # ties
    check(op, op, [a, b], device)
    check(lambda x: op(x, 1.0), lambda x: op(x, 1.0), [a], device)
    check(lambda x: op(1.0, x), lambda x: op(1.0, x), [a], device)


@pytest.mark.parametrize("name", list(CMP))
def test_compare_nan_and_mixed_dtypes(device, name):
    op = CMP[name]
    a = np.array([np.nan, 1.0, 2.0, -np.inf, np.inf, 0.0], dtype=np.float32)
    b = np.array([1.0, np.nan, 2.0, -np.inf, 3.0, -0.0], dtype=np.float32)
    check(op, op, [a, b], device)
    check(lambda x: op(x, math.nan), lambda x: op(x, math.nan), [a], device)
    i = np.array([1, 2, 3, -1, 0, 5], dtype=np.int32)
    check(op, op, [a, i], device)
    check(lambda x: op(x, 2.5), lambda x: op(x, 2.5), [i], device)
