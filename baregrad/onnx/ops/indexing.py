"""ONNX indexing: Gather*, Scatter*, TensorScatter, OneHot, Compress, NonZero, TopK, Unique, ReverseSequence.

Index tensors may hold negative values (counted from the end) as ONNX allows; they are wrapped lazily with a
`where`, never read back. Ops whose output shape depends on values (NonZero, Compress, Unique) read them on the host.
"""
from __future__ import annotations

from typing import Any

import baregrad.dtype as dt
from baregrad.onnx.ops.common import host_ints, input_at, norm_axis
from baregrad.onnx.ops.registry import OpContext, register
from baregrad.tensor import Tensor


def wrap(index: Tensor, n: int) -> Tensor:
    """Negative indices count from the end."""
    index = index.cast(dt.int64)
    return (index < 0).where(index + n, index)


def int64_list(values: list[int], device: str) -> Tensor:
    if not values:
        return Tensor.zeros(0, dtype=dt.int64, device=device)
    return Tensor([int(v) for v in values], dtype=dt.int64, device=device)


@register("Gather")
def gather(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, idx = inputs
    axis = norm_axis(attrs.get("axis", 0), x.ndim)
    flat = wrap(idx, x.shape[axis]).reshape(-1)
    picked = x.index_select(axis, flat) if flat.shape[0] else x.narrow(axis, 0, 0)
    return picked.reshape(*x.shape[:axis], *idx.shape, *x.shape[axis + 1:])


@register("GatherElements")
def gather_elements(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, idx = inputs
    axis = norm_axis(attrs.get("axis", 0), x.ndim)
    return x.gather(axis, wrap(idx, x.shape[axis]))


def _linear_index(indices: Tensor, dims: tuple[int, ...]) -> Tensor:
    """(..., k) coordinates into the first k dims `dims` -> (...) flat row-major positions."""
    k = indices.shape[-1]
    flat = None
    stride = 1
    for j in range(k - 1, -1, -1):
        term = wrap(indices[..., j], dims[j]) * stride
        flat = term if flat is None else flat + term
        stride *= dims[j]
    if flat is None:
        flat = Tensor.zeros(*indices.shape[:-1], dtype=dt.int64, device=indices.device)
    return flat


@register("GatherND")
def gather_nd(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, indices = inputs
    b = attrs.get("batch_dims", 0)
    k = indices.shape[-1]
    batch = x.shape[:b]
    nb = 1
    for d in batch:
        nb *= d
    picked_dims = x.shape[b:b + k]
    rest = x.shape[b + k:]
    per = 1
    for d in picked_dims:
        per *= d
    idx = indices.reshape(nb, -1, k)
    flat = _linear_index(idx, picked_dims) + Tensor.arange(nb, dtype=dt.int64, device=x.device).reshape(nb, 1) * per
    out = x.reshape(nb * per, *rest).index_select(0, flat.reshape(-1))
    return out.reshape(*batch, *indices.shape[b:-1], *rest)


def _scatter_along(data: Tensor, axis: int, index: Tensor, updates: Tensor, reduction: str) -> Tensor:
    index = wrap(index, data.shape[axis])
    updates = updates.cast(data.dtype)
    if reduction == "none":
        return data.scatter(axis, index, updates)
    if reduction == "add":
        return data.scatter(axis, index, updates, reduce="add").cast(data.dtype)
    if reduction == "mul":
        return data.scatter(axis, index, updates, reduce="multiply").cast(data.dtype)
    return data.scatter_reduce(axis, index, updates, {"max": "amax", "min": "amin"}[reduction]).cast(data.dtype)


@register("ScatterElements")
def scatter_elements(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    data, idx, updates = inputs
    axis = norm_axis(attrs.get("axis", 0), data.ndim)
    return _scatter_along(data, axis, idx, updates, attrs.get("reduction", "none"))


register("Scatter")(scatter_elements)


@register("ScatterND")
def scatter_nd(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    data, indices, updates = inputs
    k = indices.shape[-1]
    picked = data.shape[:k]
    rest = data.shape[k:]
    per = 1
    for d in picked:
        per *= d
    flat = _linear_index(indices, picked).reshape(-1)
    m = flat.shape[0]
    upd = updates.reshape(m, *rest)
    index = flat.reshape(m, *[1] * len(rest)).expand(m, *rest)
    out = _scatter_along(data.reshape(per, *rest), 0, index, upd, attrs.get("reduction", "none"))
    return out.reshape(data.shape)


@register("TensorScatter")
def tensor_scatter(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    """Write `update` into the cache along `axis` at per-batch offsets (a KV-cache update), optionally circular."""
    cache, update, offsets = inputs[0], inputs[1], input_at(inputs, 2)
    axis = norm_axis(attrs.get("axis", -2), cache.ndim)
    b, s, capacity = cache.shape[0], update.shape[axis], cache.shape[axis]
    start = offsets.cast(dt.int64) if offsets is not None else Tensor.zeros(b, dtype=dt.int64, device=cache.device)
    pos = start.reshape(b, *[1] * (cache.ndim - 1)) + Tensor.arange(s, dtype=dt.int64, device=cache.device).reshape(
        *[s if d == axis else 1 for d in range(cache.ndim)])
    if attrs.get("mode", "linear") == "circular":
        pos = pos % capacity
    index = pos.expand(update.shape)
    return cache.scatter(axis, index, update.cast(cache.dtype))


@register("OneHot")
def one_hot(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    indices, depth_t, values = inputs
    depth = int(depth_t.reshape(-1).tolist()[0])
    axis = attrs.get("axis", -1)
    rank = indices.ndim + 1
    axis = norm_axis(axis, rank)
    idx = indices.cast(dt.int64) if indices.dtype.is_float is False else indices.floor().cast(dt.int64)
    idx = (idx < 0).where(idx + depth, idx).unsqueeze(axis)
    positions = Tensor.arange(depth, dtype=dt.int64, device=indices.device).reshape(
        *[depth if d == axis else 1 for d in range(rank)])
    off, on = values[0], values[1]
    return (idx == positions).where(on, off).cast(values.dtype)


@register("Compress")
def compress(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, cond = inputs
    keep = [i for i, c in enumerate(cond.reshape(-1).tolist()) if c]
    if "axis" not in attrs:
        flat = x.reshape(-1)
        keep = [i for i in keep if i < flat.shape[0]]
        return flat.index_select(0, int64_list(keep, x.device)) if keep else flat.narrow(0, 0, 0)
    axis = norm_axis(attrs["axis"], x.ndim)
    keep = [i for i in keep if i < x.shape[axis]]
    return x.index_select(axis, int64_list(keep, x.device)) if keep else x.narrow(axis, 0, 0)


@register("NonZero")
def nonzero(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    if x.ndim == 0:
        return Tensor.zeros(0, 1 if x.item() else 0, dtype=dt.int64, device=x.device)
    coords = x.nonzero()
    return coords.T.cast(dt.int64) * 1 if coords.shape[0] else Tensor.zeros(x.ndim, 0, dtype=dt.int64,
                                                                            device=x.device)


@register("TopK")
def top_k(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> tuple[Tensor, Tensor]:
    x = inputs[0]
    k = host_ints(inputs[1])[0] if ctx.opset >= 10 else attrs["k"]
    axis = norm_axis(attrs.get("axis", -1), x.ndim)
    values, indices = x.topk(k, axis, largest=bool(attrs.get("largest", 1)), sorted=True)
    return values, indices.cast(dt.int64)


@register("Unique")
def unique(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> tuple[Tensor, ...]:
    """Distinct values (or slices along `axis`), first-occurrence indices, inverse map and counts, on the host."""
    x = inputs[0]
    axis = attrs.get("axis")
    if axis is None:
        items = [(v,) for v in x.reshape(-1).tolist()]
        moved = x.reshape(-1)
        axis_n = 0
    else:
        axis_n = norm_axis(axis, x.ndim)
        moved = x.movedim(axis_n, 0)
        items = [tuple(_flatten(row)) for row in moved.tolist()]
    first: dict[tuple, int] = {}
    for i, item in enumerate(items):
        first.setdefault(item, i)
    keys = sorted(first) if attrs.get("sorted", 1) else list(first)
    position = {key: j for j, key in enumerate(keys)}
    order = [first[key] for key in keys]
    inverse = [position[item] for item in items]
    counts = [0] * len(keys)
    for item in items:
        counts[position[item]] += 1
    picked = moved.index_select(0, int64_list(order, x.device))
    y = picked if axis is None else picked.movedim(0, axis_n)
    return (y, int64_list(order, x.device), int64_list(inverse, x.device), int64_list(counts, x.device))


def _flatten(row: Any) -> list:
    if not isinstance(row, list):
        return [row]
    out: list = []
    stack = [row]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        else:
            out.append(item)
    return out


@register("ReverseSequence")
def reverse_sequence(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, lens = inputs
    batch_axis, time_axis = attrs.get("batch_axis", 1), attrs.get("time_axis", 0)
    t_n, b_n = x.shape[time_axis], x.shape[batch_axis]
    t = Tensor.arange(t_n, dtype=dt.int64, device=x.device).reshape(
        *[t_n if d == time_axis else 1 for d in range(x.ndim)])
    length = lens.cast(dt.int64).reshape(*[b_n if d == batch_axis else 1 for d in range(x.ndim)])
    src = (t < length).where(length - 1 - t, t)
    return x.gather(time_axis, src.expand(x.shape))


@register("ArrayFeatureExtractor", "ai.onnx.ml")
def array_feature_extractor(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, idx = inputs
    flat = idx.reshape(-1).cast(dt.int64)
    out = x.index_select(x.ndim - 1, flat)
    return out if x.ndim > 1 else out.reshape(1, -1)
