"""Helpers every ONNX op module shares: ONNX's dtype codes, host-known values read from tensors, axis handling."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import baregrad.dtype as dt
from baregrad.errors import DTypeError, FormatError, ShapeError
from baregrad.tensor import Tensor

# TensorProto.DataType codes baregrad can hold
ONNX_DTYPES: dict[int, dt.DType] = {
    1: dt.float32, 2: dt.uint8, 3: dt.int8, 4: dt.uint16, 5: dt.int16, 6: dt.int32, 7: dt.int64, 9: dt.bool_,
    10: dt.float16, 11: dt.float64, 12: dt.uint32, 13: dt.uint64, 16: dt.bfloat16,
}
# the ones it cannot, and why (the reason the node-test exclusions quote)
UNSUPPORTED_DTYPES: dict[int, str] = {
    8: "string", 14: "complex64", 15: "complex128", 17: "float8e4m3fn", 18: "float8e4m3fnuz", 19: "float8e5m2",
    20: "float8e5m2fnuz", 21: "uint4", 22: "int4", 23: "float4e2m1", 24: "float8e8m0", 25: "uint2", 26: "int2",
}


def onnx_dtype(code: int) -> dt.DType:
    """The baregrad dtype of an ONNX TensorProto data type code; a clear error for the ones it lacks."""
    d = ONNX_DTYPES.get(int(code))
    if d is None:
        name = UNSUPPORTED_DTYPES.get(int(code), f"code {code}")
        raise DTypeError(f"ONNX data type {name} has no baregrad dtype")
    return d


def onnx_dtype_code(d: dt.DType) -> int:
    for code, known in ONNX_DTYPES.items():
        if known is d:
            return code
    raise DTypeError(f"baregrad dtype {d.name} has no ONNX code")


def host_ints(t: Tensor | None) -> list[int] | None:
    """A small integer tensor (shape, axes, pads, sizes) read back as Python ints: ONNX needs these on the host."""
    if t is None:
        return None
    values = t.reshape(-1).tolist()
    return [int(v) for v in values]


def host_floats(t: Tensor | None) -> list[float] | None:
    if t is None:
        return None
    return [float(v) for v in t.reshape(-1).tolist()]


def host_scalar(t: Tensor | None) -> Any:
    if t is None:
        return None
    return t.reshape(-1).tolist()[0]


def norm_axis(axis: int, ndim: int, what: str = "axis") -> int:
    if not -max(ndim, 1) <= axis < max(ndim, 1):
        raise ShapeError(f"ONNX {what} {axis} is out of range for a tensor of rank {ndim}")
    return axis % max(ndim, 1)


def norm_axes(axes: Sequence[int], ndim: int) -> list[int]:
    return [norm_axis(int(a), ndim) for a in axes]


def attr_or_input(attrs: dict[str, Any], name: str, inputs: list, index: int) -> list[int] | None:
    """A value that moved from an attribute to an input across opsets (axes, split, pads...)."""
    if index < len(inputs) and inputs[index] is not None:
        return host_ints(inputs[index])
    value = attrs.get(name)
    return None if value is None else [int(v) for v in value]


def input_at(inputs: list, index: int) -> Any:
    return inputs[index] if index < len(inputs) else None


def require(cond: bool, message: str) -> None:
    if not cond:
        raise FormatError(message)


def full(shape: Sequence[int], value: Any, d: dt.DType, device: str) -> Tensor:
    return Tensor.full(tuple(int(s) for s in shape), value, dtype=d, device=device)


def broadcast_all(tensors: Sequence[Tensor]) -> list[Tensor]:
    """numpy broadcasting of several tensors to their common shape."""
    ndim = max(t.ndim for t in tensors)
    shapes = [(1,) * (ndim - t.ndim) + tuple(t.shape) for t in tensors]
    out_shape = []
    for dims in zip(*shapes):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise ShapeError(f"shapes {[tuple(t.shape) for t in tensors]} do not broadcast")
        out_shape.append(sizes.pop() if sizes else 1)
    return [t.reshape(s).expand(tuple(out_shape)) for t, s in zip(tensors, shapes)]


HALF = (dt.float16, dt.bfloat16)


def wide(x: Tensor) -> Tensor:
    """float16/bfloat16 as float32, so a product or sum accumulates in float32 and rounds once at the end."""
    return x.float() if x.dtype in HALF else x


def matmul_rounded_once(a: Tensor, b: Tensor) -> Tensor:
    """a @ b in a's dtype, accumulated in float32 for half types (baregrad's own half matmul accumulates in half)."""
    return (wide(a) @ wide(b)).cast(a.dtype)
