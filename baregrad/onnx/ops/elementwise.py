"""ONNX elementwise operators: arithmetic, comparisons, logic and bit ops, math functions, activations, casts."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import baregrad.dtype as dt
from baregrad.errors import DTypeError
from baregrad.onnx.ops.common import broadcast_all, input_at, onnx_dtype
from baregrad.onnx.ops.registry import OpContext, register
from baregrad.tensor import Tensor


def _unary(name: str, fn: Callable[[Tensor], Tensor]) -> None:
    register(name)(lambda ctx, inputs, attrs: fn(inputs[0]))


def _in_float(fn: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    """A math function computed in float32 for half types (their result rounds once, as ONNX's reference does)."""
    def run(x: Tensor) -> Tensor:
        if x.dtype in (dt.float16, dt.bfloat16):
            return fn(x.float()).cast(x.dtype)
        return fn(x)
    return run


for _name, _fn in {
    "Abs": Tensor.abs, "Neg": Tensor.neg, "Exp": Tensor.exp, "Log": Tensor.log, "Sqrt": Tensor.sqrt,
    "Reciprocal": Tensor.reciprocal, "Sin": Tensor.sin, "Cos": Tensor.cos, "Tan": Tensor.tan, "Asin": Tensor.asin,
    "Acos": Tensor.acos, "Atan": Tensor.atan, "Sinh": Tensor.sinh, "Cosh": Tensor.cosh, "Tanh": Tensor.tanh,
    "Asinh": Tensor.asinh, "Acosh": Tensor.acosh, "Atanh": Tensor.atanh, "Erf": Tensor.erf,
    "Sigmoid": Tensor.sigmoid, "Relu": Tensor.relu, "Softsign": lambda x: x / (x.abs() + 1),
    "Floor": Tensor.floor, "Ceil": Tensor.ceil, "Round": Tensor.round, "Sign": Tensor.sign,
    "Mish": lambda x: x * (x.exp().log1p()).tanh(), "Not": Tensor.logical_not, "BitwiseNot": Tensor.bitwise_not,
    "IsNaN": Tensor.isnan,
}.items():
    _unary(_name, _in_float(_fn) if _name not in ("Abs", "Neg", "Relu", "Sign", "Not", "BitwiseNot", "IsNaN",
                                                   "Floor", "Ceil", "Round") else _fn)


@register("Identity")
def identity(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Any:
    x = inputs[0]
    return (x,) if isinstance(x, list) else x


# ---- binary arithmetic (ONNX types both sides alike; numpy broadcasting) ----
@register("Add")
def add(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    return inputs[0] + inputs[1]


@register("Sub")
def sub(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    return inputs[0] - inputs[1]


@register("Mul")
def mul(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    a, b = inputs
    return (a & b) if a.dtype is dt.bool_ else a * b


@register("Div")
def div(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    a, b = inputs
    if a.dtype.is_float:
        return a / b
    return a.div(b, rounding_mode="trunc").cast(a.dtype)


@register("Mod")
def mod(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    a, b = inputs
    if attrs.get("fmod", 0):
        return a.fmod(b).cast(a.dtype)
    if not a.dtype.is_float:
        return a.remainder(b).cast(a.dtype)
    # numpy's mod: C's fmod moved into the divisor's sign (right for infinite divisors too)
    wide, wb = (a.float(), b.float()) if a.dtype in (dt.float16, dt.bfloat16) else (a, b)
    r = wide.fmod(wb)
    adjust = (r != 0) & ((r < 0) != (wb < 0))
    return adjust.where(r + wb, r).cast(a.dtype)


@register("Pow")
def power(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, y = inputs
    if x.dtype.is_float:
        wide = dt.float64 if dt.float64 in (x.dtype, y.dtype) else dt.float32
        return x.cast(wide).pow(y.cast(wide)).cast(x.dtype)
    if y.dtype.is_float:
        return x.double().pow(y.double()).cast(x.dtype)
    return x.cast(dt.int64).pow(y.cast(dt.int64)).cast(x.dtype)


def _variadic(fn: Callable[[Tensor, Tensor], Tensor]) -> Callable[[OpContext, list, dict], Tensor]:
    def run(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
        out = inputs[0]
        for x in inputs[1:]:
            out = fn(out, x)
        return out if len(inputs) > 1 else out * 1
    return run


register("Sum")(_variadic(lambda a, b: a + b))
register("Max")(_variadic(lambda a, b: _keep_nan(a, b, a.maximum(b))))
register("Min")(_variadic(lambda a, b: _keep_nan(a, b, a.minimum(b))))


def _keep_nan(a: Tensor, b: Tensor, out: Tensor) -> Tensor:
    if not a.dtype.is_float:
        return out
    return (a.isnan() | b.isnan()).where(float("nan"), out).cast(out.dtype)


@register("Mean")
def mean(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    total = inputs[0]
    for x in inputs[1:]:
        total = total + x
    return (total / len(inputs)).cast(inputs[0].dtype)


# ---- comparisons and logic ----
for _name, _fn in {"Equal": lambda a, b: a == b, "Less": lambda a, b: a < b, "Greater": lambda a, b: a > b,
                   "LessOrEqual": lambda a, b: a <= b, "GreaterOrEqual": lambda a, b: a >= b,
                   "And": Tensor.logical_and, "Or": Tensor.logical_or, "Xor": Tensor.logical_xor,
                   "BitwiseAnd": Tensor.bitwise_and, "BitwiseOr": Tensor.bitwise_or,
                   "BitwiseXor": Tensor.bitwise_xor}.items():
    register(_name)(lambda ctx, inputs, attrs, _fn=_fn: _fn(inputs[0], inputs[1]))


@register("BitShift")
def bit_shift(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, y = inputs
    if attrs["direction"] == "LEFT":
        return x.bitwise_left_shift(y).cast(x.dtype)
    return x.bitwise_right_shift(y).cast(x.dtype)


@register("Where")
def where(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    cond, x, y = inputs
    return cond.where(x, y).cast(x.dtype)


@register("IsInf")
def is_inf(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    pos, neg = attrs.get("detect_positive", 1), attrs.get("detect_negative", 1)
    if not x.dtype.is_float:
        return x.full_like(False, dt.bool_)
    out = x.full_like(False, dt.bool_)
    if pos:
        out = out | (x == float("inf"))
    if neg:
        out = out | (x == float("-inf"))
    return out


# ---- activations with attributes ----
@register("LeakyRelu")
def leaky_relu(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    return (x < 0).where(x * attrs.get("alpha", 0.01), x).cast(x.dtype)


@register("PRelu")
def prelu(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, slope = inputs
    return (x < 0).where(x * slope, x).cast(x.dtype)


@register("ThresholdedRelu")
def thresholded_relu(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    return (x > attrs.get("alpha", 1.0)).where(x, 0.0).cast(x.dtype)


@register("Elu")
def elu(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    return (x < 0).where((x.exp() - 1) * attrs.get("alpha", 1.0), x).cast(x.dtype)


@register("Celu")
def celu(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, alpha = inputs[0], attrs.get("alpha", 1.0)
    return (x.relu() + ((x / alpha).exp() - 1).clamp(None, 0.0) * alpha).cast(x.dtype)


@register("Selu")
def selu(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    alpha, gamma = attrs.get("alpha", 1.67326319217681884765625), attrs.get("gamma", 1.05070102214813232421875)
    return ((x <= 0).where((x.exp() - 1) * alpha, x) * gamma).cast(x.dtype)


@register("HardSigmoid")
def hard_sigmoid(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    return (x * attrs.get("alpha", 0.2) + attrs.get("beta", 0.5)).clamp(0.0, 1.0).cast(x.dtype)


@register("HardSwish")
def hard_swish(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    return x * (x / 6 + 0.5).clamp(0.0, 1.0)


@register("Softplus")
def softplus(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    return _in_float(lambda v: v.relu() + (-v.abs()).exp().log1p())(x)


@register("Swish")
def swish(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    return x * (x * attrs.get("alpha", 1.0)).sigmoid()


@register("Gelu")
def gelu(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    if attrs.get("approximate", "none") == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2 / math.pi)
        return (x * 0.5 * (inner.tanh() + 1)).cast(x.dtype)
    return (x * 0.5 * ((x / math.sqrt(2)).erf() + 1)).cast(x.dtype)


@register("Shrink")
def shrink(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    lambd, bias = attrs.get("lambd", 0.5), attrs.get("bias", 0.0)
    out = (x < -lambd).where(x + bias, (x > lambd).where(x - bias, 0))
    return out.cast(x.dtype)


@register("Clip")
def clip(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    lo, hi = input_at(inputs, 1), input_at(inputs, 2)
    if ctx.opset < 11:
        lo, hi = attrs.get("min"), attrs.get("max")
    out = x
    if lo is not None:
        out = (out < lo).where(lo, out).cast(x.dtype)
    if hi is not None:
        out = (out > hi).where(hi, out).cast(x.dtype)
    return out


@register("Binarizer", "ai.onnx.ml")
def binarizer(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    return (x > attrs.get("threshold", 0.0)).cast(x.dtype)


# ---- casts ----
def cast_to(x: Tensor, target: dt.DType) -> Tensor:
    """ONNX Cast: float to int truncates, to bool tests nonzero; NaN/inf to int is undefined and left to C."""
    if target is dt.bool_:
        return x != 0
    if x.dtype is dt.bfloat16 and target is not dt.float32:
        return x.float().cast(target)
    if target is dt.bfloat16 and x.dtype is not dt.float32:
        return x.float().cast(target)
    return x.cast(target)


@register("Cast")
def cast(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    return cast_to(inputs[0], onnx_dtype(attrs["to"]))


@register("CastLike")
def cast_like(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    return cast_to(inputs[0], inputs[1].dtype)


@register("BitCast")
def bit_cast(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, target = inputs[0], onnx_dtype(attrs["to"])
    if target.itemsize != x.dtype.itemsize:
        raise DTypeError(f"BitCast from {x.dtype.name} to {target.name} changes the element size")
    if x.dtype is dt.bool_ or target is dt.bool_:
        return cast_to(x.bitcast(dt.uint8), target) if target is dt.bool_ else x.cast(dt.uint8).bitcast(target)
    return x.bitcast(target)


def broadcast(*tensors: Tensor) -> list[Tensor]:
    return broadcast_all(tensors)
