"""Statistics with torch's names: quantile/nanquantile, mode, histc, cov and corrcoef.

None of them syncs: a quantile is a gather from the sorted values at ranks computed on the device (so a row's
NaN count can move its rank), the mode counts equal pairs, and histc counts with a one-hot compare-and-sum.
Values keep their gradient through the gathers, as in torch.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from baregrad import dtype as dt
from baregrad.errors import ArgumentError, DTypeError, ShapeError
from baregrad.tensor_ops.results import ValuesIndices

if TYPE_CHECKING:
    from baregrad.tensor import Tensor

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _lerp(start: "Tensor", end: "Tensor", weight: Any) -> "Tensor":
    """torch's lerp formula, exact at both ends: from the nearer end."""
    if not hasattr(weight, "where"):  # a Python number (midpoint's 0.5) picks its branch here
        return start + weight * (end - start) if weight < 0.5 else end - (end - start) * (1 - weight)
    return (weight < 0.5).where(start + weight * (end - start), end - (end - start) * (1 - weight))


def _quantile_q(x: "Tensor", q: Any) -> tuple["Tensor", bool]:
    """q as a 1-d tensor of x's dtype, and whether it was a scalar (then the output has no q dim)."""
    from baregrad.tensor import Tensor
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise ShapeError(f"quantile: q must be a scalar or a 1-d tensor, got shape {q.shape}")
        if q.dtype is not x.dtype:
            raise DTypeError(f"quantile: q ({q.dtype.name}{q.shape}) must have the input's dtype ({x.dtype.name}"
                             f"{x.shape})")
        return q.reshape(-1), q.ndim == 0
    if not 0 <= q <= 1:
        raise ArgumentError(f"quantile: q must be in the range [0, 1], got {q}")
    return Tensor.full((1,), q, x.dtype, x.device), True


def _ranks(sorted_x: "Tensor", q: "Tensor", ignore_nan: bool) -> "Tensor":
    """Fractional positions (..., k) into each sorted row, as torch computes them (in the input dtype)."""
    n = sorted_x.shape[-1]
    nan = sorted_x.isnan()
    if ignore_nan:
        count = (~nan).sum(-1, keepdim=True).cast(sorted_x.dtype)
        ranks = q * (count - 1)
        return (ranks < 0).where(0.0, ranks).cast(sorted_x.dtype)   # an all-NaN row reads its first NaN
    ranks = (q * (n - 1)).expand(*sorted_x.shape[:-1], q.shape[0])
    return nan.any(-1, keepdim=True).where(float(n - 1), ranks).cast(sorted_x.dtype)  # NaN sorts last


def _pick(sorted_x: "Tensor", ranks: "Tensor", interpolation: str) -> "Tensor":
    if interpolation == "lower":
        ranks = ranks.floor()
    elif interpolation == "higher":
        ranks = ranks.ceil()
    elif interpolation == "nearest":
        ranks = ranks.round()  # half to even, as torch
    below = ranks.cast(dt.int64)
    low = sorted_x.gather(-1, below)
    if interpolation not in ("linear", "midpoint"):
        return low
    high = sorted_x.gather(-1, ranks.ceil().cast(dt.int64))
    weight = 0.5 if interpolation == "midpoint" else ranks - below.cast(ranks.dtype)
    return _lerp(low, high, weight)


def _quantile(x: "Tensor", q: Any, dim: int | None, keepdim: bool, interpolation: str,
              ignore_nan: bool) -> "Tensor":
    name = "nanquantile" if ignore_nan else "quantile"
    if x.dtype not in (dt.float32, dt.float64):
        raise DTypeError(f"{name} needs a float32 or float64 input, got {x.dtype.name}{x.shape}")
    if x.numel() == 0:
        raise ShapeError(f"{name} needs a non-empty input, got shape {x.shape}")
    if interpolation not in _INTERPOLATIONS:
        raise ArgumentError(f"{name}: interpolation must be one of {', '.join(_INTERPOLATIONS)}, got "
                            f"{interpolation!r}")
    qs, scalar = _quantile_q(x, q)
    rows = x.reshape(-1) if dim is None else x.movedim(x._axis(dim), -1) if x.ndim else x.reshape(1)
    sorted_rows = rows.sort(-1).values
    out = _pick(sorted_rows, _ranks(sorted_rows, qs, ignore_nan), interpolation)
    out = out.movedim(-1, 0)                                        # (k, ...reduced dims)
    if keepdim:
        shape = [1] * x.ndim if dim is None else list(x.shape)
        if dim is not None and x.ndim:
            shape[x._axis(dim)] = 1
        out = out.reshape(qs.shape[0], *shape)
    return out.squeeze(0) if scalar else out


def _mode_value(x: "Tensor") -> "Tensor":
    """The most frequent value of each row (..., n), the smallest of them on a tie, keepdim."""
    counts = (x.unsqueeze(-1) == x.unsqueeze(-2)).sum(-1, dtype=dt.int32)
    best = counts == counts.amax(-1, keepdim=True)
    top = math.inf if x.dtype.is_float else dt.min_max_values(x.dtype)[1]
    return best.where(x, top).cast(x.dtype).amin(-1, keepdim=True)


class StatsOps:
    """Statistics methods; `self` is a Tensor."""
    __slots__ = ()

    def quantile(self: "Tensor", q: Any, dim: int | None = None, keepdim: bool = False, *,
                 interpolation: str = "linear") -> "Tensor":
        """The q-th quantiles along dim (all elements for None); a 1-d q adds a leading dim. A row holding NaN
        gives NaN. q as a tensor is not range-checked (that would be a sync)."""
        return _quantile(self, q, dim, keepdim, interpolation, ignore_nan=False)

    def nanquantile(self: "Tensor", q: Any, dim: int | None = None, keepdim: bool = False, *,
                    interpolation: str = "linear") -> "Tensor":
        """quantile ignoring NaN: each row's rank is taken among its non-NaN values (NaN if it has none)."""
        return _quantile(self, q, dim, keepdim, interpolation, ignore_nan=True)

    def mode(self: "Tensor", dim: int = -1, keepdim: bool = False) -> ValuesIndices:
        """(values, indices): the most frequent value along dim (the smallest on a tie) and the index of its last
        occurrence (torch's index among equal values is unspecified). O(n^2) along dim."""
        from baregrad.tensor import Tensor
        if self.ndim == 0:
            return ValuesIndices(self * 1, self.zeros_like(dt.int64))
        axis = self._axis(dim)
        n = self.shape[axis]
        if n == 0:
            raise ShapeError(f"mode: reduction dim {dim} of shape {self.shape} has size zero")
        x = self.movedim(axis, -1)
        key = x.detach() if x.dtype is not dt.bool_ else x.detach().cast(dt.int8)
        value = _mode_value(key)
        pos = Tensor.arange(n, dtype=dt.int64, device=self.device)
        index = (key == value).where(pos, -1).amax(-1, keepdim=True)
        values, indices = x.gather(-1, index), index
        if not keepdim:
            values, indices = values.squeeze(-1), indices.squeeze(-1)
            return ValuesIndices(values, indices)
        return ValuesIndices(values.movedim(-1, axis), indices.movedim(-1, axis))

    def histc(self: "Tensor", bins: int = 100, min: float = 0, max: float = 0) -> "Tensor":  # noqa: A002
        """Counts in `bins` equal-width bins over [min, max] (the data's own range when min == max), as a tensor
        of the input's dtype; values outside the range and NaN are not counted. Not differentiable."""
        from baregrad.tensor import Tensor
        if not self.dtype.is_float:
            raise DTypeError(f"histc needs a floating point tensor, got {self.dtype.name}{self.shape}")
        if bins <= 0:
            raise ArgumentError(f"histc: bins must be > 0, got {bins}")
        if min > max:
            raise ArgumentError(f"histc: max ({max}) must be larger than min ({min})")
        if not (math.isfinite(min) and math.isfinite(max)):
            raise ArgumentError(f"histc: range of [{min}, {max}] is not finite")
        x = self.detach().reshape(-1)
        if min == max and x.numel():
            lo, hi = x.amin(), x.amax()
            lo, hi = (lo == hi).where(lo - 1, lo), (lo == hi).where(hi + 1, hi)
        else:
            lo = Tensor.full((), min - 1 if min == max else min, self.dtype, self.device)
            hi = Tensor.full((), max + 1 if min == max else max, self.dtype, self.device)
        inside = (x >= lo) & (x <= hi)
        # torch's linear bin index, in the input dtype; the right edge belongs to the last bin
        pos = ((x - lo) * bins / (hi - lo)).cast(dt.int64)
        pos = (pos >= bins).where(bins - 1, pos)
        hit = (pos.unsqueeze(-1) == Tensor.arange(bins, dtype=dt.int64, device=self.device)) & inside.unsqueeze(-1)
        return hit.sum(0, dtype=self.dtype)

    def cov(self: "Tensor", *, correction: int = 1, fweights: "Tensor | None" = None,
            aweights: "Tensor | None" = None) -> "Tensor":
        """Covariance of the rows (variables) over the columns (observations), torch's weighted formula. The
        weights are not checked for negative values or a zero sum (a sync): those give inf or NaN."""
        if self.ndim > 2:
            raise ShapeError(f"cov needs a 1-d or 2-d input, got shape {self.shape}")
        if self.dtype is dt.bool_:
            raise DTypeError(f"cov does not support bool input (shape {self.shape})")
        x = self.reshape(1, -1) if self.ndim < 2 else self
        x = x if x.dtype.is_float else x.cast(dt.default_float)
        n = x.shape[1]
        w = _cov_weights(fweights, aweights, n)
        w_sum = w.sum() if w is not None else n
        avg = (x * w if w is not None else x).sum(1) / w_sum
        if w is not None and aweights is not None and correction != 0:
            norm = w_sum - correction * (w * aweights).sum() / w_sum
        else:
            norm = w_sum - correction
        centered = x - avg.unsqueeze(1)
        c = centered.matmul((centered * w if w is not None else centered).t())
        # torch zeroes a non-positive number of degrees of freedom (the result is then inf or NaN)
        if isinstance(norm, (int, float)):
            return (c / (norm if norm > 0 else 0.0)).squeeze()
        return (c / (norm <= 0).where(0.0, norm).cast(c.dtype)).squeeze()

    def corrcoef(self: "Tensor") -> "Tensor":
        """Pearson correlation coefficients of the rows, clipped to [-1, 1]."""
        if self.ndim > 2:
            raise ShapeError(f"corrcoef needs a 1-d or 2-d input, got shape {self.shape}")
        c = self.cov()
        if c.ndim == 0:
            return c / c
        std = c.diagonal().sqrt()
        return (c / std.unsqueeze(1) / std.unsqueeze(0)).clamp(-1, 1)



def _cov_weights(fweights: "Tensor | None", aweights: "Tensor | None", n: int) -> "Tensor | None":
    """torch's product of frequency weights (integers) and observation weights (floats), checked."""
    w = None
    for name, t, integral in (("fweights", fweights, True), ("aweights", aweights, False)):
        if t is None:
            continue
        if t.ndim > 1 or t.numel() != n:
            raise ShapeError(f"cov: {name} must be a 1-d tensor with one weight per observation ({n}), got shape "
                             f"{t.shape}")
        if integral and (t.dtype.is_float or t.dtype is dt.bool_):
            raise DTypeError(f"cov: fweights must have an integral dtype, got {t.dtype.name}{t.shape}")
        if not integral and not t.dtype.is_float:
            raise DTypeError(f"cov: aweights must have a floating point dtype, got {t.dtype.name}{t.shape}")
        w = t.reshape(-1) if w is None else w * t.reshape(-1)
    return w
