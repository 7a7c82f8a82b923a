"""ONNX reductions (Reduce*, ArgMax/ArgMin), scans (CumSum/CumProd) and the softmax family."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import baregrad.dtype as dt
from baregrad.onnx.ops.common import attr_or_input, host_ints, input_at, norm_axes, norm_axis
from baregrad.onnx.ops.registry import OpContext, register
from baregrad.tensor import Tensor

# opset from which each reduction takes `axes` as an input instead of an attribute
_AXES_INPUT_FROM = {"ReduceSum": 13}


def _reduce_axes(ctx: OpContext, op: str, x: Tensor, inputs: list, attrs: dict[str, Any]) -> list[int] | None:
    """The axes to reduce, or None for "leave the tensor as it is" (noop_with_empty_axes with no axes)."""
    if ctx.opset >= _AXES_INPUT_FROM.get(op, 18):
        axes = host_ints(input_at(inputs, 1))
    else:
        axes = attr_or_input(attrs, "axes", [], 1)
    if not axes:
        if attrs.get("noop_with_empty_axes", 0):
            return None
        return list(range(x.ndim))
    return sorted(set(norm_axes(axes, x.ndim)))


def _empty_result(x: Tensor, axes: list[int], keep: bool, value: float) -> Tensor:
    shape = [1 if i in axes else d for i, d in enumerate(x.shape)] if keep else \
        [d for i, d in enumerate(x.shape) if i not in axes]
    if not x.dtype.is_float and value in (float("inf"), float("-inf")):
        lo, hi = dt.min_max_values(x.dtype)
        value = hi if value > 0 else lo
    return Tensor.full(tuple(shape), value, dtype=x.dtype, device=x.device)


def _reducer(op: str, fn: Callable[[Tensor, tuple[int, ...], bool], Tensor], empty: float) -> None:
    def run(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
        x = inputs[0]
        axes = _reduce_axes(ctx, op, x, inputs, attrs)
        if axes is None:
            return x * 1 if op not in ("ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum",
                                       "ReduceLogSumExp") else _noop_value(op, x)
        keep = bool(attrs.get("keepdims", 1))
        if any(x.shape[a] == 0 for a in axes):
            return _empty_result(x, axes, keep, empty)
        if not axes:
            return x * 1
        return fn(x, tuple(axes), keep).cast(x.dtype)
    register(op)(run)


def _noop_value(op: str, x: Tensor) -> Tensor:
    """With no axes and noop_with_empty_axes, ONNX still applies the elementwise part of the reduction."""
    return {"ReduceL1": lambda: x.abs(), "ReduceL2": lambda: (x * x).sqrt(), "ReduceSumSquare": lambda: x * x,
            "ReduceLogSum": lambda: x.log(), "ReduceLogSumExp": lambda: x}[op]().cast(x.dtype)


def _wide(x: Tensor) -> Tensor:
    return x.float() if x.dtype in (dt.float16, dt.bfloat16) else x


_reducer("ReduceSum", lambda x, a, k: _wide(x).sum(a, keepdim=k), 0.0)
_reducer("ReduceMean", lambda x, a, k: _wide(x).mean(a, keepdim=k) if x.dtype.is_float else
         x.sum(a, keepdim=k) // _count(x, a), float("nan"))
_reducer("ReduceMax", lambda x, a, k: x.amax(a, keepdim=k), float("-inf"))
_reducer("ReduceMin", lambda x, a, k: x.amin(a, keepdim=k), float("inf"))
_reducer("ReduceProd", lambda x, a, k: x.prod(a, keepdim=k), 1.0)
_reducer("ReduceL1", lambda x, a, k: x.abs().sum(a, keepdim=k), 0.0)
_reducer("ReduceL2", lambda x, a, k: (_wide(x) * _wide(x)).sum(a, keepdim=k).sqrt() if x.dtype.is_float else
         (x * x).sum(a, keepdim=k).double().sqrt(), 0.0)
_reducer("ReduceSumSquare", lambda x, a, k: (x * x).sum(a, keepdim=k), 0.0)
_reducer("ReduceLogSum", lambda x, a, k: _wide(x).sum(a, keepdim=k).log(), float("-inf"))
_reducer("ReduceLogSumExp", lambda x, a, k: _wide(x).logsumexp(a, keepdim=k), float("-inf"))


def _count(x: Tensor, axes: tuple[int, ...]) -> int:
    n = 1
    for a in axes:
        n *= x.shape[a]
    return n


def _arg(op: str, pick_max: bool) -> None:
    def run(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
        x = inputs[0]
        axis = norm_axis(attrs.get("axis", 0), x.ndim)
        keep = bool(attrs.get("keepdims", 1))
        last = attrs.get("select_last_index", 0)
        src = x.flip(axis) if last else x
        idx = src.argmax(axis, keepdim=keep) if pick_max else src.argmin(axis, keepdim=keep)
        if last:
            idx = (x.shape[axis] - 1) - idx
        return idx.cast(dt.int64)
    register(op)(run)


_arg("ArgMax", True)
_arg("ArgMin", False)


def _scan(op: str, product: bool) -> None:
    def run(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
        x = inputs[0]
        axis = norm_axis(host_ints(inputs[1])[0], x.ndim)
        exclusive, reverse = attrs.get("exclusive", 0), attrs.get("reverse", 0)
        src = x.flip(axis) if reverse else x
        if exclusive:  # shift by one along the axis, the identity entering first
            n = src.shape[axis]
            src = src.narrow(axis, 0, n - 1).pad([(1, 0) if d == axis else (0, 0) for d in range(x.ndim)],
                                                 1 if product else 0) if n else src
        out = src.cumprod(axis) if product else src.cumsum(axis)
        out = out.cast(x.dtype)
        return out.flip(axis) if reverse else out
    register(op)(run)


_scan("CumSum", False)
_scan("CumProd", True)


def _softmax(op: str, fn: Callable[[Tensor, int], Tensor]) -> None:
    def run(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
        x = inputs[0]
        if ctx.opset < 13:  # the input is seen as 2-d: [prod(shape[:axis]), prod(shape[axis:])]
            axis = norm_axis(attrs.get("axis", 1), x.ndim)
            outer = 1
            for d in x.shape[:axis]:
                outer *= d
            return fn(x.reshape(outer, -1) if x.numel() else x.reshape(outer, 0), 1).reshape(x.shape)
        return fn(x, norm_axis(attrs.get("axis", -1), x.ndim))
    register(op)(run)


def _hardmax(x: Tensor, axis: int) -> Tensor:
    idx = x.argmax(axis, keepdim=True)
    positions = Tensor.arange(x.shape[axis], device=x.device).reshape(
        [x.shape[axis] if d == axis else 1 for d in range(x.ndim)])
    return (positions == idx).cast(x.dtype)


_softmax("Softmax", lambda x, a: _wide(x).softmax(a).cast(x.dtype))
_softmax("LogSoftmax", lambda x, a: _wide(x).log_softmax(a).cast(x.dtype))
_softmax("Hardmax", _hardmax)
