"""ONNX convolution, pooling and normalization operators (Conv/ConvTranspose, *Pool, *Normalization, LRN, Dropout).

Padding follows ONNX: explicit `pads` (all begins, then all ends) or `auto_pad` (SAME_UPPER / SAME_LOWER / VALID),
and pooling's ceil_mode adds windows that start inside the padded input.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import baregrad.dtype as dt
import baregrad.nn.functional as F
from baregrad.errors import ShapeError
from baregrad.onnx.ops.common import host_scalar, input_at, norm_axis, wide
from baregrad.onnx.ops.registry import OpContext, register
from baregrad.tensor import Tensor


@dataclass
class Window:
    """Per spatial dim: kernel, stride, dilation, pad before/after (ceil-mode extra included in `extra`)."""
    kernel: list[int]
    strides: list[int]
    dilations: list[int]
    begins: list[int]
    ends: list[int]
    outs: list[int]


def window_from_attrs(spatial: tuple[int, ...], kernel: list[int], attrs: dict[str, Any],
                      ceil_mode: bool = False) -> Window:
    n = len(spatial)
    strides = list(attrs.get("strides", [1] * n))
    dilations = list(attrs.get("dilations", [1] * n))
    pads = list(attrs.get("pads", [0] * (2 * n)))
    begins, ends = pads[:n], pads[n:]
    auto = attrs.get("auto_pad", "NOTSET")
    outs = []
    for i, size in enumerate(spatial):
        span = (kernel[i] - 1) * dilations[i] + 1
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            out = -(-size // strides[i])
            total = max((out - 1) * strides[i] + span - size, 0)
            small, big = total // 2, total - total // 2
            begins[i], ends[i] = (small, big) if auto == "SAME_UPPER" else (big, small)
        elif auto == "VALID":
            begins[i] = ends[i] = 0
        padded = size + begins[i] + ends[i]
        if ceil_mode:
            out = -(-(padded - span) // strides[i]) + 1
            if (out - 1) * strides[i] >= size + begins[i]:  # a window may not start in the end padding
                out -= 1
        else:
            out = (padded - span) // strides[i] + 1
        outs.append(max(out, 0))
    return Window(list(kernel), strides, dilations, begins, ends, outs)


def windows(x: Tensor, w: Window, fill: float) -> list[tuple[tuple[int, ...], Tensor]]:
    """Every kernel offset with the strided view of the padded input it reads: out = reduce over offsets."""
    n = len(w.kernel)
    need = [(o - 1) * s + (k - 1) * d + 1 for o, s, k, d in zip(w.outs, w.strides, w.kernel, w.dilations)]
    spatial = x.shape[2:]
    extra = [max(nd - (sz + b + e), 0) for nd, sz, b, e in zip(need, spatial, w.begins, w.ends)]
    pairs = [(0, 0), (0, 0)] + [(b, e + x_) for b, e, x_ in zip(w.begins, w.ends, extra)]
    padded = x.pad(pairs, fill) if any(p != (0, 0) for p in pairs) else x
    views = []
    for offset in itertools.product(*[range(k) for k in w.kernel]):
        index: list[Any] = [slice(None), slice(None)]
        for i in range(n):
            start = offset[i] * w.dilations[i]
            index.append(slice(start, start + (w.outs[i] - 1) * w.strides[i] + 1, w.strides[i]))
        views.append((offset, padded[tuple(index)]))
    return views


# ---- convolution ----
def _conv_fn(n: int):
    return {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}.get(n)


@register("Conv")
def conv(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, weight, bias = inputs[0], inputs[1], input_at(inputs, 2)
    kernel = list(attrs.get("kernel_shape", weight.shape[2:]))
    w = window_from_attrs(x.shape[2:], kernel, attrs)
    return conv_nd(x, weight, bias, w, attrs.get("group", 1))


def conv_nd(x: Tensor, weight: Tensor, bias: Tensor | None, w: Window, groups: int) -> Tensor:
    n = x.ndim - 2
    pairs = [(0, 0), (0, 0)] + list(zip(w.begins, w.ends))
    x = x.pad(pairs) if any(p != (0, 0) for p in pairs) else x
    fn = _conv_fn(n)
    if fn is None:
        raise ShapeError(f"ONNX Conv over {n} spatial dims is not supported (1 to 3 are)")
    out = fn(wide(x), wide(weight), None if bias is None else wide(bias), stride=tuple(w.strides), padding=0,
             dilation=tuple(w.dilations), groups=groups)
    return out.cast(x.dtype)


@register("ConvTranspose")
def conv_transpose(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, weight, bias = inputs[0], inputs[1], input_at(inputs, 2)
    n = x.ndim - 2
    group = attrs.get("group", 1)
    kernel = list(attrs.get("kernel_shape", weight.shape[2:]))
    strides = list(attrs.get("strides", [1] * n))
    dil = list(attrs.get("dilations", [1] * n))
    out_pad = list(attrs.get("output_padding", [0] * n))
    pads = list(attrs.get("pads", [0] * (2 * n)))
    auto = attrs.get("auto_pad", "NOTSET")
    spatial = x.shape[2:]
    if "output_shape" in attrs:
        target = list(attrs["output_shape"])[-n:]
        for i in range(n):
            total = strides[i] * (spatial[i] - 1) + out_pad[i] + ((kernel[i] - 1) * dil[i] + 1) - target[i]
            # a negative total grows the output at the end (pads become negative crops of nothing)
            first = total // 2 if auto == "SAME_UPPER" else total - total // 2
            pads[i], pads[i + n] = first, total - first
    elif auto in ("SAME_UPPER", "SAME_LOWER"):
        for i in range(n):
            target = spatial[i] * strides[i]
            total = max(strides[i] * (spatial[i] - 1) + out_pad[i] + ((kernel[i] - 1) * dil[i] + 1) - target, 0)
            small, big = total // 2, total - total // 2
            pads[i], pads[i + n] = (small, big) if auto == "SAME_UPPER" else (big, small)
    # the adjoint of a strided conv: spread the input by the stride, pad by the dilated kernel extent, and
    # convolve with the kernel flipped and its in/out channels swapped per group
    b, cin = x.shape[0], x.shape[1]
    if any(s > 1 for s in strides):
        spread = x.reshape(b, cin, *[d for s in spatial for d in (s, 1)])
        spread = spread.pad([(0, 0), (0, 0)] + [p for s in strides for p in ((0, 0), (0, s - 1))])
        spread = spread.reshape(b, cin, *[d * s for d, s in zip(spatial, strides)])
        x = spread.narrow(2, 0, spread.shape[2]) if n == 0 else spread
        x = x[(slice(None), slice(None)) + tuple(slice(0, (d - 1) * s + 1) for d, s in zip(spatial, strides))]
    pairs = [(0, 0), (0, 0)]
    for i in range(n):
        span = (kernel[i] - 1) * dil[i]
        pairs.append((span - pads[i], span - pads[i + n] + out_pad[i]))
    x = x.pad(pairs)
    cout_g = weight.shape[1]
    wt = weight.reshape(group, cin // group, cout_g, *kernel).transpose(1, 2)
    wt = wt.reshape(group * cout_g, cin // group, *kernel).flip(*range(2, 2 + n))
    fn = _conv_fn(n)
    if fn is None:
        raise ShapeError(f"ONNX ConvTranspose over {n} spatial dims is not supported (1 to 3 are)")
    return fn(x, wt, bias, stride=1, padding=0, dilation=tuple(dil), groups=group)


# ---- pooling ----
def _pool_window(x: Tensor, attrs: dict[str, Any]) -> Window:
    return window_from_attrs(x.shape[2:], list(attrs["kernel_shape"]), attrs, bool(attrs.get("ceil_mode", 0)))


@register("MaxPool")
def max_pool(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Any:
    x = inputs[0]
    w = _pool_window(x, attrs)
    low = float("-inf") if x.dtype.is_float else dt.min_max_values(x.dtype)[0]
    views = windows(x, w, low)
    best = views[0][1]
    for _, v in views[1:]:
        best = best.maximum(v)
    if ctx.num_outputs < 2 or not (ctx.output_used[1] if len(ctx.output_used) > 1 else True):
        return best
    return best, _max_indices(x, w, views, best, attrs.get("storage_order", 0))


def _max_indices(x: Tensor, w: Window, views: list, best: Tensor, storage_order: int) -> Tensor:
    """The flat index (in N, C, *spatial order, or column-major spatial) of the first maximum of each window."""
    n = len(w.kernel)
    spatial = x.shape[2:]
    found = None
    result = None
    for offset, v in views:
        flat = _position(x, w, offset, spatial, storage_order)
        hit = v == best
        if found is None:
            result, found = flat.expand(best.shape), hit
        else:
            result = (hit & ~found).where(flat, result)
            found = found | hit
    plane = 1
    for s in spatial:
        plane *= s
    nc = Tensor.arange(x.shape[0] * x.shape[1], dtype=dt.int64, device=x.device).reshape(
        x.shape[0], x.shape[1], *[1] * n) * plane
    return (result + nc).cast(dt.int64)


def _position(x: Tensor, w: Window, offset: tuple[int, ...], spatial: tuple[int, ...], order: int) -> Tensor:
    n = len(spatial)
    flat = None
    strides_row = [1] * n
    for i in range(n - 2, -1, -1):
        strides_row[i] = strides_row[i + 1] * spatial[i + 1]
    strides_col = [1] * n
    for i in range(1, n):
        strides_col[i] = strides_col[i - 1] * spatial[i - 1]
    mult = strides_col if order else strides_row
    for i in range(n):
        pos = Tensor.arange(w.outs[i], dtype=dt.int64, device=x.device) * w.strides[i] + (
            offset[i] * w.dilations[i] - w.begins[i])
        pos = pos.reshape(*[w.outs[i] if j == i else 1 for j in range(n)]) * mult[i]
        flat = pos if flat is None else flat + pos
    return flat.reshape(1, 1, *flat.shape)


@register("AveragePool")
def average_pool(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    w = _pool_window(x, attrs)
    total = None
    for _, v in windows(x, w, 0.0):
        total = v if total is None else total + v
    ones = Tensor.ones(1, 1, *x.shape[2:], dtype=dt.float32, device=x.device)
    if attrs.get("count_include_pad", 0):  # explicit pads count, the ceil-mode overhang does not
        ones = ones.pad([(0, 0), (0, 0)] + list(zip(w.begins, w.ends)), 1.0)
        w = Window(w.kernel, w.strides, w.dilations, [0] * len(w.kernel), [0] * len(w.kernel), w.outs)
    count = None
    for _, v in windows(ones, w, 0.0):
        count = v if count is None else count + v
    return (total / count.cast(x.dtype)).cast(x.dtype)


@register("LpPool")
def lp_pool(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, p = inputs[0], attrs.get("p", 2)
    w = _pool_window(x, attrs)
    total = None
    for _, v in windows(x.abs().pow(p), w, 0.0):
        total = v if total is None else total + v
    return total.pow(1.0 / p).cast(x.dtype)


@register("GlobalAveragePool")
def global_average_pool(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    return x.mean(tuple(range(2, x.ndim)), keepdim=True)


@register("GlobalMaxPool")
def global_max_pool(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    return x.amax(tuple(range(2, x.ndim)), keepdim=True)


@register("GlobalLpPool")
def global_lp_pool(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, p = inputs[0], attrs.get("p", 2)
    return x.abs().pow(p).sum(tuple(range(2, x.ndim)), keepdim=True).pow(1.0 / p)


@register("MaxUnpool")
def max_unpool(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, idx, shape_t = inputs[0], inputs[1], input_at(inputs, 2)
    n = x.ndim - 2
    kernel, strides = attrs["kernel_shape"], attrs.get("strides", [1] * n)
    pads = attrs.get("pads", [0] * 2 * n)
    out_shape = list(x.shape[:2]) + [(d - 1) * s - pads[i] - pads[i + n] + k for i, (d, s, k) in
                                     enumerate(zip(x.shape[2:], strides, kernel))]
    out = _unpool(x, idx, out_shape)
    if shape_t is not None:  # the indices address the default shape; a larger requested one pads at the end
        want = [int(v) for v in shape_t.tolist()]
        out = out.pad([(0, w - d) for w, d in zip(want, out_shape)])
    return out


def _unpool(x: Tensor, idx: Tensor, out_shape: list[int]) -> Tensor:
    total = 1
    for d in out_shape:
        total *= d
    flat = Tensor.zeros(total, dtype=x.dtype, device=x.device)
    out = flat.scatter(0, idx.reshape(-1).cast(dt.int64), x.reshape(-1))
    return out.reshape(tuple(out_shape))


# ---- normalization ----
def _channel_view(t: Tensor, ndim: int) -> Tensor:
    return t.reshape(1, -1, *[1] * (ndim - 2))


@register("BatchNormalization")
def batch_norm(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Any:
    x, scale, bias, mean, var = inputs[:5]
    eps = attrs.get("epsilon", 1e-5)
    training = attrs.get("training_mode", 0) or (ctx.opset < 9 and ctx.num_outputs > 1 and attrs.get("is_test", 0)
                                                  == 0 and ctx.num_outputs >= 3)
    if not training:
        inv = (_channel_view(var, x.ndim) + eps).rsqrt()
        return ((x - _channel_view(mean, x.ndim)) * inv * _channel_view(scale, x.ndim)
                + _channel_view(bias, x.ndim)).cast(x.dtype)
    axes = (0,) + tuple(range(2, x.ndim))
    cur_mean = x.mean(axes)
    cur_var = ((x - _channel_view(cur_mean, x.ndim)) ** 2).mean(axes)
    y = (x - _channel_view(cur_mean, x.ndim)) * (_channel_view(cur_var, x.ndim) + eps).rsqrt() \
        * _channel_view(scale, x.ndim) + _channel_view(bias, x.ndim)
    momentum = attrs.get("momentum", 0.9)
    run_mean = mean * momentum + cur_mean * (1 - momentum)
    run_var = var * momentum + cur_var * (1 - momentum)
    return y.cast(x.dtype), run_mean.cast(mean.dtype), run_var.cast(var.dtype)


@register("InstanceNormalization")
def instance_norm(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, scale, bias = inputs
    axes = tuple(range(2, x.ndim))
    mean = x.mean(axes, keepdim=True)
    var = ((x - mean) ** 2).mean(axes, keepdim=True)
    y = (x - mean) * (var + attrs.get("epsilon", 1e-5)).rsqrt()
    return (y * _channel_view(scale, x.ndim) + _channel_view(bias, x.ndim)).cast(x.dtype)


def _stash(x: Tensor, stash_type: int) -> Tensor:
    return x.float() if stash_type == 1 and x.dtype is not dt.float64 else x


@register("LayerNormalization")
def layer_norm(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Any:
    x, scale, bias = inputs[0], inputs[1], input_at(inputs, 2)
    axis = norm_axis(attrs.get("axis", -1), x.ndim)
    axes = tuple(range(axis, x.ndim))
    xs = _stash(x, attrs.get("stash_type", 1))
    mean = xs.mean(axes, keepdim=True)
    var = ((xs - mean) ** 2).mean(axes, keepdim=True)
    inv = (var + attrs.get("epsilon", 1e-5)).rsqrt()
    y = ((xs - mean) * inv).cast(x.dtype) * scale
    if bias is not None:
        y = y + bias
    if ctx.num_outputs == 1:
        return y.cast(x.dtype)
    return y.cast(x.dtype), mean, inv


@register("RMSNormalization")
def rms_norm(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, scale = inputs[0], inputs[1]
    axis = norm_axis(attrs.get("axis", -1), x.ndim)
    axes = tuple(range(axis, x.ndim))
    xs = _stash(x, attrs.get("stash_type", 1))
    inv = ((xs * xs).mean(axes, keepdim=True) + attrs.get("epsilon", 1e-5)).rsqrt()
    return ((xs * inv).cast(x.dtype) * scale).cast(x.dtype)


@register("GroupNormalization")
def group_norm(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, scale, bias = inputs
    groups = attrs["num_groups"]
    n, c = x.shape[0], x.shape[1]
    xs = _stash(x, attrs.get("stash_type", 1))
    g = xs.reshape(n, groups, -1)
    mean = g.mean(2, keepdim=True)
    var = ((g - mean) ** 2).mean(2, keepdim=True)
    y = ((g - mean) * (var + attrs.get("epsilon", 1e-5)).rsqrt()).reshape(x.shape).cast(x.dtype)
    if ctx.opset < 21:  # scale and bias were per group before opset 21
        scale = scale.reshape(groups, 1).expand(groups, c // groups).reshape(c)
        bias = bias.reshape(groups, 1).expand(groups, c // groups).reshape(c)
    return (y * _channel_view(scale, x.ndim) + _channel_view(bias, x.ndim)).cast(x.dtype)


@register("LRN")
def lrn(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    # x in a buffer of its own: the sum reads it at `size` channel shifts, and the scheduler would otherwise fuse
    # the conv that usually produces x into every one of those reads (AlexNet's LRN kernels took a minute)
    x, size = inputs[0].contiguous(), attrs["size"]
    alpha, beta, bias = attrs.get("alpha", 1e-4), attrs.get("beta", 0.75), attrs.get("bias", 1.0)
    sq = x * x
    before, after = (size - 1) // 2, size - 1 - (size - 1) // 2
    padded = sq.pad([(0, 0), (before, after)] + [(0, 0)] * (x.ndim - 2))
    total = None
    for i in range(size):
        v = padded.narrow(1, i, x.shape[1])
        total = v if total is None else total + v
    return (x / (total * (alpha / size) + bias).pow(beta)).cast(x.dtype)


@register("LpNormalization")
def lp_normalization(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    axis = norm_axis(attrs.get("axis", -1), x.ndim)
    p = attrs.get("p", 2)
    norm = x.abs().sum(axis, keepdim=True) if p == 1 else (x * x).sum(axis, keepdim=True).sqrt()
    return (norm == 0).where(0.0, x / norm).cast(x.dtype)


@register("MeanVarianceNormalization")
def mean_variance_normalization(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    axes = tuple(attrs.get("axes", [0, 2, 3]))
    mean = x.mean(axes, keepdim=True)
    var = ((x - mean) ** 2).mean(axes, keepdim=True)
    return ((x - mean) / (var.sqrt() + 1e-9)).cast(x.dtype)


@register("Dropout")
def dropout(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Any:
    """Inference (and the training_mode tests with ratio 0 or a seed) pass the input through; the mask is all true."""
    x = inputs[0]
    training = input_at(inputs, 2)
    ratio_t = input_at(inputs, 1)
    ratio = host_scalar(ratio_t) if ratio_t is not None else attrs.get("ratio", 0.5)
    out = x
    mask = x.full_like(True, dt.bool_)
    if training is not None and bool(host_scalar(training)) and ratio > 0:
        seed = attrs.get("seed")
        if seed is not None:
            from baregrad.random import manual_seed
            manual_seed(int(seed))
        keep = Tensor.rand(*x.shape, device=x.device) >= ratio
        out, mask = (keep.where(x / (1 - ratio), 0.0)).cast(x.dtype), keep
    if ctx.num_outputs > 1:
        return out, mask
    return out


