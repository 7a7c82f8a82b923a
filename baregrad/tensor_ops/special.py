"""Special functions: erfc, erfinv, lgamma and digamma as float32 approximations built from elementwise ops.

Each is a short polynomial (or a recurrence plus an asymptotic series) with its argument reduced first, so the
whole function fuses into one kernel and needs no data-dependent loop. Accuracy is a few float32 ulps (checked
against mpmath and torch), except near a zero of the result that the formula reaches by cancellation -- lgamma
on the negative axis, digamma near 1.4616 -- where the error is about 1e-6 absolute (torch's float32 digamma
cancels there too). float64 inputs get the same float32-level accuracy; half types are computed in float32 and
rounded once. Gradients are closed forms (custom_grad.with_grad): differentiating a polynomial
approximation would only approximate the derivative.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

from baregrad import dtype as dt
from baregrad.tensor_ops.custom_grad import with_grad

if TYPE_CHECKING:
    from baregrad.tensor import Tensor

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)

# Numerical Recipes' erfc (Chebyshev fit, fractional error < 1.2e-7): erfc(z) = t exp(-z^2 + P(t)), t = 1/(1+z/2)
_ERFC_P = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196,
           1.00002368, -1.26551223)
# Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011): single precision, central and tail
_ERFINV_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                   -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_ERFINV_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                0.00943887047, 1.00167406, 2.83297682)
# lgamma(2 + u) = u * P(u) on u in [-0.5, 0.5]: a degree-10 least-squares fit on Chebyshev nodes to mpmath,
# highest power first (max relative error 1.5e-7 in float32, at the rounding of the result)
_LGAMMA_P = (-5.27971944e-05, 0.000115003559, -0.0002208635998, 0.0005056574195, -0.001193056065, 0.002890956192,
             -0.00738553314, 0.02058078833, -0.06735230144, 0.3224670337, 0.4227843351)
# Stirling's series for lgamma(x) - ((x - 1/2) log x - x + log(2 pi)/2), in z = 1/x^2, times 1/x
_STIRLING = (-1 / 1680, 1 / 1260, -1 / 360, 1 / 12)
_SHIFTS = 6  # recurrence steps that push digamma/trigamma's argument up to >= 6, where the series is accurate


def _horner(coefficients: tuple[float, ...], t: "Tensor") -> "Tensor":
    out = t * 0 + coefficients[0]
    for c in coefficients[1:]:
        out = out * t + c
    return out


def _in_float32(fn: Callable[["Tensor"], "Tensor"], x: "Tensor") -> "Tensor":
    """fn on a float input: integers become the default float, half types are computed in float32."""
    if not x.dtype.is_float:
        return fn(x.cast(dt.default_float))
    if x.dtype in (dt.float16, dt.bfloat16):
        return fn(x.float()).cast(x.dtype)
    return fn(x)


def _erfc_value(x: "Tensor") -> "Tensor":
    z = x.abs()
    t = 1 / (1 + 0.5 * z)
    # z^2 = hi^2 + lo (z + hi) with hi = z rounded to 1/16: hi^2 is exact, so exp(-z^2) keeps its relative
    # accuracy far into the tail (exp(-z*z) would lose z^2 * 6e-8 of it to the rounding of z*z)
    hi = (z * 16).trunc() * (1 / 16)
    lo = z - hi
    r = t * (-(hi * hi)).exp() * (_horner(_ERFC_P, t) - lo * (z + hi)).exp()
    r = (z > 10.5).where(0.0, r).cast(x.dtype)  # erfc(10.5) is below the smallest float32; hi * 16 overflows late
    return (x < 0).where(2 - r, r)


def _erfinv_value(y: "Tensor") -> "Tensor":
    w = -((1 - y) * (1 + y)).log()
    central = _horner(_ERFINV_CENTRAL, w - 2.5)
    tail = _horner(_ERFINV_TAIL, w.sqrt() - 3)
    out = (w < 5).where(central, tail) * y
    out = (y.abs() == 1).where(y * math.inf, out).cast(y.dtype)
    return (y.abs() > 1).where(math.nan, out).cast(y.dtype)


def _lgamma_positive(x: "Tensor") -> "Tensor":
    """lgamma(x) for x >= 0: Stirling from 7.5 up; below, the recurrence lgamma(x) = lgamma(x - k) + log of the
    k factors moves x into [1.5, 2.5), where u * P(u) is exact to rounding around both zeros (x = 1 and 2)."""
    k = (x + 0.5).floor().clamp(None, 7.0) - 2                 # x - k in [1.5, 2.5) for x < 7.5
    u = x - (k + 2)                                            # exact: x minus a nearby integer
    core = u * _horner(_LGAMMA_P, u)
    t = u + 2
    up = t * 0 + 1                                             # (t)(t+1)...(t+k-1) for k >= 1, up to k = 5
    for i in range(5):
        up = (k > i).where(up * (t + i), up)
    down = (k <= -1).where(x, 1.0) * (k <= -2).where(x + 1, 1.0)  # x(x+1) for k = -2; x itself, not t - 1
    small = core + up.log() - down.log()
    z = 1 / (x * x)
    stirling = (x - 0.5) * x.log() - x + _HALF_LOG_2PI + _horner(_STIRLING, z) / x
    return (x >= 7.5).where(stirling, small)


def _lgamma_value(x: "Tensor") -> "Tensor":
    ax = x.abs()
    positive = _lgamma_positive(ax)
    # reflection: lgamma(x) = log(pi / |sin(pi x)|) - log|x| - lgamma(-x), with sin(pi x) from the exact x - round(x)
    r = x - x.round()
    reflected = (math.pi / (r * math.pi).sin().abs()).log() - ax.log() - positive
    out = (x < 0).where(reflected, positive)
    out = ((x < 0) & (r == 0)).where(math.inf, out)             # poles at 0, -1, -2, ...
    return ax.isinf().where(math.inf, out).cast(x.dtype)


def _shift_up(x: "Tensor", term: Callable[["Tensor"], "Tensor"]) -> tuple["Tensor", "Tensor"]:
    """Step y = x, x+1, ... while y < 6 (at most _SHIFTS times), summing term(y) over the steps taken."""
    total, y = x * 0, x
    for _ in range(_SHIFTS):
        small = y < 6
        total = small.where(total + term(y), total)
        y = small.where(y + 1, y)
    return y, total


def _digamma_positive(x: "Tensor") -> "Tensor":
    y, total = _shift_up(x, lambda v: 1 / v)
    z = 1 / (y * y)
    series = z * (1 / 12 - z * (1 / 120 - z * (1 / 252 - z * (1 / 240 - z * (1 / 132)))))
    return y.log() - 0.5 / y - series - total


def _digamma_value(x: "Tensor") -> "Tensor":
    # reflection for x < 0, as torch: digamma(1 - x) - pi / tan(pi x); cot has period 1, so it is taken at the
    # exact r = x - round(x) in [-1/2, 1/2], where sin(pi r) keeps its relative accuracy (near pi it would not)
    r = x - x.round()
    pr = r * math.pi
    reflected = _digamma_positive(1 - x) - math.pi * pr.cos() / pr.sin()
    out = (x < 0).where(reflected, _digamma_positive(x.abs()))
    out = ((x < 0) & (r == 0)).where(math.nan, out)            # poles: torch gives NaN at negative integers
    zero = (x == 0).where((1 / x < 0).where(math.inf, -math.inf), out)  # -inf at +0, +inf at -0, as torch
    return (x == math.inf).where(math.inf, zero).cast(x.dtype)


def _trigamma_value(x: "Tensor") -> "Tensor":
    """polygamma(1, x), the derivative of digamma, as torch computes it (reflection below 1/2)."""
    s = ((x - x.round()) * math.pi).sin()  # sin^2 has period 1: the exact reduced argument keeps its accuracy
    reflect = x < 0.5
    v = reflect.where(1 - x, x)
    y, total = _shift_up(v, lambda t: 1 / (t * t))
    iz = 1 / (y * y)
    series = (1 + 1 / (2 * y) + iz * (1 / 6 - iz * (1 / 30 - iz * (1 / 42)))) / y
    positive = total + series
    return reflect.where(math.pi ** 2 / (s * s) - positive, positive).cast(x.dtype)


class SpecialOps:
    """Special-function methods; `self` is a Tensor."""
    __slots__ = ()

    def erfc(self: "Tensor") -> "Tensor":
        grad = lambda g, out, x: (-_TWO_OVER_SQRT_PI * g * (-(x * x)).exp(),)  # noqa: E731
        return _in_float32(lambda x: with_grad(_erfc_value, grad, x), self)

    def erfinv(self: "Tensor") -> "Tensor":
        grad = lambda g, out, y: (g * (math.sqrt(math.pi) / 2) * (out * out).exp(),)  # noqa: E731
        return _in_float32(lambda y: with_grad(_erfinv_value, grad, y), self)

    def lgamma(self: "Tensor") -> "Tensor":
        grad = lambda g, out, x: (g * _digamma_value(x),)  # noqa: E731
        return _in_float32(lambda x: with_grad(_lgamma_value, grad, x), self)

    def digamma(self: "Tensor") -> "Tensor":
        grad = lambda g, out, x: (g * _trigamma_value(x),)  # noqa: E731
        return _in_float32(lambda x: with_grad(_digamma_value, grad, x), self)
