"""Data types, their byte layout, and torch-style type promotion."""
from __future__ import annotations

import enum
from dataclasses import dataclass

from baregrad.errors import DTypeError


class Kind(enum.Enum):
    BOOL = 0
    UINT = 1
    INT = 2
    FLOAT = 3


# bound once: Kind.FLOAT is a slow lookup on Python 3.11 (see ir/ops.py), and is_float is asked on every op
_INT, _UINT, _FLOAT = Kind.INT, Kind.UINT, Kind.FLOAT


@dataclass(frozen=True, eq=False)
class DType:
    """One element type. `fmt` is the struct/memoryview format char; `c_name` the C spelling."""
    name: str
    itemsize: int
    kind: Kind
    fmt: str
    c_name: str
    lanes: int = 1                 # > 1: a vector of `lanes` elements of `elem` (kernel-level only)
    elem: "DType | None" = None

    def __repr__(self) -> str:
        return f"baregrad.{self.name}"

    def __reduce__(self):
        return (from_name, (self.name,))

    @property
    def is_float(self) -> bool:
        return self.kind is _FLOAT

    @property
    def is_int(self) -> bool:
        return self.kind is _INT or self.kind is _UINT

    @property
    def is_unsigned(self) -> bool:
        return self.kind is _UINT

    @property
    def bits(self) -> int:
        return self.itemsize * 8

    @property
    def scalar(self) -> "DType":
        return self.elem if self.elem is not None else self


_VECTORS: dict[tuple[str, int], DType] = {}


def vec(d: DType, lanes: int) -> DType:
    """The vector type of `lanes` elements of d (used by codegen for explicit SIMD on the CPU)."""
    key = (d.name, lanes)
    if key not in _VECTORS:
        _VECTORS[key] = DType(f"{d.name}x{lanes}", d.itemsize * lanes, d.kind, d.fmt, f"{d.c_name}{lanes}", lanes, d)
    return _VECTORS[key]


bool_ = DType("bool", 1, Kind.BOOL, "?", "_Bool")
int8 = DType("int8", 1, Kind.INT, "b", "signed char")
int16 = DType("int16", 2, Kind.INT, "h", "short")
int32 = DType("int32", 4, Kind.INT, "i", "int")
int64 = DType("int64", 8, Kind.INT, "q", "long long")
uint8 = DType("uint8", 1, Kind.UINT, "B", "unsigned char")
uint16 = DType("uint16", 2, Kind.UINT, "H", "unsigned short")
uint32 = DType("uint32", 4, Kind.UINT, "I", "unsigned int")
uint64 = DType("uint64", 8, Kind.UINT, "Q", "unsigned long long")
float16 = DType("float16", 2, Kind.FLOAT, "e", "_Float16")
bfloat16 = DType("bfloat16", 2, Kind.FLOAT, "H", "unsigned short")
float32 = DType("float32", 4, Kind.FLOAT, "f", "float")
float64 = DType("float64", 8, Kind.FLOAT, "d", "double")

ALL: tuple[DType, ...] = (bool_, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
                          float16, bfloat16, float32, float64)
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update({"bool": bool_, "half": float16, "float": float32, "double": float64, "long": int64,
                 "int": int32, "short": int16})

default_float = float32
default_int = int64


def from_name(name: str) -> DType:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise DTypeError(f"unknown dtype {name!r}; known: {', '.join(d.name for d in ALL)}") from None


def to_dtype(x: object) -> DType:
    """Accept a DType, a name, a Python type, or a numpy/torch dtype and return our DType."""
    if isinstance(x, DType):
        return x
    if x is bool:
        return bool_
    if x is int:
        return default_int
    if x is float:
        return default_float
    name = getattr(x, "name", None) or str(x)
    return from_name(str(name).replace("torch.", "").replace("numpy.", ""))


_RANK = {bool_: 0, uint8: 1, int8: 1, int16: 2, uint16: 2, int32: 3, uint32: 3, int64: 4, uint64: 4,
         float16: 5, bfloat16: 5, float32: 6, float64: 7}


def promote(a: DType, b: DType) -> DType:
    """torch.promote_types for two dtypes."""
    if a is b:
        return a
    if a.is_float or b.is_float:
        if a.is_float and b.is_float:
            if {a, b} == {float16, bfloat16}:
                return float32
            return a if _RANK[a] >= _RANK[b] else b
        return a if a.is_float else b
    if a is bool_:
        return b
    if b is bool_:
        return a
    if a.is_unsigned != b.is_unsigned:
        signed, unsigned = (a, b) if b.is_unsigned else (b, a)
        if unsigned.itemsize < signed.itemsize:
            return signed
        return {1: int16, 2: int32, 4: int64, 8: int64}[unsigned.itemsize]
    return a if a.itemsize >= b.itemsize else b


def python_scalar_dtype(value: object, other: DType) -> DType:
    """The result dtype of `tensor op scalar` as torch computes it (a scalar does not widen a tensor)."""
    if isinstance(value, bool):
        return other
    if isinstance(value, int):
        return other if other is not bool_ else default_int
    if isinstance(value, float):
        return other if other.is_float else default_float
    raise DTypeError(f"cannot combine a tensor of {other.name} with {type(value).__name__} {value!r}")


def sum_dtype(d: DType) -> DType:
    """torch's accumulation dtype for sum/prod: bools and integers go to int64."""
    return int64 if (d is bool_ or d.is_int) else d


def accumulate_dtype(d: DType) -> DType:
    """The dtype a sum, product or matmul of `d` accumulates in: float32 for the 16-bit floats, as torch does, so
    that a long reduction rounds once at the end instead of once per element; `d` itself otherwise."""
    return float32 if d is float16 or d is bfloat16 else d


_FINITE_MAX = {float16: 65504.0, bfloat16: 3.3895313892515355e38, float32: 3.4028234663852886e38,
               float64: 1.7976931348623157e308}


def finite_max(d: DType) -> float:
    """The largest finite value of a float dtype (torch.finfo(d).max)."""
    return _FINITE_MAX[d.scalar]


def min_max_values(d: DType) -> tuple[float, float]:
    if d is bool_:
        return (0, 1)
    if d.is_int:
        if d.is_unsigned:
            return (0, 2 ** d.bits - 1)
        return (-(2 ** (d.bits - 1)), 2 ** (d.bits - 1) - 1)
    return (float("-inf"), float("inf"))
