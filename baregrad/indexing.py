"""Tensor indexing: basic (ints, slices with steps, None, Ellipsis) as movement ops, advanced (integer
tensors, bool masks) as one gather, and assignment through the same machinery run backwards.
"""
from __future__ import annotations

import math
from typing import Any

from baregrad import dtype as dt
from baregrad.errors import BoundsError, DTypeError, ShapeError
from baregrad.host_data import flatten_data
from baregrad.tensor import Tensor


def _normalize(t: Tensor, index: Any) -> list:
    items = list(index) if isinstance(index, tuple) else [index]
    host: dict[int, list] = {}  # id(index tensor) -> its values, for index tensors made here from Python lists
    for k, i in enumerate(items):
        if isinstance(i, list):
            items[k] = _list_index(i, t.device, host)
    used = sum(_dims_used(i) for i in items)
    if sum(1 for i in items if i is Ellipsis) > 1:
        raise ShapeError("an index can only have a single ellipsis")
    if used > t.ndim:
        raise BoundsError(f"too many indices for a tensor of shape {t.shape}: {used} dims indexed")
    # identity tests: `in` and index() would call Tensor.__eq__ on tensor items
    ellipsis_at = [k for k, i in enumerate(items) if i is Ellipsis]
    if ellipsis_at:
        k = ellipsis_at[0]
        items[k:k + 1] = [slice(None)] * (t.ndim - used)
    else:
        items += [slice(None)] * (t.ndim - used)
    _check_indices(t, items, host)
    return items


def _list_index(values: list, device: str, host: dict[int, list]) -> Tensor:
    flat, _ = flatten_data(values)
    if any(isinstance(v, float) for v in flat):
        raise DTypeError(f"lists used as indices must hold ints or bools, got float in {values!r}")
    if _is_bool_seq(values):
        return Tensor(values, dtype=dt.bool_, device=device)
    out = Tensor(values, dtype=dt.int64, device=device)
    host[id(out)] = flat
    return out


def _check_indices(t: Tensor, items: list, host: dict[int, list]) -> None:
    """Bounds and mask shapes that are known on the host, checked at the call site as torch does. Values of index
    tensors live on the device: an out-of-range one reads zero and writes nowhere (see _advanced)."""
    dim = 0
    for i in items:
        if isinstance(i, Tensor) and i.dtype is dt.bool_ and i.ndim:
            if i.shape != t.shape[dim:dim + i.ndim]:
                raise BoundsError(f"boolean mask of shape {i.shape} does not match dims {dim}.. of the indexed tensor "
                                  f"of shape {t.shape}")
        elif isinstance(i, Tensor) and id(i) in host:
            size = t.shape[dim]
            bad = next((v for v in host[id(i)] if not -size <= v < size), None)
            if bad is not None:
                raise BoundsError(f"index {bad} is out of bounds for dimension {dim} with size {size} "
                                  f"(tensor of shape {t.shape})")
        dim += _dims_used(i)


def _is_bool_seq(x: Any) -> bool:
    while isinstance(x, list) and x:
        x = x[0]
    return isinstance(x, bool)


def _dims_used(i: Any) -> int:
    if i is None or i is Ellipsis or isinstance(i, bool):
        return 0
    if isinstance(i, Tensor) and i.dtype is dt.bool_:
        return i.ndim  # a 0-d mask adds a dim of size 1 or 0, like a Python bool
    return 1


def getitem(t: Tensor, index: Any) -> Tensor:
    items = _normalize(t, index)
    x = t
    dim = 0
    tensor_dims: list[tuple[int, Tensor]] = []
    for k, item in enumerate(items):
        if item is None:
            x = x.unsqueeze(dim)
            dim += 1
        elif isinstance(item, bool):
            x = x.unsqueeze(dim) if item else x.unsqueeze(dim).narrow(dim, 0, 0)
            dim += 1
        elif isinstance(item, int):
            size = x.shape[dim]
            if not -size <= item < size:
                source_dim = sum(_dims_used(i) for i in items[:k])  # name the user's dim, not the view's
                raise BoundsError(f"index {item} is out of bounds for dimension {source_dim} with size {size}")
            x = x.narrow(dim, item % size, 1).squeeze(dim)
        elif isinstance(item, slice):
            x = _slice(x, dim, item)
            dim += 1
        elif isinstance(item, Tensor):
            if item.dtype is dt.bool_ and item.ndim == 0:
                x = x.unsqueeze(dim) if item.item() else x.unsqueeze(dim).narrow(dim, 0, 0)
                dim += 1
                continue
            if item.dtype is dt.bool_:
                for k, idx in enumerate(item.nonzero_tuple()):
                    tensor_dims.append((dim + k, idx))
                dim += max(item.ndim, 1)
                continue
            if item.dtype.is_float:
                raise DTypeError(f"tensors used as indices must be integer or bool, not {item.dtype.name}")
            tensor_dims.append((dim, item))
            dim += 1
        else:
            raise DTypeError(f"unsupported index type {type(item).__name__}")
    return _advanced(x, tensor_dims) if tensor_dims else x


def _slice(x: Tensor, dim: int, s: slice) -> Tensor:
    size = x.shape[dim]
    if s.step == 0:  # checked before s.indices, which raises a bare ValueError
        raise ShapeError(f"slice step cannot be zero (dim {dim} of a view of shape {x.shape})")
    try:
        start, stop, step = s.indices(size)
    except TypeError:
        raise DTypeError(f"slice bounds must be integers or None, got {s} for dim {dim} of shape {x.shape}") from None
    if step < 0:
        # numpy semantics: walk backwards; flip, then take a forward slice
        count = len(range(start, stop, step))
        x = x.flip(dim)
        start, step = size - 1 - start, -step
        stop = start + count * step
    count = max(0, len(range(start, stop, step)))
    if count == 0:
        return x.narrow(dim, 0, 0)
    x = x.narrow(dim, start, min(size - start, (count - 1) * step + 1))
    if step == 1:
        return x
    # every step-th element: pad to count*step, split the dim into (count, step) and keep column 0
    n = x.shape[dim]
    pads = [(0, 0)] * x.ndim
    pads[dim] = (0, count * step - n)
    x = x.pad(pads)
    x = x.reshape(x.shape[:dim] + (count, step) + x.shape[dim + 1:])
    return x.narrow(dim + 1, 0, 1).squeeze(dim + 1)


def _advanced(x: Tensor, tensor_dims: list[tuple[int, Tensor]]) -> Tensor:
    dims = [d for d, _ in tensor_dims]
    indices = [i.to(x.device) for _, i in tensor_dims]
    shape = indices[0].shape
    for i in indices[1:]:
        shape = _broadcast_shape(shape, i.shape)
    rest = [d for d in range(x.ndim) if d not in dims]
    moved = x.permute(dims + rest)
    sizes = [x.shape[d] for d in dims]
    flat, valid = None, None
    stride = 1
    for size, idx in reversed(list(zip(sizes, indices))):
        idx = idx.cast(dt.int64).expand(shape) if idx.shape != shape else idx.cast(dt.int64)
        idx = (idx < 0).where(idx + size, idx)
        # checked per dim: a bad index must not land on another element of the flattened source
        ok = (idx >= 0) & (idx < size)
        valid = ok if valid is None else valid & ok
        term = idx * stride
        flat = term if flat is None else flat + term
        stride *= size
    n_rest = [x.shape[d] for d in rest]
    source = moved.reshape(math.prod(sizes), *n_rest)
    count = math.prod(shape)
    flat = valid.where(flat, 0)  # read a real element, then mask it: never memory outside the buffer
    index = flat.reshape(count, *([1] * len(rest))).expand(count, *n_rest)
    out = source.gather(0, index).reshape(*shape, *n_rest)
    out = valid.reshape(*shape, *([1] * len(rest))).where(out, out.zeros_like())
    adjacent = dims == list(range(dims[0], dims[0] + len(dims)))
    if adjacent and dims[0] > 0:
        k = len(shape)
        order = list(range(k, k + dims[0])) + list(range(k)) + list(range(k + dims[0], out.ndim))
        out = out.permute(order)
    return out


def _broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    out = []
    for x, y in zip(a, b):
        if x != y and 1 not in (x, y):
            raise ShapeError(f"index shapes {a} and {b} cannot be broadcast together")
        out.append(max(x, y))
    return tuple(out)


def setitem(t: Tensor, index: Any, value: Any) -> None:
    """t[index] = value, as t = where(selected, value scattered into place, t)."""
    items = _normalize(t, index)
    if any(isinstance(i, Tensor) for i in items):
        _setitem_advanced(t, items, value)
        return
    probe = Tensor.zeros(t.shape, dtype=dt.float32, device=t.device, requires_grad=True)
    selected = getitem(probe, index)
    value = _value(t, value).to(t.device).cast(t.dtype).expand(selected.shape)
    mask = _pullback(selected, probe, Tensor.full(selected.shape, True, dt.bool_, t.device))
    placed = _pullback(selected, probe, value)
    t._inplace(mask.where(placed, t))


def _pullback(out: Tensor, root: Tensor, grad: Tensor) -> Tensor:
    """Run the (movement-only) chain from root to out backwards on `grad`: a scatter without data movement."""
    node = out
    while node is not root:
        ctx = node._ctx
        (grad,) = ctx.backward(grad)[:1]
        node = ctx.parents[0]
    return grad


def _setitem_advanced(t: Tensor, items: list, value: Any) -> None:
    n = t.numel()
    # shifted by -n: an out-of-range index reads 0 (see _advanced) and so lands on n, a position the scatter
    # matches nowhere, rather than on element 0
    positions = Tensor.arange(n, dtype=dt.int64, device=t.device).reshape(t.shape) - n
    picked = getitem(positions, tuple(items))
    flat_pos = (picked + n).reshape(-1)
    vals = _value(t, value).to(t.device).cast(t.dtype).expand(picked.shape).reshape(-1)
    flat = t.reshape(-1).scatter(0, flat_pos, vals)
    t._inplace(flat.reshape(t.shape))


def _value(t: Tensor, value: Any) -> Tensor:
    """The right-hand side of t[index] = value as a tensor of t's dtype."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
        return Tensor(value, dtype=t.dtype, device=t.device)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__float__"):
        raise DTypeError(f"cannot assign a {type(value).__name__} to a tensor of {t.dtype.name} and shape {t.shape}")
    return Tensor.full((), value, t.dtype, t.device)
