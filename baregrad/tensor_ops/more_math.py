"""More elementwise and small linear-algebra math with torch's names: addcmul/addcdiv, mv, vdot, dist, renorm,
fmax/fmin, logcumsumexp, gcd/lcm, ldexp, range-checked bit shifts, isposinf/isneginf/isreal and nextafter.

All are compositions of existing Tensor ops (lazy, fused, differentiable where torch's are). gcd runs Euclid's
algorithm unrolled to its worst-case step count for the dtype, so it needs no data-dependent loop.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from baregrad import dtype as dt
from baregrad.errors import ArgumentError, DTypeError, ShapeError
from baregrad.tensor_ops.linalg import vector_norm

if TYPE_CHECKING:
    from baregrad.tensor import Tensor

_BITS_OF = {dt.float16: dt.int16, dt.bfloat16: dt.int16, dt.float32: dt.int32, dt.float64: dt.int64}


def _result_dtype(*values: Any) -> dt.DType:
    d = None
    for v in values:
        if hasattr(v, "dtype"):
            d = v.dtype if d is None else dt.promote(d, v.dtype)
    return d


def _integers(a: "Tensor", b: Any, op: str) -> tuple["Tensor", "Tensor"]:
    x, y = a._coerce(b)
    if x.dtype.is_float or x.dtype is dt.bool_:
        raise DTypeError(f"{op} needs integer tensors, got {x.dtype.name} (shapes {a.shape} and "
                         f"{getattr(b, 'shape', ())})")
    return x, y


def _euclid_steps(d: dt.DType) -> int:
    """Euclid's worst case is consecutive Fibonacci numbers: about bits / log2(golden ratio) steps."""
    return math.ceil(d.bits / math.log2((1 + math.sqrt(5)) / 2)) + 2


def _gcd(a: "Tensor", b: "Tensor") -> "Tensor":
    a, b = a.abs(), b.abs()
    for _ in range(_euclid_steps(a.dtype)):
        nonzero = b != 0
        r = a.fmod(nonzero.where(b, 1))  # the divisor is never 0, even where the result is not used
        a, b = nonzero.where(b, a), nonzero.where(r, 0)
    return a


def _shift_amount_ok(b: Any, bits: int) -> Any:
    """Where torch shifts normally: 0 <= b < bits (it gives 0, or the sign, for the others)."""
    return (b >= 0) & (b < bits)


class MoreMathOps:
    """Elementwise math and small products; `self` is a Tensor."""
    __slots__ = ()

    # ---- fused multiply-add style ----
    def addcmul(self: "Tensor", tensor1: "Tensor", tensor2: "Tensor", *, value: Any = 1) -> "Tensor":
        """self + value * tensor1 * tensor2 (for integer tensors torch truncates a float value to an int)."""
        if not _result_dtype(self, tensor1, tensor2).is_float and isinstance(value, float):
            value = int(value)
        prod = tensor1 * tensor2
        return self + (prod if value == 1 else prod * value)

    def addcdiv(self: "Tensor", tensor1: "Tensor", tensor2: "Tensor", *, value: Any = 1) -> "Tensor":
        """self + value * tensor1 / tensor2."""
        if not tensor1.dtype.is_float and not tensor2.dtype.is_float:
            raise DTypeError(f"addcdiv: integer division is not supported (tensor1 {tensor1.dtype.name}"
                             f"{tensor1.shape}, tensor2 {tensor2.dtype.name}{tensor2.shape}); use addcmul or "
                             "floating point tensors")
        quotient = tensor1 / tensor2
        return self + (quotient if value == 1 else quotient * value)

    def mv(self: "Tensor", vec: "Tensor") -> "Tensor":
        if self.ndim != 2 or vec.ndim != 1 or self.shape[1] != vec.shape[0]:
            raise ShapeError(f"mv needs a matrix (n, m) and a vector (m,), got {self.shape} and {vec.shape}")
        return self.matmul(vec)

    def vdot(self: "Tensor", other: "Tensor") -> "Tensor":
        """The dot product of two 1-d tensors (conjugating the first is a no-op for real tensors)."""
        if self.ndim != 1 or other.ndim != 1 or self.shape != other.shape:
            raise ShapeError(f"vdot needs two 1-d tensors of the same size, got {self.shape} and {other.shape}")
        if self.dtype is not other.dtype:
            raise DTypeError(f"vdot needs both vectors to have the same dtype, got {self.dtype.name} and "
                             f"{other.dtype.name}")
        return self.matmul(other)

    # ---- norms ----
    def dist(self: "Tensor", other: "Tensor", p: float = 2) -> "Tensor":
        """The p-norm of self - other (broadcast)."""
        a, b = self._coerce(other)
        if not a.dtype.is_float:
            raise DTypeError(f"dist needs floating point tensors, got {a.dtype.name} for shapes {self.shape} and "
                             f"{getattr(other, 'shape', ())}")
        return vector_norm(a - b, p)

    def renorm(self: "Tensor", p: float, dim: int, maxnorm: float) -> "Tensor":
        """Each slice along `dim` whose p-norm exceeds maxnorm scaled down to norm maxnorm (torch adds 1e-7)."""
        if self.ndim < 2:
            raise ShapeError(f"renorm needs at least 2 dimensions, got shape {self.shape}")
        if not self.dtype.is_float:
            raise DTypeError(f"renorm needs a floating point tensor, got {self.dtype.name}{self.shape}")
        if p <= 0:
            raise ArgumentError(f"renorm: non-positive norm p={p} is not supported (input shape {self.shape})")
        if maxnorm < 0:
            raise ArgumentError(f"renorm: maxnorm must be >= 0, got {maxnorm} (input shape {self.shape})")
        axis = self._axis(dim)
        norm = vector_norm(self, p, tuple(d for d in range(self.ndim) if d != axis), keepdim=True)
        return self * (norm > maxnorm).where(maxnorm / (norm + 1e-7), 1.0).cast(self.dtype)

    # ---- NaN-ignoring extremes ----
    def fmax(self: "Tensor", other: Any) -> "Tensor":
        """maximum that ignores a NaN operand (NaN only where both are); a tie sends the gradient to self."""
        a, b = self._coerce(other)
        if not a.dtype.is_float:
            return a.maximum(b)
        return ((a >= b) | b.isnan()).where(a, b)

    def fmin(self: "Tensor", other: Any) -> "Tensor":
        a, b = self._coerce(other)
        if not a.dtype.is_float:
            return a.minimum(b)
        return ((a <= b) | b.isnan()).where(a, b)

    # ---- cumulative ----
    def logcumsumexp(self: "Tensor", dim: int) -> "Tensor":
        """log(cumsum(exp(x))) along dim without overflow: a logsumexp over each masked prefix (O(n^2), like
        cumsum here), so a small early element is not lost to the exp of a later large one."""
        from baregrad.tensor import Tensor
        if not self.dtype.is_float:
            raise DTypeError(f"logcumsumexp needs a floating point tensor, got {self.dtype.name}{self.shape}")
        if self.ndim == 0:
            return self * 1
        axis = self._axis(dim)
        x = self.movedim(axis, -1)
        n = x.shape[-1]
        if n == 0:
            return self * 1
        pos = Tensor.arange(n, dtype=dt.int32, device=self.device)
        keep = pos.unsqueeze(0) <= pos.unsqueeze(1)                     # [i, j]: j <= i
        rows = keep.where(x.unsqueeze(-2), -math.inf).cast(x.dtype)     # (..., i, j)
        return rows.logsumexp(-1).movedim(-1, axis)

    # ---- integer math ----
    def gcd(self: "Tensor", other: Any) -> "Tensor":
        """Greatest common divisor, non-negative; gcd(0, 0) = 0."""
        return _gcd(*_integers(self, other, "gcd"))

    def lcm(self: "Tensor", other: Any) -> "Tensor":
        a, b = _integers(self, other, "lcm")
        g = _gcd(a, b)
        zero = g == 0
        return zero.where(0, a.div(zero.where(1, g), rounding_mode="trunc") * b).abs()

    def ldexp(self: "Tensor", other: Any) -> "Tensor":
        """self * 2**other, as torch: 2.0 ** other in floating point (so 2**200 overflows float32 to inf)."""
        from baregrad.tensor import Tensor
        e = other if isinstance(other, Tensor) else Tensor.full((), other, device=self.device)
        return self * e.pow(2.0, reverse=True)

    def bitwise_left_shift(self: "Tensor", other: Any) -> "Tensor":
        """self << other, with torch's rule for shift counts outside [0, bits): the result is 0 (C leaves it
        undefined, and devices disagree)."""
        a, b = _integers(self, other, "bitwise_left_shift")
        bits = a.dtype.bits
        if isinstance(other, int):  # a count known here needs no per-element test
            return a << b if 0 <= other < bits else a.zeros_like()
        ok = _shift_amount_ok(b, bits)
        return ok.where(a << ok.where(b, 0), 0).cast(a.dtype)

    def bitwise_right_shift(self: "Tensor", other: Any) -> "Tensor":
        """self >> other (arithmetic for signed types); a count outside [0, bits) leaves only the sign: 0 or -1."""
        a, b = _integers(self, other, "bitwise_right_shift")
        bits = a.dtype.bits
        sign = (a < 0).where(-1, 0).cast(a.dtype) if not a.dtype.is_unsigned else a.zeros_like()
        if isinstance(other, int):
            return a >> b if 0 <= other < bits else sign
        ok = _shift_amount_ok(b, bits)
        return ok.where(a >> ok.where(b, 0), sign).cast(a.dtype)

    # ---- classification ----
    def isposinf(self: "Tensor") -> "Tensor":
        return self == math.inf if self.dtype.is_float else self.full_like(False, dt.bool_)

    def isneginf(self: "Tensor") -> "Tensor":
        return self == -math.inf if self.dtype.is_float else self.full_like(False, dt.bool_)

    def isreal(self: "Tensor") -> "Tensor":
        """True everywhere: baregrad has no complex dtypes."""
        return self.full_like(True, dt.bool_)

    def nextafter(self: "Tensor", other: Any) -> "Tensor":
        """The next float after self toward other, by stepping the bit pattern (subnormals included, though a
        device that flushes them to zero returns 0 for those)."""
        from baregrad.tensor import Tensor
        a, b = self._coerce(other)
        if not a.dtype.is_float:
            raise DTypeError(f"nextafter needs floating point tensors, got {a.dtype.name}{a.shape}")
        a, b = a.detach(), b.detach()
        bits = a.bitcast(_BITS_OF[a.dtype])
        away_from_zero = (b > a) == (a > 0)                   # a step that grows |a|
        stepped = away_from_zero.where(bits + 1, bits - 1).cast(bits.dtype).bitcast(a.dtype)
        smallest = Tensor.full((), 1, bits.dtype, a.device).bitcast(a.dtype)  # bit pattern 1: the least subnormal
        from_zero = (b > 0).where(smallest, -smallest)
        out = (a == 0).where(from_zero, stepped)
        out = (a == b).where(b, out)
        return (a.isnan() | b.isnan()).where(a + b, out)
