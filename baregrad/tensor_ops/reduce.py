"""Reductions built on the primitive sum and max: count_nonzero, aminmax, nansum/nanmean, std_mean, bincount."""
from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any, Callable

from baregrad import autograd
from baregrad import dtype as dt
from baregrad import tensor as core  # the Tensor class, at call time (tensor.py imports this module)
from baregrad.errors import ArgumentError, DTypeError, ShapeError
from baregrad.ir.ops import ReduceOp
from baregrad.tensor_ops.custom_grad import sqrt_zero_grad
from baregrad.tensor_ops.results import MinMax, ValuesIndices

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


def in_accumulate_dtype(method: Callable[..., "Tensor"]) -> Callable[..., "Tensor"]:
    """Run a reduction-based composite (mean, var, softmax, ...) of a float16/bfloat16 tensor wholly in float32 and
    round its result once, as torch's kernels do; the two casts fuse into the composite's kernels."""
    @functools.wraps(method)
    def wrapper(self: "Tensor", *args: Any, **kwargs: Any) -> "Tensor":
        acc = dt.accumulate_dtype(self.dtype)
        if acc is self.dtype:
            return method(self, *args, **kwargs)
        return method(self.cast(acc), *args, **kwargs).cast(self.dtype)
    return wrapper


class ReductionOps:
    """The reductions (sum, max, mean, var, softmax, cumsum, ...) methods of Tensor; `self` is a Tensor."""
    __slots__ = ()

    # ---- reductions ----
    def _reduce_axes(self, dim: Any) -> tuple[int, ...]:
        # an empty dim list reduces every dim, as torch's sum/mean/amax/var/norm do (any/all keep them: see any)
        if dim is None or (isinstance(dim, (tuple, list)) and not dim):
            return tuple(range(self.ndim))
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        return tuple(sorted({self._axis(d) for d in dims}))

    def _reduce(self, op: ReduceOp, dim: Any, keepdim: bool) -> "Tensor":
        axes = self._reduce_axes(dim)
        if self.ndim == 0:
            return self
        if any(self.shape[a] > 2**31 - 1 for a in axes):  # 32-bit loop counters: the kernel would not compile, or hang
            raise ShapeError(f"cannot reduce dims {axes} of shape {self.shape}: a dim has more than 2**31-1 elements")
        out_shape = tuple(s for i, s in enumerate(self.shape) if i not in axes or keepdim) if not keepdim \
            else tuple(1 if i in axes else s for i, s in enumerate(self.shape))
        if any(self.shape[a] == 0 for a in axes):
            if op is ReduceOp.MAX:
                raise ShapeError(f"max/min over an empty dimension of shape {self.shape}")
            # reduce one identity element instead, so the result stays connected to autograd
            grow = [(0, 1) if i in axes and s == 0 else (0, 0) for i, s in enumerate(self.shape)]
            return self.pad(grow, 0 if op is ReduceOp.SUM else 1)._reduce(op, dim, keepdim)
        acc = dt.accumulate_dtype(self.dtype)
        if op is ReduceOp.MAX or acc is self.dtype:
            reduced = autograd.Reduce.apply(self, op=op, axes=axes)
        else:  # a 16-bit float sum/prod accumulates in float32 and rounds once; the casts fuse into its kernel
            reduced = autograd.Reduce.apply(self.cast(acc), op=op, axes=axes).cast(self.dtype)
        return reduced if keepdim else reduced.reshape(out_shape)

    def sum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> "Tensor":
        x = self.cast(dtype) if dtype is not None else self.cast(dt.sum_dtype(self.dtype))
        return x._reduce(ReduceOp.SUM, dim, keepdim)

    def prod(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> "Tensor":
        x = self.cast(dtype) if dtype is not None else self.cast(dt.sum_dtype(self.dtype))
        return x._reduce(ReduceOp.PROD, dim, keepdim)

    @in_accumulate_dtype
    def mean(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        x = self._float_input()
        count = math.prod(self.shape[a] for a in self._reduce_axes(dim)) if self.ndim else 1
        return x.sum(dim, keepdim) * (1.0 / count) if count else x.sum(dim, keepdim) * math.nan

    def amax(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        return self._reduce(ReduceOp.MAX, dim, keepdim)

    def amin(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        if not self.dtype.is_float:  # ~x reverses bool, unsigned and signed order; -x overflows at int min
            return ~((~self)._reduce(ReduceOp.MAX, dim, keepdim))
        return -((-self)._reduce(ReduceOp.MAX, dim, keepdim))

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        if isinstance(dim, core.Tensor):
            return self.maximum(dim)
        if dim is None:
            return self.amax()
        return self._pick_at(self.argmax(dim, keepdim=True), dim, keepdim)

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        if isinstance(dim, core.Tensor):
            return self.minimum(dim)
        if dim is None:
            return self.amin()
        return self._pick_at(self.argmin(dim, keepdim=True), dim, keepdim)

    def _pick_at(self, index: "Tensor", dim: int, keepdim: bool) -> "ValuesIndices":
        """(values, indices) of max/min(dim): a gather, so a tie sends the gradient to the chosen index only."""
        if self.ndim == 0:
            return ValuesIndices(self, index.reshape(()))
        axis = self._axis(dim)
        values = self.gather(axis, index)
        return ValuesIndices(values, index) if keepdim else ValuesIndices(values.squeeze(axis), index.squeeze(axis))

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        if dim is None:
            return self.reshape(-1).argmax(0)
        axis = self._axis(dim)
        n = self.shape[axis]
        x = self.detach()
        best = x.amax(axis, keepdim=True)
        hit = (x == best) | (x.isnan() if x.dtype.is_float else x.full_like(False, dt.bool_))
        if x.dtype.is_float:
            # NaN is the maximum, as in torch
            hit = hit | (x.isnan().any(axis, keepdim=True) & x.isnan())
            hit = hit & ~(x.isnan().any(axis, keepdim=True) & ~x.isnan())
        rev = core.Tensor.arange(n, 0, -1, dtype=dt.int64, device=self.device).reshape(
            *[n if i == axis else 1 for i in range(self.ndim)])
        first = (hit.where(rev, 0)).amax(axis, keepdim=keepdim)
        return (n - first).cast(dt.int64)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        x = self.detach()
        # ~x reverses the order of bool and integer types; -x would overflow at a signed type's minimum
        return (-x if x.dtype.is_float else ~x).argmax(dim, keepdim)

    def any(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        if isinstance(dim, (tuple, list)) and not dim:  # torch's any/all reduce nothing over an empty dim list
            found = self != 0
        elif self.numel():
            found = (self != 0)._reduce(ReduceOp.MAX, dim, keepdim)
        else:
            found = core.Tensor.full(self._empty_reduce_shape(dim, keepdim), False, dt.bool_, self.device)
        return found.cast(dt.uint8) if self.dtype is dt.uint8 else found  # torch keeps uint8 for uint8 input

    def all(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        every = ~((self == 0).any(dim, keepdim))
        return every.cast(dt.uint8) if self.dtype is dt.uint8 else every

    def _empty_reduce_shape(self, dim: Any, keepdim: bool) -> tuple[int, ...]:
        axes = self._reduce_axes(dim)
        return tuple(1 if i in axes else s for i, s in enumerate(self.shape) if keepdim or i not in axes)

    @in_accumulate_dtype
    def var(self, dim: Any = None, keepdim: bool = False, correction: int = 1,
            unbiased: bool | None = None) -> "Tensor":
        if unbiased is not None:
            correction = 1 if unbiased else 0
        x = self._float_input()
        n = math.prod(self.shape[a] for a in self._reduce_axes(dim)) if self.ndim else 1
        centered = x - x.mean(dim, keepdim=True)
        return (centered * centered).sum(dim, keepdim) / max(n - correction, 0)

    @in_accumulate_dtype
    def std(self, dim: Any = None, keepdim: bool = False, correction: int = 1,
            unbiased: bool | None = None) -> "Tensor":
        return sqrt_zero_grad(self.var(dim, keepdim, correction, unbiased))

    def var_mean(self, dim: Any = None, keepdim: bool = False, correction: int = 1) -> tuple["Tensor", "Tensor"]:
        return self.var(dim, keepdim, correction), self.mean(dim, keepdim)

    @in_accumulate_dtype
    def logsumexp(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        x = self._float_input()
        if x.numel() == 0:  # an empty sum: log(0) = -inf, as torch
            out = x.exp().sum(dim, keepdim=True).log()
            return out if keepdim else out.reshape(self._empty_reduce_shape(dim, False))
        m = x.detach().amax(dim, keepdim=True)
        m = m.isinf().where(0.0, m)
        out = (x - m).exp().sum(dim, keepdim=True).log() + m
        return out if keepdim else out.reshape(self._empty_reduce_shape(dim, False))

    def softmax(self, dim: int = -1, dtype: Any = None) -> "Tensor":
        return self._float_input()._softmax(dim) if dtype is None else self.cast(dtype)._softmax(dim)

    @in_accumulate_dtype
    def _softmax(self, dim: int) -> "Tensor":
        x = self
        e = (x - _row_max(x, dim)).exp()
        return e / e.sum(dim, keepdim=True)

    def log_softmax(self, dim: int = -1, dtype: Any = None) -> "Tensor":
        return self._float_input()._log_softmax(dim) if dtype is None else self.cast(dtype)._log_softmax(dim)

    @in_accumulate_dtype
    def _log_softmax(self, dim: int) -> "Tensor":
        shifted = self - _row_max(self, dim)
        return shifted - shifted.exp().sum(dim, keepdim=True).log()

    def cumsum(self, dim: int = 0, dtype: Any = None) -> "Tensor":
        x = self.cast(dtype) if dtype is not None else self.cast(dt.sum_dtype(self.dtype))
        return x._cumulative(dim, ReduceOp.SUM)

    def cumprod(self, dim: int = 0, dtype: Any = None, exclusive: bool = False) -> "Tensor":
        x = self.cast(dtype) if dtype is not None else self.cast(dt.sum_dtype(self.dtype))
        return x._cumulative(dim, ReduceOp.PROD, exclusive)

    def _cumulative(self, dim: int, op: ReduceOp, exclusive: bool = False) -> "Tensor":
        """out[i] = reduce(x[j] for j <= i) as one fused kernel over a masked square."""
        if self.ndim == 0:
            return self
        axis = self._axis(dim)
        n = self.shape[axis]
        if n == 0:
            return self
        moved = self.transpose(axis, -1)
        rows = moved.unsqueeze(-2).expand(*moved.shape[:-1], n, n)
        i = core.Tensor.arange(n, dtype=dt.int32, device=self.device).reshape(n, 1)
        j = core.Tensor.arange(n, dtype=dt.int32, device=self.device).reshape(1, n)
        keep = (j < i) if exclusive else (j <= i)
        identity = {ReduceOp.SUM: 0, ReduceOp.PROD: 1}.get(op)
        if identity is None:
            identity = -math.inf if self.dtype.is_float else dt.min_max_values(self.dtype)[0]
        masked = keep.where(rows, core.Tensor.full((), identity, self.dtype, self.device))
        return masked._reduce(op, -1, False).transpose(axis, -1)


def _row_max(x: core.Tensor, dim: int) -> Any:
    """The max that keeps softmax's exp in range (constant for autograd); 0 for an empty x, which torch allows."""
    return x.detach().amax(dim, keepdim=True) if x.numel() else 0.0
