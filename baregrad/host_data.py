"""Host data to and from device bytes: Python (nested) sequences flattened with their shape, the dtype torch would
infer for them, range checks for integer dtypes, packing into little-endian bytes, and nesting flat values back.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

from baregrad import dtype as dt
from baregrad.errors import DTypeError, ShapeError


def flatten_data(data: Any) -> tuple[list, tuple[int, ...]]:
    if isinstance(data, (list, tuple)):
        if len(data) == 0:
            return [], (0,)
        parts = [flatten_data(d) for d in data]
        shape = parts[0][1]
        if any(p[1] != shape for p in parts):
            raise ShapeError(f"ragged nested sequence: sub-shapes {sorted({p[1] for p in parts})}")
        return [v for p in parts for v in p[0]], (len(data), *shape)
    if hasattr(data, "shape") and hasattr(data, "reshape") and hasattr(data, "tolist"):
        return data.reshape(-1).tolist(), tuple(data.shape)  # a Tensor (or numpy array) inside a list
    if hasattr(data, "item") and not isinstance(data, (int, float, bool)):
        return [data.item()], ()
    if not isinstance(data, (int, float, bool)):
        raise DTypeError(f"cannot make a tensor from {type(data).__name__}")
    return [data], ()


def infer_dtype(values: list) -> dt.DType:
    if values and all(isinstance(v, bool) for v in values):
        return dt.bool_
    if all(isinstance(v, (int, bool)) for v in values) and values:
        return dt.default_int
    return dt.default_float


def pack_values(values: list, d: dt.DType) -> bytes:
    from baregrad.device.python import pack
    from baregrad.render.python import bf16, f16, f32, wrap
    if d.is_float:
        cast = {dt.float32: f32, dt.float16: f16, dt.bfloat16: bf16}.get(d, float)
        return pack([cast(float(v)) for v in values], d)
    if d is dt.bool_:
        return pack([bool(v) for v in values], d)
    return pack([wrap(int(v), d.bits, not d.is_unsigned) for v in values], d)


# A Python int operand must fit in 64 bits (torch converts it to int64 or uint64 and raises beyond), then wraps
I64_MIN, U64_END = -2**63, 2**64
_FIT_RANGE: dict[dt.DType, tuple[int, int]] = {}


def fit_range(d: dt.DType) -> tuple[int, int]:
    """The numbers torch converts into integer dtype d without raising: its range, and for an unsigned type the
    negatives down to -max as well (they wrap, as in C)."""
    out = _FIT_RANGE.get(d)
    if out is None:
        lo, hi = dt.min_max_values(d)
        out = _FIT_RANGE[d] = ((max(-hi, I64_MIN) if d.is_unsigned else lo), hi)
    return out


def check_fits(values: Iterable, d: dt.DType) -> None:
    """Raise where torch raises for a user value an integer dtype cannot hold (tensor data, fill values). Only
    user entry points check: internal constants (masks, ~x, 0xFFFFFFFF on int32) rely on wrapping."""
    lo, hi = fit_range(d)
    for v in values:
        if not lo <= v <= hi:  # NaN fails this too
            lo_d, hi_d = dt.min_max_values(d)
            raise DTypeError(f"value {v!r} cannot be converted to {d.name} without overflow ({d.name} holds "
                             f"{lo_d}..{hi_d})")


def numpy_dtype_name(d: dt.DType) -> str:
    return {"bool": "bool", "bfloat16": "float32"}.get(d.name, d.name)


def nest_values(values: list, shape: tuple[int, ...]) -> Any:
    if not shape:
        return values[0]
    if len(shape) == 1:
        return list(values)
    step = math.prod(shape[1:])
    return [nest_values(values[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]
