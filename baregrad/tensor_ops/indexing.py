"""Indexed writes with torch's names: scatter_reduce, index_copy, index_fill, index_put and masked_scatter.

Each is a compare against the index (one-hot along the written dim) feeding a reduce or a `where`, so it stays
lazy, fuses, and differentiates through the same primitives. As for every index *tensor* here (see README), an
out-of-range index value writes nowhere and reads zero; shapes and dtypes known at the call raise.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

from baregrad import autograd
from baregrad import dtype as dt
from baregrad import tensor as core  # the Tensor class, at call time (tensor.py imports this module)
from baregrad.errors import ArgumentError, DTypeError, ShapeError

if TYPE_CHECKING:
    from baregrad.tensor import Scalar, Tensor

_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _check_index(op: str, index: "Tensor") -> None:
    if index.dtype.is_float or index.dtype is dt.bool_:
        raise DTypeError(f"{op}: the index must be an integer tensor, got {index.dtype.name}{index.shape}")


def _identity(reduce: str, d: dt.DType) -> Any:
    """The value that leaves `reduce` unchanged, for the positions an index does not hit."""
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    lo, hi = dt.min_max_values(d)
    return lo if reduce == "amax" else hi


def _reduce_along(vals: "Tensor", reduce: str, axis: int) -> "Tensor":
    if reduce in ("sum", "mean"):
        return vals.sum(axis, dtype=vals.dtype)
    if reduce == "prod":
        return vals.prod(axis, dtype=vals.dtype)
    return vals.amax(axis) if reduce == "amax" else vals.amin(axis)


def _along(index: "Tensor", axis: int, shape: Sequence[int]) -> "Tensor":
    """A 1-d index laid along `axis` and expanded to `shape` (index_add's layout)."""
    view = [1] * len(shape)
    view[axis] = index.numel()
    return index.reshape(view).expand(tuple(shape))


def _scatter_checks(self: "Tensor", axis: int, index: "Tensor", src: "Tensor", reduce: str) -> None:
    _check_index("scatter_reduce", index)
    if reduce not in _REDUCTIONS:
        raise ArgumentError(f"scatter_reduce: reduce must be one of {', '.join(_REDUCTIONS)}, got {reduce!r}")
    if src.dtype is not self.dtype:
        raise DTypeError(f"scatter_reduce: self ({self.dtype.name}{self.shape}) and src ({src.dtype.name}{src.shape}) "
                         "must have the same "
                         "dtype")
    if not (index.ndim == self.ndim == src.ndim):
        raise ShapeError(f"scatter_reduce: index {index.shape}, self {self.shape} and src {src.shape} must have the "
                         "same number of dims")
    if any(i > s for i, s in zip(index.shape, src.shape)) or \
            any(i > s for d, (i, s) in enumerate(zip(index.shape, self.shape)) if d != axis):
        raise ShapeError(f"scatter_reduce: index {index.shape} must be no larger than src {src.shape}, and than "
                         f"self {self.shape} apart from dim {axis}")


class IndexOps:
    """Indexed-write methods; `self` is a Tensor."""
    __slots__ = ()

    def scatter_reduce(self: "Tensor", dim: int, index: "Tensor", src: "Tensor", reduce: str, *,
                       include_self: bool = True) -> "Tensor":
        """out[..., index[i], ...] = reduce(self there (if include_self), every src[i] sent there); positions no
        index hits keep self. Ties of amax/amin share the gradient evenly, self included, as in torch."""
        axis = self._axis(dim)
        _scatter_checks(self, axis, index, src, reduce)
        n = self.shape[axis]
        hit = self._onehot_along(index.to(self.device), axis, n)        # index.shape with n inserted at axis+1
        src = src.shrink([(0, i) for i in index.shape])
        vals = hit.where(src.unsqueeze(axis + 1), _identity(reduce, self.dtype)).cast(self.dtype)
        region = [(0, n) if d == axis else (0, i) for d, i in enumerate(index.shape)]
        base = self.shrink(region)                                       # the part of self an index can reach
        if include_self:
            vals = type(self).cat([base.unsqueeze(axis), vals], axis)
        out = _reduce_along(vals, reduce, axis)
        touched = hit.any(axis)
        if reduce == "mean":
            count = hit.sum(axis, dtype=dt.int64) + int(include_self)
            count = count.maximum(1).cast(self.dtype)                    # untouched positions keep self below
            out = out / count if self.dtype.is_float else out.floor_divide(count)
        out = touched.where(out, base)
        pads = [(0, s - e) for s, (_, e) in zip(self.shape, region)]
        return touched.pad(pads, False).where(out.pad(pads), self)

    def index_copy(self: "Tensor", dim: int, index: "Tensor", source: "Tensor") -> "Tensor":
        """self with its slices index[i] along dim replaced by source's slice i (the last one wins on a repeat)."""
        _check_index("index_copy", index)
        if index.ndim > 1:
            raise ShapeError(f"index_copy: the index must be 0-d or 1-d, got shape {index.shape}")
        if source.dtype is not self.dtype:
            raise DTypeError(f"index_copy: self ({self.dtype.name}{self.shape}) and source ({source.dtype.name}"
                             f"{source.shape}) must have the "
                             "same dtype")
        if self.ndim == 0:
            return self.reshape(1).index_copy(0, index, source.reshape(-1)).reshape(())
        axis = self._axis(dim)
        if source.ndim != self.ndim or _with(source.shape, axis, 0) != _with(self.shape, axis, 0):
            raise ShapeError(f"index_copy: source slices {source.shape} must match self's {self.shape} off dim "
                             f"{dim}")
        if index.numel() != source.shape[axis]:
            raise ShapeError(f"index_copy: {index.numel()} indices for source of shape {source.shape}, which has "
                             f"{source.shape[axis]} along dim {dim}")
        return self.scatter(axis, _along(index.to(self.device).reshape(-1), axis, source.shape), source)

    def index_fill(self: "Tensor", dim: int, index: "Tensor", value: Any) -> "Tensor":
        """self with its slices index[i] along dim set to value (a number or a 0-d tensor)."""
        from baregrad.tensor import Tensor
        axis = self._axis(dim)
        _check_index("index_fill", index)
        if index.ndim > 1:
            raise ShapeError(f"index_fill: the index must be 0-d or 1-d, got shape {index.shape}")
        if isinstance(value, Tensor) and value.ndim != 0:
            raise ShapeError(f"index_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
        n = self.shape[axis] if self.ndim else 1
        idx = index.to(self.device).reshape(1, -1)
        idx = (idx < 0).where(idx + n, idx)
        pos = Tensor.arange(n, dtype=idx.dtype, device=self.device).reshape(n, 1)
        mask = (pos == idx).any(1).reshape([n if d == axis else 1 for d in range(self.ndim)])
        return mask.where(value, self).cast(self.dtype)

    def index_put(self: "Tensor", indices: Sequence[Any], values: "Tensor", accumulate: bool = False) -> "Tensor":
        """self[indices] = values (out of place); with accumulate, repeated indices add up instead."""
        from baregrad.indexing import getitem
        from baregrad.tensor import Tensor
        if not isinstance(indices, (tuple, list)) or not all(isinstance(i, Tensor) or i is None for i in indices):
            raise DTypeError(f"index_put: indices must be a tuple of tensors, got {indices!r}")
        if not isinstance(values, Tensor):
            values = Tensor.full((), values, self.dtype, self.device)
        n = self.numel()
        # positions shifted by -n: an out-of-range index reads 0 (advanced indexing) and so lands on n, which the
        # scatter matches nowhere
        positions = Tensor.arange(n, dtype=dt.int64, device=self.device).reshape(self.shape) - n
        picked = getitem(positions, tuple(slice(None) if i is None else i for i in indices)) + n
        try:
            vals = values.to(self.device).cast(self.dtype).expand(picked.shape)
        except ShapeError:
            raise ShapeError(f"index_put: values of shape {values.shape} do not broadcast to the indexed shape "
                             f"{picked.shape} of self {self.shape}") from None
        flat, where = self.reshape(-1), picked.reshape(-1)
        out = flat.scatter_add(0, where, vals.reshape(-1)) if accumulate else flat.scatter(0, where, vals.reshape(-1))
        return out.reshape(self.shape)

    def masked_scatter(self: "Tensor", mask: "Tensor", source: "Tensor") -> "Tensor":
        """self with the positions where mask is true filled, in order, by source's leading elements. The k-th
        true position reads source's k-th element: a prefix count, O(n^2) in self's size like cumsum."""
        if mask.dtype is not dt.bool_:
            raise DTypeError(f"masked_scatter needs a bool mask, got {mask.dtype.name}{mask.shape}")
        if source.dtype is not self.dtype:
            raise DTypeError(f"masked_scatter: self ({self.dtype.name}{self.shape}) and source ({source.dtype.name}"
                             f"{source.shape}) must have "
                             "the same dtype")
        try:
            m = mask.to(self.device).expand(self.shape).reshape(-1)
        except ShapeError:
            raise ShapeError(f"masked_scatter: mask of shape {mask.shape} does not broadcast to self's shape "
                             f"{self.shape}") from None
        rank = m.cumsum(0) - 1                                           # which source element each true reads
        picked = source.reshape(-1).scatter_pick(m.where(rank, 0), 0)    # past source's end reads 0
        return m.where(picked, self.reshape(-1)).reshape(self.shape)


def _with(shape: tuple[int, ...], axis: int, size: int) -> tuple[int, ...]:
    return shape[:axis] + (size,) + shape[axis + 1:]


class GatherScatterOps:
    """gather / scatter methods of Tensor; `self` is a Tensor."""
    __slots__ = ()

    # ---- gather / scatter ----
    def gather(self, dim: int, index: "Tensor") -> "Tensor":
        """out[i][j] = self[index[i][j]][j] for dim=0 (torch.gather); one load per output element."""
        axis = self._axis(dim)
        if index.ndim != self.ndim:
            raise ShapeError(f"gather index of shape {index.shape} needs {self.ndim} dims like the input {self.shape}")
        if index.dtype.is_float or index.dtype is dt.bool_:
            raise DTypeError(f"gather index must be an integer tensor, not {index.dtype.name}")
        if any(i > s for d, (i, s) in enumerate(zip(index.shape, self.shape)) if d != axis):
            raise ShapeError(f"gather index shape {index.shape} exceeds input shape {self.shape} off dim {dim}")
        src = self.shrink([(0, s) if d == axis else (0, i) for d, (i, s) in enumerate(zip(index.shape, self.shape))])
        return autograd.Gather.apply(src, index.to(self.device), axis=axis)

    def take_along_dim(self, indices: "Tensor", dim: int | None = None) -> "Tensor":
        if dim is None:  # torch: both flattened
            return self.reshape(-1).take_along_dim(indices.reshape(-1), 0)
        target = tuple(s if d == self._axis(dim) else max(s, i) for d, (s, i) in enumerate(zip(indices.shape,
                                                                                              self.shape)))
        return self.expand(tuple(i if d != self._axis(dim) else s for d, (i, s) in
                                 enumerate(zip(target, self.shape)))).gather(dim, indices.expand(target))

    def index_select(self, dim: int, index: "Tensor") -> "Tensor":
        axis = self._axis(dim)
        if index.ndim != 1:
            raise ShapeError(f"index_select needs a 1-d index, got shape {index.shape}")
        shape = list(self.shape)
        shape[axis] = index.shape[0]
        view = [1] * self.ndim
        view[axis] = index.shape[0]
        return self.gather(axis, index.reshape(view).expand(shape))

    def _onehot_along(self, index: "Tensor", axis: int, n: int) -> "Tensor":
        """hit[..., i, j, ...] = index[..., i, ...] == j, with j a new dim right after `axis`."""
        positions = core.Tensor.arange(n, dtype=index.dtype, device=self.device)
        positions = positions.reshape([n if d == axis + 1 else 1 for d in range(index.ndim + 1)])
        idx = index.unsqueeze(axis + 1)
        idx = (idx < 0).where(idx + n, idx)
        return idx == positions

    def scatter_add_dense(self, index: "Tensor", axis: int, shape: tuple[int, ...]) -> "Tensor":
        """out (of `shape`) with out[..., j, ...] = sum of self[..., i, ...] over i where index[..., i, ...] == j."""
        n = shape[axis]
        hit = self._onehot_along(index, axis, n)
        summed = hit.where(self.unsqueeze(axis + 1), 0.0).cast(self.dtype).sum(axis).cast(self.dtype)
        return summed.pad([(0, s - c) for s, c in zip(shape, summed.shape)])

    def scatter_add(self, dim: int, index: "Tensor", src: "Tensor") -> "Tensor":
        axis = self._axis(dim)
        src = src.shrink([(0, i) for i in index.shape]).cast(self.dtype)
        return self + src.scatter_add_dense(index, axis, self.shape)

    def scatter(self, dim: int, index: "Tensor", src: Any, reduce: str | None = None) -> "Tensor":
        axis = self._axis(dim)
        if not isinstance(src, core.Tensor):
            src = core.Tensor.full(index.shape, src, self.dtype, self.device)
        src = src.shrink([(0, i) for i in index.shape]).cast(self.dtype)
        if reduce == "add":
            return self.scatter_add(dim, index, src)
        if reduce not in (None, "multiply"):
            raise ArgumentError(f"scatter reduce must be None, 'add' or 'multiply', got {reduce!r}")
        n = self.shape[axis]
        hit = self._onehot_along(index, axis, n)
        if reduce == "multiply":
            factor = hit.where(src.unsqueeze(axis + 1), 1).cast(self.dtype).prod(axis).cast(self.dtype)
            return self * factor.pad([(0, s - c) for s, c in zip(self.shape, factor.shape)], 1)
        # the last writer wins where an index repeats (torch leaves that case unspecified)
        order = core.Tensor.arange(index.shape[axis], dtype=dt.int32, device=self.device).reshape(
            [index.shape[axis] if d == axis else 1 for d in range(index.ndim)]).unsqueeze(axis + 1)
        last = hit.where(order, -1).amax(axis)
        written = last >= 0
        picked = src.scatter_pick(last.clamp(0, None), axis)
        full_written = written.pad([(0, s - c) for s, c in zip(self.shape, written.shape)], False)
        full_picked = picked.pad([(0, s - c) for s, c in zip(self.shape, picked.shape)])
        return full_written.where(full_picked, self)

    def scatter_pick(self, which: "Tensor", axis: int) -> "Tensor":
        """out[..., j, ...] = self[..., which[..., j, ...], ...]: a gather whose index may be longer than self."""
        return autograd.Gather.apply(self, which.cast(dt.int64), axis=axis)

    def index_add(self, dim: int, index: "Tensor", source: "Tensor", alpha: Scalar = 1) -> "Tensor":
        axis = self._axis(dim)
        shape = list(source.shape)
        view = [1] * source.ndim
        view[axis] = index.shape[0]
        return self.scatter_add(axis, index.reshape(view).expand(shape), source * alpha)

    def nonzero_tuple(self) -> tuple["Tensor", ...]:
        """Indices of nonzero elements, one tensor per dim. A sync point: the count decides the shape."""
        flags = self.reshape(-1).tolist() if self.ndim else [self.item()]
        flat = [i for i, v in enumerate(flags) if v]
        shape = self.shape or (1,)
        out = []
        for d in range(len(shape)):
            stride = math.prod(shape[d + 1:])
            out.append(core.Tensor([(i // stride) % shape[d] for i in flat], dtype=dt.int64, device=self.device)
                       if flat else core.Tensor.zeros(0, dtype=dt.int64, device=self.device))
        return tuple(out)

    def nonzero(self, as_tuple: bool = False) -> Any:
        parts = self.nonzero_tuple()
        if as_tuple:
            return parts
        if not parts[0].numel():
            return core.Tensor.zeros(0, self.ndim, dtype=dt.int64, device=self.device)
        return core.Tensor.stack(list(parts), 1)
