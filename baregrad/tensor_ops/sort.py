"""Sorting without a data-dependent sync: sort, argsort, topk, kthvalue, median, cummax/cummin, unique.

sort ranks by comparison counting: along the sorted dim of size n,
    rank[i] = #{j : x[j] before x[i]}  where "before" is (x[j] < x[i]) or (x[j] == x[i] and j < i),
an O(n^2) fused compare-and-sum kernel, and the result is stable. The inverse permutation
    order[r] = sum_i i * (rank[i] == r)
is a second O(n^2) kernel, and the values are a gather by `order`, so their gradient flows back to exactly the
element each came from. NaN sorts as the largest value, as in torch. Meant for the sizes this framework sorts
(rows of a few thousand); a bitonic network would be the next step for long rows.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from baregrad import dtype as dt
from baregrad.errors import ArgumentError, ShapeError
from baregrad.tensor_ops.results import ValuesIndices

if TYPE_CHECKING:
    from baregrad.tensor import Tensor


def _before(xi: "Tensor", xj: "Tensor", descending: bool) -> "Tensor":
    """True where x[j] sorts strictly before x[i] (NaN is the largest value)."""
    a, b = (xi, xj) if descending else (xj, xi)  # ascending: x[j] < x[i]; descending: x[j] > x[i]
    less = a < b
    if xi.dtype.is_float:
        less = (less & ~a.isnan()) | (b.isnan() & ~a.isnan())
    return less


def _same(xi: "Tensor", xj: "Tensor") -> "Tensor":
    same = xi == xj
    return same | (xi.isnan() & xj.isnan()) if xi.dtype.is_float else same


def sort_order(x: "Tensor", descending: bool) -> "Tensor":
    """The stable sorting permutation along the last dim (int64): out[..., r] = index of the r-th element."""
    from baregrad.tensor import Tensor
    n = x.shape[-1]
    xd = x.detach()
    xi, xj = xd.unsqueeze(-1), xd.unsqueeze(-2)          # (..., i, 1) and (..., 1, j)
    pos = Tensor.arange(n, dtype=dt.int32, device=x.device)
    earlier = pos.unsqueeze(1) > pos.unsqueeze(0)        # [i, j]: j < i
    before = _before(xi, xj, descending) | (_same(xi, xj) & earlier)
    rank = before.sum(-1, dtype=dt.int32)                # (..., n): final position of element i
    hit = rank.unsqueeze(-1) == pos                      # (..., i, r)
    return hit.where(pos.unsqueeze(1), 0).sum(-2, dtype=dt.int64)


class SortOps:
    """Sorting methods; `self` is a Tensor."""
    __slots__ = ()

    def sort(self: "Tensor", dim: int = -1, descending: bool = False, stable: bool = False) -> ValuesIndices:
        """Always stable (equal values keep their order); values keep their gradient through a gather."""
        if self.ndim == 0:
            return ValuesIndices(self * 1, self.zeros_like(dt.int64))
        axis = self._axis(dim)
        moved = self.transpose(axis, -1)
        if moved.shape[-1] == 0:
            return ValuesIndices(self * 1, self.zeros_like(dt.int64))
        order = sort_order(moved, descending)
        values = moved.gather(-1, order)
        return ValuesIndices(values.transpose(axis, -1), order.transpose(axis, -1))

    def argsort(self: "Tensor", dim: int = -1, descending: bool = False, stable: bool = False) -> "Tensor":
        return self.sort(dim, descending, stable).indices

    def msort(self: "Tensor") -> "Tensor":
        return self.sort(0).values

    def topk(self: "Tensor", k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:
        """The k largest (or smallest) along dim, in sorted order; ties keep the earlier index first."""
        axis = self._axis(dim) if self.ndim else 0
        n = self.shape[axis] if self.ndim else 1
        if not 0 <= k <= n:
            raise ShapeError(f"topk: k={k} is out of range for dimension {dim} of size {n}")
        values, indices = self.sort(axis, descending=largest)
        if self.ndim == 0:
            return ValuesIndices(values, indices)
        return ValuesIndices(values.narrow(axis, 0, k), indices.narrow(axis, 0, k))

    def kthvalue(self: "Tensor", k: int, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
        axis = self._axis(dim) if self.ndim else 0
        n = self.shape[axis] if self.ndim else 1
        if not 1 <= k <= n:
            raise ShapeError(f"kthvalue: k={k} is out of range for dimension {dim} of size {n}")
        values, indices = self.sort(axis)
        if self.ndim == 0:
            return ValuesIndices(values, indices)
        pick = lambda t: t.narrow(axis, k - 1, 1) if keepdim else t.narrow(axis, k - 1, 1).squeeze(axis)  # noqa
        return ValuesIndices(pick(values), pick(indices))

    def median(self: "Tensor", dim: int | None = None, keepdim: bool = False) -> Any:
        """The lower median (torch's choice for even counts); with dim, (values, indices)."""
        if dim is None:
            if self.numel() == 0:
                return _nan_scalar(self)
            return self.reshape(-1).kthvalue((self.numel() + 1) // 2).values
        n = self.shape[self._axis(dim)] if self.ndim else 1
        return self.kthvalue((n + 1) // 2, dim, keepdim)

    def nanmedian(self: "Tensor", dim: int | None = None, keepdim: bool = False) -> Any:
        if dim is None:
            flat = self.reshape(-1)
            count = int((~flat.isnan()).sum().item())  # a sync point: the rank of the median depends on it
            return flat.sort().values[(count + 1) // 2 - 1] if count else flat.amax()
        raise ArgumentError("nanmedian(dim=...) is not supported; use median() on rows without NaN")

    def cummax(self: "Tensor", dim: int = 0) -> ValuesIndices:
        return self._cum_extreme(dim, largest=True)

    def cummin(self: "Tensor", dim: int = 0) -> ValuesIndices:
        return self._cum_extreme(dim, largest=False)

    def _cum_extreme(self: "Tensor", dim: int, largest: bool) -> ValuesIndices:
        """Running max/min and where it was last reached (torch's tie rule: the latest index), as a gather."""
        from baregrad.tensor import Tensor
        if self.ndim == 0:
            return ValuesIndices(self * 1, self.zeros_like(dt.int64))
        axis = self._axis(dim)
        x = self.transpose(axis, -1)
        n = x.shape[-1]
        if n == 0:
            return ValuesIndices(self * 1, self.zeros_like(dt.int64))
        xd = x.detach()
        key = xd if largest else _negate_order(xd)
        best = key._cumulative(-1, _max_op())                # running maximum of the key
        pos = Tensor.arange(n, dtype=dt.int64, device=self.device)
        upto = pos.unsqueeze(0) <= pos.unsqueeze(1)          # [i, j]: j <= i
        hit = upto & _same(best.unsqueeze(-1), key.unsqueeze(-2))
        indices = hit.where(pos, -1).amax(-1)
        values = x.gather(-1, indices)
        return ValuesIndices(values.transpose(axis, -1), indices.transpose(axis, -1))

    def unique(self: "Tensor", sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
               dim: int | None = None) -> Any:
        """Distinct values of the flattened tensor, ascending. A sync point: their number sets the shape."""
        from baregrad.tensor import Tensor
        if dim is not None:
            raise ArgumentError("unique(dim=...) is not supported")
        flat = self.reshape(-1).tolist()
        values = _sorted_distinct(flat)
        out = [Tensor(values, dtype=self.dtype, device=self.device) if values else
               Tensor.zeros(0, dtype=self.dtype, device=self.device)]
        if return_inverse:
            where = {v: i for i, v in enumerate(values)}
            inverse = [where.get(v, len(values) - 1) for v in flat]
            out.append(Tensor(inverse, dtype=dt.int64, device=self.device).reshape(self.shape))
        if return_counts:
            counts = [0] * len(values)
            where = {v: i for i, v in enumerate(values)}
            for v in flat:
                counts[where.get(v, len(values) - 1)] += 1
            out.append(Tensor(counts, dtype=dt.int64, device=self.device) if counts else
                       Tensor.zeros(0, dtype=dt.int64, device=self.device))
        return out[0] if len(out) == 1 else tuple(out)


def _sorted_distinct(flat: list) -> list:
    nans = any(isinstance(v, float) and math.isnan(v) for v in flat)
    values = sorted({v for v in flat if not (isinstance(v, float) and math.isnan(v))})
    return values + [math.nan] if nans else values


def _negate_order(x: "Tensor") -> "Tensor":
    """A key whose max order is x's min order (for cummin): -x for floats, else ~x (= -x - 1 for signed
    integers, which unlike -x does not overflow at the type's minimum)."""
    return -x if x.dtype.is_float else ~x


def _max_op() -> Any:
    from baregrad.ir.ops import ReduceOp
    return ReduceOp.MAX


def _nan_scalar(x: "Tensor") -> "Tensor":
    from baregrad.tensor import Tensor
    return Tensor.full((), math.nan, x.dtype, x.device)
