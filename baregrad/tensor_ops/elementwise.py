"""Elementwise math beyond the primitive ops: inverse trigonometric and hyperbolic functions, hypot, logaddexp,
logit, xlogy, sinc, copysign, heaviside, and closeness tests.

Where the obvious formula is imprecise we use the stable one (log1p/expm1 near zero, range reduction for atan),
and where a composite would differentiate badly the gradient is given in closed form (custom_grad.with_grad).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from baregrad import dtype as dt
from baregrad.tensor_ops.custom_grad import with_grad

if TYPE_CHECKING:
    from baregrad.tensor import Tensor

_TAN_3PI_8 = 2.414213562373095
_TAN_PI_8 = 0.4142135623730950


def _atan_value(x: "Tensor") -> "Tensor":
    """Cephes atanf: reduce |x| to [0, tan(pi/8)] and evaluate a degree-9 odd polynomial (about 1 ulp in fp32)."""
    ax = x.abs()
    big, mid = ax > _TAN_3PI_8, ax > _TAN_PI_8
    # -1/ax at big (inf -> -0, so atan(inf) = pi/2 exactly); (ax-1)/(ax+1) at mid; ax itself otherwise
    t = big.where(-1.0 / ax, mid.where((ax - 1) / (ax + 1), ax))
    base = big.where(math.pi / 2, mid.where(math.pi / 4, 0.0))
    z = t * t
    poly = (((8.05374449538e-2 * z - 1.38776856032e-1) * z + 1.99777106478e-1) * z - 3.33329491539e-1) * z * t + t
    out = (base + poly).cast(x.dtype)
    return (x < 0).where(-out, out)


def _signbit(x: "Tensor") -> "Tensor":
    """True for negative numbers and -0.0 (1/-0.0 is -inf)."""
    if not x.dtype.is_float:
        return x < 0
    return (x < 0) | ((x == 0) & (x.reciprocal() < 0))


class MathOps:
    """Elementwise math methods; `self` is a Tensor."""
    __slots__ = ()

    # ---- inverse trigonometric ----
    def atan(self: "Tensor") -> "Tensor":
        return with_grad(_atan_value, lambda g, out, x: (g / (1 + x * x),), self._float_input())

    def asin(self: "Tensor") -> "Tensor":
        x = self._float_input()
        # (1-x)(1+x) keeps precision near |x| = 1 where 1 - x*x cancels; x/0 -> +-inf -> +-pi/2
        value = lambda v: _atan_value(v / ((1 - v) * (1 + v)).sqrt())  # noqa: E731
        return with_grad(value, lambda g, out, v: (g * ((1 - v) * (1 + v)).rsqrt(),), x)

    def acos(self: "Tensor") -> "Tensor":
        x = self._float_input()
        # acos x = 2 atan(sqrt((1-x)/(1+x))): no cancellation near x = 1, where acos is small
        value = lambda v: 2 * _atan_value(((1 - v) / (1 + v)).sqrt())  # noqa: E731
        return with_grad(value, lambda g, out, v: (-g * ((1 - v) * (1 + v)).rsqrt(),), x)

    def atan2(self: "Tensor", other: Any) -> "Tensor":
        """atan2(self, other) = angle of the point (other, self), in (-pi, pi]."""
        y, x = self._float_input()._coerce(other)
        if not y.dtype.is_float:
            y, x = y.cast(dt.default_float), x.cast(dt.default_float)

        def value(y: "Tensor", x: "Tensor") -> "Tensor":
            a = _atan_value(y / x)
            a = (y == 0).where(0.0, a).cast(a.dtype)  # 0/0 and 0/-0 give nan; the quadrant fix-up below decides
            turn = _signbit(y).where(-math.pi, math.pi)
            return _signbit(x).where(a + turn, a).cast(a.dtype)

        def grad(g: "Tensor", out: "Tensor", y: "Tensor", x: "Tensor") -> tuple:
            r2 = x * x + y * y
            r2 = (r2 == 0).where(1.0, r2).cast(r2.dtype)  # torch's gradient is 0 at the origin
            return g * x / r2, -g * y / r2

        return with_grad(value, grad, y, x)

    arctan, arcsin, arccos, arctan2 = atan, asin, acos, atan2

    # ---- hyperbolic ----
    def sinh(self: "Tensor") -> "Tensor":
        x = self._float_input()
        # expm1 keeps sinh(x) ~ x exact for small x, where e^x - e^-x cancels
        value = lambda v: (v.expm1() - (-v).expm1()) * 0.5  # noqa: E731
        return with_grad(value, lambda g, out, v: (g * v.cosh(),), x)

    def cosh(self: "Tensor") -> "Tensor":
        x = self._float_input()
        return (x.exp() + (-x).exp()) * 0.5

    def asinh(self: "Tensor") -> "Tensor":
        x = self._float_input()

        def value(v: "Tensor") -> "Tensor":
            a = v.abs()
            # log1p(a + a^2/(1+sqrt(1+a^2))) is exact near 0; log(2a) avoids overflow of a^2 for huge a
            small = (a + a * a / (1 + (1 + a * a).sqrt())).log1p()
            out = (a > 1e8).where(a.log() + math.log(2), small).cast(v.dtype)
            return _signbit(v).where(-out, out)

        return with_grad(value, lambda g, out, v: (g * (1 + v * v).rsqrt(),), x)

    def acosh(self: "Tensor") -> "Tensor":
        x = self._float_input()

        def value(v: "Tensor") -> "Tensor":
            t = v - 1
            small = (t + (t * (v + 1)).sqrt()).log1p()
            return (v > 1e8).where(v.log() + math.log(2), small).cast(v.dtype)

        return with_grad(value, lambda g, out, v: (g * ((v - 1) * (v + 1)).rsqrt(),), x)

    def atanh(self: "Tensor") -> "Tensor":
        x = self._float_input()
        value = lambda v: 0.5 * (2 * v / (1 - v)).log1p()  # noqa: E731
        return with_grad(value, lambda g, out, v: (g / ((1 - v) * (1 + v)),), x)

    arcsinh, arccosh, arctanh = asinh, acosh, atanh

    # ---- two-argument math ----
    def hypot(self: "Tensor", other: Any) -> "Tensor":
        a, b = self._float_input()._coerce(other)

        def value(a: "Tensor", b: "Tensor") -> "Tensor":
            big = a.abs().maximum(b.abs())
            safe = (big == 0).where(1.0, big).cast(big.dtype)  # scaling by the larger avoids overflow of a^2
            out = big * ((a / safe).square() + (b / safe).square()).sqrt()
            return big.isinf().where(math.inf, out).cast(out.dtype)

        def grad(g: "Tensor", out: "Tensor", a: "Tensor", b: "Tensor") -> tuple:
            safe = (out == 0).where(1.0, out).cast(out.dtype)
            return g * a / safe, g * b / safe

        return with_grad(value, grad, a, b)

    def logaddexp(self: "Tensor", other: Any) -> "Tensor":
        a, b = self._float_input()._coerce(other)

        def value(a: "Tensor", b: "Tensor") -> "Tensor":
            big = a.maximum(b)
            out = big + (-(a - b).abs()).exp().log1p()
            return (a == b).where(a + math.log(2), out).cast(out.dtype)  # equal infinities: no inf - inf

        def grad(g: "Tensor", out: "Tensor", a: "Tensor", b: "Tensor") -> tuple:
            return g * (a - out).exp(), g * (b - out).exp()

        return with_grad(value, grad, a, b)

    def logaddexp2(self: "Tensor", other: Any) -> "Tensor":
        a, b = self._float_input()._coerce(other)
        return (a * math.log(2)).logaddexp(b * math.log(2)) * (1 / math.log(2))

    def logit(self: "Tensor", eps: float | None = None) -> "Tensor":
        x = self._float_input()
        if eps is not None:
            x = x.clamp(eps, 1 - eps)
        return (x / (1 - x)).log()

    def xlogy(self: "Tensor", other: Any) -> "Tensor":
        x, y = self._float_input()._coerce(other)
        if not x.dtype.is_float:
            x, y = x.cast(dt.default_float), y.cast(dt.default_float)

        def value(x: "Tensor", y: "Tensor") -> "Tensor":
            out = (x == 0).where(0.0, x * y.log()).cast(x.dtype)
            return y.isnan().where(math.nan, out).cast(x.dtype)

        # torch's gradient: xlogy(g, y) for x, but 0 where x == 0 and y <= 0 (not -inf or NaN); x / y for y
        def grad(g: "Tensor", out: "Tensor", x: "Tensor", y: "Tensor") -> tuple:
            return ((x == 0) & (y <= 0)).where(0.0, g * y.log()), g * x / y

        return with_grad(value, grad, x, y)

    def copysign(self: "Tensor", other: Any) -> "Tensor":
        a, b = self._float_input()._coerce(other)
        if not a.dtype.is_float:
            a, b = a.cast(dt.default_float), b.cast(dt.default_float)
        return _signbit(b).detach().where(-a.abs(), a.abs())

    def heaviside(self: "Tensor", values: Any) -> "Tensor":
        x, v = self._coerce(values)
        return (x == 0).where(v, (x > 0).cast(x.dtype)).cast(x.dtype)

    # ---- simple elementwise ----
    def sinc(self: "Tensor") -> "Tensor":
        x = self._float_input()
        px = x * math.pi
        safe = (x == 0).where(1.0, px).cast(px.dtype)
        return (x == 0).where(1.0, safe.sin() / safe).cast(px.dtype)

    def deg2rad(self: "Tensor") -> "Tensor":
        return self._float_input() * (math.pi / 180)

    def rad2deg(self: "Tensor") -> "Tensor":
        return self._float_input() * (180 / math.pi)

    def clamp_min(self: "Tensor", min: Any) -> "Tensor":  # noqa: A002 - torch's argument name
        return self.clamp(min=min)

    def clamp_max(self: "Tensor", max: Any) -> "Tensor":  # noqa: A002 - torch's argument name
        return self.clamp(max=max)

    def signbit(self: "Tensor") -> "Tensor":
        return _signbit(self)

    def float_power(self: "Tensor", exponent: Any) -> "Tensor":
        return self.double().pow(exponent.double() if hasattr(exponent, "double") else exponent)

    # ---- closeness ----
    def isclose(self: "Tensor", other: "Tensor", rtol: float = 1e-5, atol: float = 1e-8,
                equal_nan: bool = False) -> "Tensor":
        a, b = self._coerce(other)
        if not a.dtype.is_float:
            return a == b
        close = ((a - b).abs() <= atol + rtol * b.abs()) | (a == b)  # a == b covers equal infinities
        return close | (a.isnan() & b.isnan()) if equal_nan else close

    def allclose(self: "Tensor", other: "Tensor", rtol: float = 1e-5, atol: float = 1e-8,
                 equal_nan: bool = False) -> bool:
        """A sync point: the answer is a Python bool."""
        return bool(self.isclose(other, rtol, atol, equal_nan).all().item())

    def equal(self: "Tensor", other: "Tensor") -> bool:
        """Same shape and the same values (a sync point: the answer is a Python bool)."""
        return self.shape == other.shape and bool((self == other).all().item())
