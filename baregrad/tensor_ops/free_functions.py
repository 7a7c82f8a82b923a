"""torch.* free functions that are no Tensor method: the stacking family (hstack, vstack, dstack, column_stack,
atleast_Nd), from_numpy, block_diag, cartesian_prod, combinations, tensordot, cdist, vander, trapezoid, logspace,
and torch.max / torch.min's several forms.

tensor_ops/functions.py's table exports them. Like the Tensor methods, each is written with Tensor ops, so it is
lazy and differentiable; `logspace` for integer dtypes and `combinations` build their values or indices from the
arguments alone, never from tensor data.
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Sequence

from baregrad import dtype as dt
from baregrad.errors import ArgumentError, DTypeError, ShapeError
from baregrad.tensor import Tensor
from baregrad.tensor_ops.linalg import vector_norm
from baregrad.tensor_ops.movement import meshgrid


def _each(fn: Callable[[Tensor], Tensor], tensors: tuple) -> Any:
    """torch's atleast_Nd calling convention: f(t) -> t, f(t1, t2) -> tuple, f([t1, t2]) -> tuple."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(fn(t) for t in tensors[0])
    out = tuple(fn(t) for t in tensors)
    return out[0] if len(out) == 1 else out


def _at_least_1d(t: Tensor) -> Tensor:
    return t.reshape(1) if t.ndim == 0 else t


def _at_least_2d(t: Tensor) -> Tensor:
    return t.reshape((1,) * (2 - t.ndim) + t.shape) if t.ndim < 2 else t


def _at_least_3d(t: Tensor) -> Tensor:
    # torch: a vector (n) becomes (1, n, 1) and a matrix (m, n) becomes (m, n, 1)
    shapes = {0: (1, 1, 1), 1: (1, *t.shape, 1), 2: (*t.shape, 1)}
    return t.reshape(shapes[t.ndim]) if t.ndim < 3 else t


def atleast_1d(*tensors: Any) -> Any:
    return _each(_at_least_1d, tensors)


def atleast_2d(*tensors: Any) -> Any:
    return _each(_at_least_2d, tensors)


def atleast_3d(*tensors: Any) -> Any:
    return _each(_at_least_3d, tensors)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along dim 1, or along dim 0 when the inputs are vectors."""
    parts = [_at_least_1d(t) for t in tensors]
    return Tensor.cat(parts, 0 if parts and parts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    return Tensor.cat([_at_least_2d(t) for t in tensors], 0)


row_stack = vstack


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    return Tensor.cat([_at_least_3d(t) for t in tensors], 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Vectors (and scalars) as columns, matrices as they are, side by side."""
    return Tensor.cat([t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in tensors], 1)


def concatenate(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    return Tensor.cat(tensors, dim)


concat = concatenate


# ---- creation ----
def from_numpy(array: Any) -> Tensor:
    """A tensor holding a copy of a numpy array, on the default device. torch shares the array's memory instead;
    a baregrad tensor owns its buffer (it may live on an accelerator), so later writes to the array do not show."""
    if type(array).__module__ != "numpy" or type(array).__name__ != "ndarray":
        raise DTypeError(f"from_numpy needs a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def logspace(start: float, end: float, steps: int, base: float = 10.0, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """base ** linspace(start, end, steps)."""
    d = dt.to_dtype(dtype) if dtype is not None else dt.default_float
    if steps < 0:
        raise ArgumentError(f"logspace needs steps >= 0, got {steps}")
    if not d.is_float:
        return Tensor(_integer_logspace(start, end, steps, base), dtype=d, device=device)
    exponents = Tensor.linspace(start, end, steps, dtype=dt.float64 if d is dt.float64 else dt.float32,
                                device=device)
    out = exponents.pow(float(base), reverse=True).cast(d)
    return out.requires_grad_() if requires_grad else out


def _integer_logspace(start: float, end: float, steps: int, base: float) -> list[int]:
    """torch's integer logspace: base, start and end truncated to integers, powers in double precision (exact
    for the powers an integer dtype can hold, where float32 powers on a device would round 10**2 to 99)."""
    base, start, end = int(base), int(start), int(end)
    step = (end - start) / (steps - 1) if steps > 1 else 0.0
    # the second half counts back from the end, as torch does, so the last value is exactly base ** end
    exponents = [start + step * i if i < steps // 2 else end - step * (steps - 1 - i) for i in range(steps)]
    return [int(float(base) ** e) for e in exponents]


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:  # noqa: N803 - torch's name
    """Columns x**(N-1), ..., x**0 (or the other way round with increasing=True)."""
    if x.ndim != 1:
        raise ShapeError(f"vander needs a 1-d tensor, got shape {x.shape}")
    n = x.shape[0]
    N = n if N is None else N  # noqa: N806
    if N < 0:
        raise ArgumentError(f"vander needs N >= 0, got {N}")
    d = dt.promote(x.dtype, dt.int64)  # torch: integers and bools widen to int64, floats stay
    if N == 0:
        return Tensor.zeros(n, 0, dtype=d, device=x.device)
    # torch builds the powers by a running product too, so the rounding of float results matches
    powers = x.cast(d).unsqueeze(1).expand(n, N - 1).cumprod(1)
    out = Tensor.cat([Tensor.ones(n, 1, dtype=d, device=x.device), powers], 1)
    return out if increasing else out.flip(1)


# ---- combining tensors ----
def block_diag(*tensors: Tensor) -> Tensor:
    """The inputs (each at most 2-d) as blocks along the diagonal of one matrix, zeros elsewhere."""
    mats = []
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise ShapeError(f"block_diag needs tensors of at most 2 dims; input {i} has shape {t.shape}")
        mats.append(t.reshape((1,) * (2 - t.ndim) + t.shape))
    if not mats:
        return Tensor.zeros(1, 0)
    d = mats[0].dtype
    for m in mats[1:]:
        d = dt.promote(d, m.dtype)
    width, left, rows = sum(m.shape[1] for m in mats), 0, []
    for m in mats:
        rows.append(m.cast(d).pad([(0, 0), (left, width - left - m.shape[1])]))
        left += m.shape[1]
    return Tensor.cat(rows, 0)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every combination of one element from each 1-d input, one per row (itertools.product order)."""
    if any(t.ndim != 1 for t in tensors):
        raise ShapeError(f"cartesian_prod needs 1-d tensors, got shapes {[tuple(t.shape) for t in tensors]}")
    if len(tensors) == 1:
        return tensors[0]
    return Tensor.stack([g.reshape(-1) for g in meshgrid(*tensors, indexing="ij")], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:  # noqa: A002 - torch's name
    """Every length-r combination of the elements of a 1-d tensor, one per row (itertools order). The index
    pattern depends only on the length and r, so it is built here and gathered lazily."""
    if input.ndim != 1:
        raise ShapeError(f"combinations needs a 1-d tensor, got shape {input.shape}")
    if r < 0:
        raise ArgumentError(f"combinations needs r >= 0, got {r}")
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(pick(range(input.shape[0]), r)) if r else []
    if not rows:  # empty, yet part of the graph as torch's result is; r = 0 gives shape (0,) in torch
        return input.narrow(0, 0, 0).reshape((0, r) if r else (0,))
    return input.take(Tensor(rows, dtype=dt.int64, device=input.device))


def _dims_list(dims: Any) -> list[int]:
    return [dims] if isinstance(dims, int) else [int(d) for d in dims]


def _tensordot_dims(a: Tensor, b: Tensor, dims: Any) -> tuple[list[int], list[int]]:
    """Contracted dims of a and of b, as non-negative axes, from torch's int / pair-of-lists / tensor forms."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()  # a sync, as in torch, where the dims must be known to lay out the product
    if isinstance(dims, int):
        if dims < 0 or dims > min(a.ndim, b.ndim):
            raise ArgumentError(f"tensordot needs 0 <= dims <= {min(a.ndim, b.ndim)} for shapes {a.shape} and "
                                f"{b.shape}, got dims={dims}")
        return list(range(a.ndim - dims, a.ndim)), list(range(dims))
    dims_a, dims_b = _dims_list(dims[0]), _dims_list(dims[1])
    if len(dims_a) != len(dims_b):
        raise ShapeError(f"tensordot dim lists differ in length: {dims_a} and {dims_b}")
    return [a._axis(d) for d in dims_a], [b._axis(d) for d in dims_b]


def _numel(t: Tensor, dims: list[int]) -> int:
    return math.prod(t.shape[d] for d in dims)


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Sum of a * b over paired dims: laid out as one matrix product (free_a, K) @ (K, free_b)."""
    dims_a, dims_b = _tensordot_dims(a, b, dims)
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise ShapeError(f"tensordot: dim {da} of {a.shape} and dim {db} of {b.shape} differ in size")
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    left = a.permute(free_a + dims_a).reshape(_numel(a, free_a), _numel(a, dims_a))
    right = b.permute(dims_b + free_b).reshape(_numel(b, dims_b), _numel(b, free_b))
    return (left @ right).reshape([a.shape[d] for d in free_a] + [b.shape[d] for d in free_b])


_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str = _CDIST_MODES[0]) -> Tensor:
    """p-norm distance between each row of x1 (..., P, M) and each row of x2 (..., R, M): (..., P, R).

    Always from the differences (torch's 'donot_use_mm' mode): the matrix-product form that torch may pick for
    p=2 cancels badly for near points, and the difference form fuses into one reduce kernel anyway."""
    if compute_mode not in _CDIST_MODES:
        raise ArgumentError(f"cdist compute_mode must be one of {_CDIST_MODES}, got {compute_mode!r}")
    if p < 0:
        raise ArgumentError(f"cdist needs p >= 0, got {p}")
    if x1.ndim < 2 or x2.ndim < 2:
        raise ShapeError(f"cdist needs tensors of at least 2 dims, got shapes {x1.shape} and {x2.shape}")
    if x1.shape[-1] != x2.shape[-1]:
        raise ShapeError(f"cdist needs the same number of columns, got shapes {x1.shape} and {x2.shape}")
    if not (x1.dtype.is_float and x2.dtype.is_float):
        raise DTypeError(f"cdist needs floating-point tensors, got {x1.dtype.name} and {x2.dtype.name}")
    return vector_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, -1)


def trapezoid(y: Tensor, x: Tensor | None = None, *, dx: float | None = None, dim: int = -1) -> Tensor:
    """Integral of y along dim by the trapezoidal rule, with sample points x or a constant spacing dx."""
    if x is not None and dx is not None:
        raise ArgumentError("trapezoid takes sample points x or a spacing dx, not both")
    axis = y._axis(dim)
    n = y.shape[axis]
    if n == 0:  # nothing to integrate: torch returns zeros of the reduced shape
        return y.sum(axis) * 0.0
    if x is None:
        ends = y.select(axis, 0) + y.select(axis, -1)
        return (y.sum(axis) - ends * 0.5) * (1 if dx is None else dx)
    spacing = _spacing(x, y, axis)
    return (spacing * (y.narrow(axis, 1, n - 1) + y.narrow(axis, 0, n - 1))).sum(axis) / 2


def _spacing(x: Tensor, y: Tensor, axis: int) -> Tensor:
    """The steps of x along y's `axis`: a 1-d x gives one step per interval; else x broadcasts against y."""
    if x.ndim == 1:
        if x.shape[0] != y.shape[axis]:
            raise ShapeError(f"trapezoid needs one x per sample: x has shape {x.shape}, y has {y.shape} "
                             f"(dim {axis})")
        return x.diff().reshape([x.shape[0] - 1 if d == axis else 1 for d in range(y.ndim)])
    return x.reshape((1,) * (y.ndim - x.ndim) + x.shape).diff(dim=axis)


trapz = trapezoid


# ---- max and min, which take more than one form (named torch_* here so this module keeps the builtins) ----
def torch_max(input: Tensor, *args: Any, **kwargs: Any) -> Any:  # noqa: A002 - torch's name
    """torch.max(input), torch.max(input, dim, keepdim) and, with a tensor second argument, maximum."""
    if args and isinstance(args[0], Tensor):
        return input.maximum(args[0])
    return input.max(*args, **kwargs)


def torch_min(input: Tensor, *args: Any, **kwargs: Any) -> Any:  # noqa: A002 - torch's name
    """torch.min(input), torch.min(input, dim, keepdim) and, with a tensor second argument, minimum."""
    if args and isinstance(args[0], Tensor):
        return input.minimum(args[0])
    return input.min(*args, **kwargs)


# the functions of this module that torch has as torch.NAME (tensor_ops/functions.py's table exports them)
FREE_FUNCTIONS = (atleast_1d, atleast_2d, atleast_3d, hstack, vstack, dstack, column_stack, concatenate, from_numpy,
                  logspace, vander, block_diag, cartesian_prod, combinations, tensordot, cdist, trapezoid)

__all__ = ["FREE_FUNCTIONS", "torch_max", "torch_min", *(fn.__name__ for fn in FREE_FUNCTIONS)]
