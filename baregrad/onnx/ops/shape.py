"""ONNX shape and layout operators: reshape/transpose/concat/split/slice/pad/tile, constants and shape queries.

Shapes, axes, pads and slice bounds are host values in ONNX's semantics: they are read with `host_ints` (a
`.tolist()` of a small tensor, usually an initializer or a Constant) because they decide output shapes.
"""
from __future__ import annotations

import math
from typing import Any

import baregrad.dtype as dt
from baregrad.errors import ShapeError
from baregrad.onnx.ops.common import attr_or_input, host_ints, input_at, norm_axes, norm_axis, onnx_dtype
from baregrad.onnx.ops.registry import OpContext, register
from baregrad.tensor import Tensor


def int64_tensor(values: list[int], device: str) -> Tensor:
    if not values:
        return Tensor.zeros(0, dtype=dt.int64, device=device)
    from baregrad.tensor import Tensor as tensor
    return tensor([int(v) for v in values], dtype=dt.int64, device=device)


@register("Shape")
def shape(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    dims = list(inputs[0].shape)
    n = len(dims)
    start, end = attrs.get("start", 0), attrs.get("end", n)
    start = min(max(start + n if start < 0 else start, 0), n)
    end = min(max(end + n if end < 0 else end, 0), n)
    return int64_tensor(dims[start:end], ctx.device)


@register("Size")
def size(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    return Tensor.full((), inputs[0].numel(), dtype=dt.int64, device=ctx.device)


@register("Reshape")
def reshape(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    target = host_ints(inputs[1]) if ctx.opset >= 5 else list(attrs["shape"])
    allow_zero = attrs.get("allowzero", 0)
    out = [x.shape[i] if (d == 0 and not allow_zero) else d for i, d in enumerate(target)]
    if out.count(-1) == 1:
        known = 1
        for d in out:
            if d != -1:
                known *= d
        out[out.index(-1)] = x.numel() // known if known else 0
    return x.reshape(tuple(out))


@register("Flatten")
def flatten(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    axis = attrs.get("axis", 1)
    axis = axis + x.ndim if axis < 0 else axis
    outer = 1
    for d in x.shape[:axis]:
        outer *= d
    inner = 1
    for d in x.shape[axis:]:
        inner *= d
    return x.reshape(outer, inner)


@register("Transpose")
def transpose(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    perm = attrs.get("perm") or list(range(x.ndim))[::-1]
    return x.permute(*norm_axes(perm, x.ndim))


@register("Squeeze")
def squeeze(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    axes = attr_or_input(attrs, "axes", inputs, 1)
    if axes is None:
        return x.reshape(tuple(d for d in x.shape if d != 1))
    axes = set(norm_axes(axes, x.ndim))
    return x.reshape(tuple(d for i, d in enumerate(x.shape) if i not in axes))


@register("Unsqueeze")
def unsqueeze(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    axes = attr_or_input(attrs, "axes", inputs, 1) or []
    rank = x.ndim + len(axes)
    axes = sorted(norm_axes(axes, rank))
    dims = list(x.shape)
    for a in axes:
        dims.insert(a, 1)
    return x.reshape(tuple(dims))


@register("Concat")
def concat(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    tensors = [t for t in inputs if t is not None]
    axis = norm_axis(attrs["axis"], tensors[0].ndim)
    nonempty = [t for t in tensors if t.shape[axis] != 0] or tensors[:1]
    return Tensor.cat(nonempty, axis) if len(nonempty) > 1 else nonempty[0] * 1


def split_sizes(length: int, parts: int) -> list[int]:
    """ONNX's uneven split: ceil(length / parts) each, the last one smaller."""
    chunk = -(-length // parts)
    sizes = [chunk] * (length // chunk) if chunk else [0] * parts
    if chunk and length % chunk:
        sizes.append(length % chunk)
    sizes += [0] * (parts - len(sizes))
    return sizes


@register("Split")
def split(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> tuple[Tensor, ...]:
    x = inputs[0]
    axis = norm_axis(attrs.get("axis", 0), x.ndim)
    sizes = attr_or_input(attrs, "split", inputs, 1)
    if sizes is None:
        parts = attrs.get("num_outputs", ctx.num_outputs)
        sizes = split_sizes(x.shape[axis], parts)
    return tuple(x.narrow(axis, start, n) for start, n in zip(_offsets(sizes), sizes))


def _offsets(sizes: list[int]) -> list[int]:
    out, at = [], 0
    for n in sizes:
        out.append(at)
        at += n
    return out


@register("Expand")
def expand(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, target = inputs[0], host_ints(inputs[1])
    ndim = max(x.ndim, len(target))
    xs = (1,) * (ndim - x.ndim) + tuple(x.shape)
    ts = (1,) * (ndim - len(target)) + tuple(target)
    out = tuple(a if b == 1 else b for a, b in zip(xs, ts))
    return x.reshape(xs).expand(out)


@register("Tile")
def tile(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    return inputs[0].repeat(*host_ints(inputs[1]))


def slice_tensor(x: Tensor, starts: list[int], ends: list[int], axes: list[int], steps: list[int]) -> Tensor:
    """numpy-style slicing along `axes` with ONNX's clamping of out-of-range starts and ends."""
    index: list[Any] = [slice(None)] * x.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        axis = norm_axis(axis, x.ndim)
        n = x.shape[axis]
        if step == 0:
            raise ShapeError("ONNX Slice step must not be 0")
        start = start + n if start < 0 else start
        end = end + n if end < 0 else end
        if step > 0:
            start, end = min(max(start, 0), n), min(max(end, 0), n)
            index[axis] = slice(start, max(end, start), step)
        else:
            start, end = min(max(start, -1), n - 1), min(max(end, -1), n - 1)
            index[axis] = slice(start, end if end >= 0 else None, step) if start > end else slice(0, 0)
    return x[tuple(index)]


@register("Slice")
def slice_op(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    if ctx.opset < 10:
        starts, ends = list(attrs["starts"]), list(attrs["ends"])
        axes = list(attrs.get("axes", range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = host_ints(inputs[1]), host_ints(inputs[2])
        axes = host_ints(input_at(inputs, 3)) or list(range(len(starts)))
        steps = host_ints(input_at(inputs, 4)) or [1] * len(starts)
    return slice_tensor(x, starts, ends, axes, steps)


@register("Pad")
def pad(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    mode = attrs.get("mode", "constant")
    if ctx.opset < 11:
        pads, value, axes = list(attrs.get("pads", attrs.get("paddings"))), attrs.get("value", 0.0), None
    else:
        pads = host_ints(inputs[1])
        value_t = input_at(inputs, 2)
        value = value_t.reshape(-1).tolist()[0] if value_t is not None and value_t.numel() else 0
        axes = host_ints(input_at(inputs, 3))
    axes = norm_axes(axes, x.ndim) if axes is not None else list(range(x.ndim))
    k = len(axes)
    pairs = [(0, 0)] * x.ndim
    for i, a in enumerate(axes):
        pairs[a] = (pads[i], pads[i + k])
    return pad_tensor(x, pairs, mode, value)


def pad_tensor(x: Tensor, pairs: list[tuple[int, int]], mode: str, value: Any = 0) -> Tensor:
    if mode == "constant":
        if not x.dtype.is_float:
            value = int(value)
        return x.pad(pairs, value)
    out = x
    for axis, (before, after) in enumerate(pairs):
        if before or after:
            out = _pad_axis(out, axis, before, after, mode)
    return out


def _pad_axis(x: Tensor, axis: int, before: int, after: int, mode: str) -> Tensor:
    n = x.shape[axis]
    if mode == "edge":
        idx = [0] * before + list(range(n)) + [n - 1] * after
    elif mode == "reflect":
        idx = [_reflect(i, n) for i in range(-before, n + after)]
    elif mode == "wrap":
        idx = [i % n for i in range(-before, n + after)]
    else:
        raise ShapeError(f"ONNX Pad mode {mode!r} is not one of constant/reflect/edge/wrap")
    return x.index_select(axis, int64_tensor(idx, x.device))


def _reflect(i: int, n: int) -> int:
    if n == 1:
        return 0
    period = 2 * (n - 1)
    i = i % period
    return i if i < n else period - i


@register("ConstantOfShape")
def constant_of_shape(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    dims = host_ints(inputs[0])
    value = attrs.get("value")
    if value is None:
        return Tensor.zeros(*dims, dtype=dt.float32, device=ctx.device)
    n = math.prod(dims)
    if _HOST_FILL_MIN <= n <= _HOST_FILL_MAX and value.numel == 1:
        # filled on the host, no kernel: the light ImageNet models build every weight this way, and a lazy fill
        # compiled one kernel per weight shape on the first call (left lazy instead, the constant fused into the
        # convs made them several times slower than convs reading a weight buffer)
        return Tensor.from_bytes(bytes(value.to_bytes()) * n, value.dtype, tuple(dims), ctx.device)
    v = value.to_tensor(ctx.device)
    return v.reshape(()).expand(tuple(dims)) * 1 if dims else v.reshape(())


_HOST_FILL_MIN, _HOST_FILL_MAX = 4096, 1 << 26  # elements: smaller fills stay lazy (they fuse), larger are not weights


@register("Constant")
def constant(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    if "value" in attrs:
        return attrs["value"].to_tensor(ctx.device)
    if "sparse_value" in attrs:
        return attrs["sparse_value"].to_tensor(ctx.device)
    if "value_float" in attrs:
        return Tensor.full((), float(attrs["value_float"]), dtype=dt.float32, device=ctx.device)
    if "value_int" in attrs:
        return Tensor.full((), int(attrs["value_int"]), dtype=dt.int64, device=ctx.device)
    if "value_floats" in attrs:
        from baregrad.tensor import Tensor as tensor
        return tensor([float(v) for v in attrs["value_floats"]], dtype=dt.float32, device=ctx.device)
    if "value_ints" in attrs:
        return int64_tensor(list(attrs["value_ints"]), ctx.device)
    raise ShapeError(f"ONNX Constant {ctx.node_name} has no value attribute baregrad can hold (strings are not)")


@register("Range")
def range_op(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    start, limit, delta = (t.reshape(()).tolist() for t in inputs)
    d = inputs[0].dtype
    n = max(math.ceil((limit - start) / delta), 0)
    return (Tensor.arange(n, dtype=d if not d.is_float else dt.float64, device=ctx.device) * delta
            + start).cast(d) if n else Tensor.zeros(0, dtype=d, device=ctx.device)


@register("EyeLike")
def eye_like(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    d = onnx_dtype(attrs["dtype"]) if "dtype" in attrs else x.dtype
    rows, cols = x.shape
    k = attrs.get("k", 0)
    r = Tensor.arange(rows, device=ctx.device).reshape(rows, 1)
    c = Tensor.arange(cols, device=ctx.device).reshape(1, cols)
    return (c - r == k).cast(d)


@register("Trilu")
def trilu(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    k = host_ints(input_at(inputs, 1))
    k = k[0] if k else 0
    return x.triu(k) if attrs.get("upper", 1) else x.tril(k)


@register("DepthToSpace")
def depth_to_space(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, b = inputs[0], attrs["blocksize"]
    n, c, h, w = x.shape
    if attrs.get("mode", "DCR") == "DCR":
        y = x.reshape(n, b, b, c // (b * b), h, w).permute(0, 3, 4, 1, 5, 2)
    else:
        y = x.reshape(n, c // (b * b), b, b, h, w).permute(0, 1, 4, 2, 5, 3)
    return y.reshape(n, c // (b * b), h * b, w * b)


@register("SpaceToDepth")
def space_to_depth(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, b = inputs[0], attrs["blocksize"]
    n, c, h, w = x.shape
    if attrs.get("mode", "DCR") == "CRD":
        y = x.reshape(n, c, h // b, b, w // b, b).permute(0, 1, 3, 5, 2, 4)
    else:
        y = x.reshape(n, c, h // b, b, w // b, b).permute(0, 3, 5, 1, 2, 4)
    return y.reshape(n, c * b * b, h // b, w // b)


@register("CenterCropPad")
def center_crop_pad(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, target = inputs[0], host_ints(inputs[1])
    axes = norm_axes(attrs.get("axes", list(range(x.ndim))), x.ndim)
    pairs = [(0, 0)] * x.ndim
    for axis, want in zip(axes, target):
        have = x.shape[axis]
        if want < have:  # crop: the extra element goes to the end
            lo = (have - want) // 2
            pairs[axis] = (-lo, -(have - want - lo))
        else:
            lo = (want - have) // 2
            pairs[axis] = (lo, want - have - lo)
    return x.pad(pairs, 0)
