"""Reductions built on the primitive sum and max: count_nonzero, aminmax, nansum/nanmean, std_mean, bincount."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from baregrad import dtype as dt
from baregrad.errors import ArgumentError, DTypeError, ShapeError
from baregrad.tensor_ops.results import MinMax

if TYPE_CHECKING:
    from baregrad.tensor import Tensor


class ReduceOps:
    """Reduction methods; `self` is a Tensor."""
    __slots__ = ()

    def count_nonzero(self: "Tensor", dim: Any = None) -> "Tensor":
        return (self != 0).sum(dim, dtype=dt.int64)

    def aminmax(self: "Tensor", *, dim: int | None = None, keepdim: bool = False) -> MinMax:
        if self.numel() == 0:
            raise ShapeError(f"aminmax of an empty tensor of shape {self.shape}")
        return MinMax(self.amin(dim, keepdim), self.amax(dim, keepdim))

    def nansum(self: "Tensor", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> "Tensor":
        x = self.isnan().where(0, self).cast(self.dtype) if self.dtype.is_float else self
        return x.sum(dim, keepdim, dtype)

    def nanmean(self: "Tensor", dim: Any = None, keepdim: bool = False) -> "Tensor":
        if not self.dtype.is_float:
            raise DTypeError(f"nanmean needs a floating point tensor, got {self.dtype.name}")
        count = (~self.isnan()).sum(dim, keepdim).cast(self.dtype)
        return self.nansum(dim, keepdim) / count

    def std_mean(self: "Tensor", dim: Any = None, correction: int = 1, keepdim: bool = False,
                 unbiased: bool | None = None) -> tuple["Tensor", "Tensor"]:
        return self.std(dim, keepdim, correction, unbiased), self.mean(dim, keepdim)

    def bincount(self: "Tensor", weights: "Tensor | None" = None, minlength: int = 0) -> "Tensor":
        """Counts of each value of a 1-d non-negative integer tensor. A sync point: the largest value sets the
        output length. The counting itself is one fused compare-and-sum kernel, O(len * bins)."""
        if self.ndim != 1 or self.dtype.is_float or self.dtype is dt.bool_:
            raise DTypeError(f"bincount needs a 1-d integer tensor, got {self.dtype.name}{self.shape}")
        if self.numel() and int(self.amin().item()) < 0:
            raise ArgumentError("bincount needs non-negative values")
        bins = max(minlength, int(self.amax().item()) + 1 if self.numel() else 0)
        hit = self.unsqueeze(1) == self.arange_like(bins).unsqueeze(0)
        if weights is None:
            return hit.sum(0, dtype=dt.int64)
        w = weights if weights.dtype.is_float else weights.double()
        return hit.where(w.unsqueeze(1), 0.0).cast(w.dtype).sum(0)

    def arange_like(self: "Tensor", n: int) -> "Tensor":
        """arange(n) of this tensor's integer dtype and device (a helper for one-hot style compares)."""
        from baregrad.tensor import Tensor
        d = self.dtype if self.dtype.is_int else dt.int32
        return Tensor.arange(n, dtype=d, device=self.device)
