"""ONNX image operators: Resize/Upsample, GridSample, AffineGrid, Col2Im, RoiAlign, DeformConv.

Resize is separable: per resized axis the host builds a small (out x in) weight matrix from ONNX's coordinate
transform and tap coefficients (nearest, linear, cubic, antialiased), and the device applies it as a matmul
(nearest: as a gather, exact for every dtype).
"""
from __future__ import annotations

import math
from typing import Any

import baregrad.dtype as dt
from baregrad.errors import ShapeError
from baregrad.onnx.ops.common import host_floats, host_ints, input_at, norm_axes
from baregrad.onnx.ops.registry import OpContext, register
from baregrad.tensor import Tensor


# ---- Resize: per-axis tap coefficients ----
def _nearest(ratio: float, mode: str) -> list[float]:
    if float(ratio).is_integer():
        return [0.0, 1.0]
    take_right = {"round_prefer_floor": ratio > 0.5, "round_prefer_ceil": ratio >= 0.5, "floor": False,
                  "ceil": True}[mode]
    return [0.0, 1.0] if take_right else [1.0, 0.0]


def _cubic(ratio: float, a: float) -> list[float]:
    def w(x: float) -> float:
        x = abs(x)
        if x <= 1:
            return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1
        if x < 2:
            return a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a
        return 0.0
    return [w(ratio + 1), w(ratio), w(1 - ratio), w(2 - ratio)]


def _antialias(ratio: float, scale: float, support: float, kernel: Any) -> list[float]:
    """The tap kernel stretched by 1/scale when downsampling, normalized to sum 1."""
    scale = min(scale, 1.0)
    start = math.floor(-support / scale) + 1
    end = 2 - start
    coeffs = [kernel(scale * (i - ratio)) for i in range(start, end)]
    total = sum(coeffs)
    return [c / total for c in coeffs]


def _coefficients(mode: str, ratio: float, scale: float, attrs: dict[str, Any], antialias: bool) -> list[float]:
    if mode == "nearest":
        return _nearest(ratio, attrs.get("nearest_mode", "round_prefer_floor"))
    if mode == "linear":
        if antialias:
            return _antialias(ratio, scale, 1, lambda x: min(max(1 - abs(x), 0.0), 1.0))
        return [1 - ratio, ratio]
    a = attrs.get("cubic_coeff_a", -0.75)
    if antialias:
        def kernel(x: float) -> float:
            x = abs(x)
            if x <= 1:
                return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1
            if x < 2:
                return a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a
            return 0.0
        return _antialias(ratio, scale, 2, kernel)
    return _cubic(ratio, a)


def _source_coordinate(x: int, size_in: int, size_out: int, scale: float, mode: str,
                       roi: tuple[float, float] | None) -> float | None:
    """The input coordinate an output index maps to; None where tf_crop_and_resize extrapolates."""
    out_f = scale * size_in
    if mode == "align_corners":
        return 0.0 if out_f == 1 else x * (size_in - 1) / (out_f - 1)
    if mode == "asymmetric":
        return x / scale
    if mode == "tf_crop_and_resize":
        lo, hi = roi if roi is not None else (0.0, 1.0)
        if out_f == 1:
            v = (hi - lo) * (size_in - 1) / 2
        else:
            v = x * (hi - lo) * (size_in - 1) / (out_f - 1)
        v += lo * (size_in - 1)
        return None if v < 0 or v > size_in - 1 else v
    if mode == "pytorch_half_pixel":
        return -0.5 if out_f == 1 else (x + 0.5) / scale - 0.5
    if mode == "half_pixel":
        return (x + 0.5) / scale - 0.5
    if mode == "half_pixel_symmetric":
        adjustment = size_out / out_f
        return size_in / 2 * (1 - adjustment) + (x + 0.5) / scale - 0.5
    raise ShapeError(f"ONNX Resize coordinate_transformation_mode {mode!r} is unknown")


def resize_matrix(size_in: int, size_out: int, scale: float, mode: str, attrs: dict[str, Any],
                  roi: tuple[float, float] | None, antialias: bool) -> tuple[list[list[float]], list[bool]]:
    """W (size_out x size_in) with out = W @ in along the axis, and which outputs are extrapolated."""
    transform = attrs.get("coordinate_transformation_mode", "half_pixel")
    rows, outside = [], []
    for x in range(size_out):
        row = [0.0] * size_in
        src = _source_coordinate(x, size_in, size_out, scale, transform, roi)
        if src is None:
            rows.append(row)
            outside.append(True)
            continue
        floor = math.floor(src)
        ratio = 1.0 if float(src).is_integer() else src - floor
        coeffs = _coefficients(mode, ratio, scale, attrs, antialias)
        n = len(coeffs)
        pad = -(-n // 2)
        padded = src + pad
        p = math.floor(padded)
        frac = padded - p
        if n % 2 == 0:
            start = p - n // 2 if frac == 0 else p - n // 2 + 1
        else:
            start = p - (n - 1) // 2 + (1 if frac > 0.5 else 0)
        taps = [start + i - pad for i in range(n)]
        if attrs.get("exclude_outside", 0):
            coeffs = [0.0 if (t < 0 or t >= size_in) else c for c, t in zip(coeffs, taps)]
            total = sum(coeffs) or 1.0
            coeffs = [c / total for c in coeffs]
        for c, t in zip(coeffs, taps):
            row[min(max(t, 0), size_in - 1)] += c
        rows.append(row)
        outside.append(False)
    return rows, outside


def _apply_axis(x: Tensor, axis: int, rows: list[list[float]], outside: list[bool], mode: str,
                extrapolation: float) -> Tensor:
    size_out, size_in = len(rows), len(rows[0]) if rows else x.shape[axis]
    if mode == "nearest" and not any(outside):
        picks = [max(range(size_in), key=lambda j, r=r: r[j]) for r in rows]
        return x.index_select(axis, Tensor(picks, dtype=dt.int64, device=x.device))
    work = x if x.dtype in (dt.float32, dt.float64) else x.float()
    w = Tensor(rows, dtype=work.dtype, device=x.device)                 # (out, in)
    moved = work.movedim(axis, -1)
    out = (moved @ w.T).movedim(-1, axis)
    if any(outside):
        mask = Tensor(outside, dtype=dt.bool_, device=x.device).reshape(
            *[size_out if d == axis else 1 for d in range(x.ndim)])
        out = mask.where(extrapolation, out).cast(out.dtype)
    if x.dtype.is_float:
        return out.cast(x.dtype)
    lo, hi = dt.min_max_values(x.dtype)
    return out.round().clamp(lo, hi).cast(x.dtype)


def resize(x: Tensor, scales: list[float] | None, sizes: list[int] | None, axes: list[int] | None,
           roi: list[float] | None, attrs: dict[str, Any]) -> Tensor:
    r = x.ndim
    axes = norm_axes(axes, r) if axes is not None else list(range(r))
    full_scales, full_sizes = [1.0] * r, list(x.shape)
    if roi is not None and len(roi) == 2 * len(axes) and len(axes) != r:
        full_roi = [0.0] * r + [1.0] * r
        for i, a in enumerate(axes):
            full_roi[a], full_roi[r + a] = roi[i], roi[len(axes) + i]
        roi = full_roi
    if sizes is not None:
        for i, a in enumerate(axes):
            full_sizes[a] = sizes[i]
            full_scales[a] = sizes[i] / x.shape[a]
        policy = attrs.get("keep_aspect_ratio_policy", "stretch")
        if policy != "stretch":
            pick = min if policy == "not_larger" else max
            s = pick(full_scales[a] for a in axes)
            for a in axes:
                full_scales[a] = s
                full_sizes[a] = int(s * x.shape[a] + 0.5)
    else:
        for i, a in enumerate(axes):
            full_scales[a] = scales[i]
            full_sizes[a] = int(scales[i] * x.shape[a])
    mode = attrs.get("mode", "nearest")
    antialias = bool(attrs.get("antialias", 0)) and mode != "nearest"
    out = x
    for a in axes:
        axis_roi = (roi[a], roi[a + r]) if roi else None
        if math.isclose(full_scales[a], 1.0) and full_sizes[a] == x.shape[a] and (
                axis_roi is None or (math.isclose(axis_roi[0], 0) and math.isclose(axis_roi[1], 1))):
            continue
        rows, outside = resize_matrix(x.shape[a], full_sizes[a], full_scales[a], mode, attrs, axis_roi,
                                      antialias)
        out = _apply_axis(out, a, rows, outside, mode, attrs.get("extrapolation_value", 0.0))
    return out


@register("Resize")
def resize_op(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    if ctx.opset < 11:
        scales = host_floats(inputs[1])
        return resize(x, scales, None, None, None, {**attrs, "coordinate_transformation_mode": "asymmetric",
                                                   "nearest_mode": "floor"})
    roi = host_floats(input_at(inputs, 1))
    scales = host_floats(input_at(inputs, 2))
    sizes = host_ints(input_at(inputs, 3))
    return resize(x, scales or None, sizes or None, attrs.get("axes"), roi or None, attrs)


@register("Upsample")
def upsample(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    scales = host_floats(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else list(attrs["scales"])
    return resize(x, scales, None, None, None, {"mode": attrs.get("mode", "nearest"),
                                                "coordinate_transformation_mode": "asymmetric",
                                                "nearest_mode": "floor"})


# ---- GridSample ----
def _reflect(x: Tensor, lo: float, hi: float) -> Tensor:
    """Fold a coordinate back into [lo, hi] by mirroring at the borders (as often as needed)."""
    rng = hi - lo
    below, above = lo - x, x - hi

    def fold(dx: Tensor, near: float, far: float) -> Tensor:
        n = (dx / rng).trunc()
        r = dx - n * rng
        even = (n - (n * 0.5).floor() * 2) == 0
        return even.where(near + (r if near == lo else -r), far + (-r if near == lo else r))
    out = (x < lo).where(fold(below, lo, hi), x)
    return (x > hi).where(fold(above, hi, lo), out)


def _cubic_weights(t: Tensor) -> list[Tensor]:
    a = -0.75

    def near(x: Tensor) -> Tensor:
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: Tensor) -> Tensor:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


@register("GridSample")
def grid_sample(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, grid = inputs
    mode = {"bilinear": "linear", "bicubic": "cubic"}.get(attrs.get("mode", "linear"), attrs.get("mode", "linear"))
    padding = attrs.get("padding_mode", "zeros")
    align = bool(attrs.get("align_corners", 0))
    n, c = x.shape[0], x.shape[1]
    dims = x.shape[2:]
    nd = len(dims)
    work = dt.float64 if x.dtype is dt.float64 else dt.float32
    out_spatial = grid.shape[1:-1]
    m = 1
    for s in out_spatial:
        m *= s
    g = grid.cast(work).reshape(n, m, nd)
    per_dim = []  # for each spatial dim: list of (integer tap, weight)
    for i, size in enumerate(dims):
        v = g[..., nd - 1 - i]
        coord = (v + 1) / 2 * (size - 1) if align else ((v + 1) * size - 1) / 2
        lo, hi = (0.0, size - 1.0) if align else (-0.5, size - 0.5)
        if mode == "nearest":
            coord = coord.round()
        if padding == "border":
            coord = coord.clamp(0, size - 1)
        elif padding == "reflection":
            coord = _reflect(coord, lo, hi)
        if mode == "nearest":
            taps = [(coord, None)]
        else:
            base = coord.floor()
            t = coord - base
            if mode == "linear":
                taps = [(base, 1 - t), (base + 1, t)]
            else:
                taps = [(base + k - 1, w) for k, w in enumerate(_cubic_weights(t))]
        fixed = []
        for tap, w in taps:
            valid = None
            if padding == "zeros":
                valid = (tap >= 0) & (tap <= size - 1)
            elif padding == "border":
                tap = tap.clamp(0, size - 1)
            else:
                tap = _reflect(tap, lo, hi).trunc().clamp(0, size - 1)
            fixed.append((tap.clamp(0, size - 1).cast(dt.int64), w, valid))
        per_dim.append(fixed)
    flat = x.cast(work).reshape(n, c, -1)
    total = None
    for combo in _product(per_dim):
        index, weight, valid = None, None, None
        for i, (tap, w, ok) in enumerate(combo):
            stride = 1
            for s in dims[i + 1:]:
                stride *= s
            index = tap * stride if index is None else index + tap * stride
            if w is not None:
                weight = w if weight is None else weight * w
            if ok is not None:
                valid = ok if valid is None else valid & ok
        picked = flat.gather(2, index.reshape(n, 1, m).expand(n, c, m))
        if valid is not None:
            picked = valid.reshape(n, 1, m).where(picked, 0.0).cast(work)
        if weight is not None:
            picked = picked * weight.reshape(n, 1, m)
        total = picked if total is None else total + picked
    return total.reshape(n, c, *out_spatial).cast(x.dtype)


def _product(lists: list[list]) -> list[tuple]:
    out: list[tuple] = [()]
    for options in lists:
        out = [prefix + (o,) for prefix in out for o in options]
    return out


@register("AffineGrid")
def affine_grid(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    import baregrad.nn.functional as F
    theta, size = inputs[0], host_ints(inputs[1])
    return F.affine_grid(theta, size, align_corners=bool(attrs.get("align_corners", 0))).cast(theta.dtype)


# ---- Col2Im ----
@register("Col2Im")
def col2im(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    """Sum each column's block back into the image: the adjoint of im2col, one strided placement per offset."""
    cols, image, block = inputs[0], host_ints(inputs[1]), host_ints(inputs[2])
    nd = len(image)
    dil = list(attrs.get("dilations", [1] * nd))
    pads = list(attrs.get("pads", [0] * 2 * nd))
    strides = list(attrs.get("strides", [1] * nd))
    n = cols.shape[0]
    kprod = 1
    for b in block:
        kprod *= b
    c = cols.shape[1] // kprod
    padded = [image[i] + pads[i] + pads[i + nd] for i in range(nd)]
    blocks = [(padded[i] - (dil[i] * (block[i] - 1) + 1)) // strides[i] + 1 for i in range(nd)]
    patches = cols.reshape(n, c, *block, *blocks)
    total = None
    for offset in _product([list(range(b)) for b in block]):
        part = patches[(slice(None), slice(None)) + tuple(offset)]            # (N, C, *blocks)
        pairs = [(0, 0), (0, 0)]
        spread = part
        if any(s > 1 for s in strides):
            spread = spread.reshape(n, c, *[d for b in blocks for d in (b, 1)])
            spread = spread.pad([(0, 0), (0, 0)] + [p for s in strides for p in ((0, 0), (0, s - 1))])
            spread = spread.reshape(n, c, *[b * s for b, s in zip(blocks, strides)])
        for i in range(nd):
            start = offset[i] * dil[i]
            pairs.append((start, padded[i] - start - spread.shape[2 + i]))
        placed = spread.pad(pairs)
        total = placed if total is None else total + placed
    crop = [(0, 0), (0, 0)] + [(-pads[i], -pads[i + nd]) for i in range(nd)]
    return total.pad(crop).cast(cols.dtype)


# ---- RoiAlign ----
@register("RoiAlign")
def roi_align(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    """Bilinear samples per bin, averaged (or maxed); the sample points depend on the boxes, read on the host."""
    x, rois, batch_idx = inputs
    out_h, out_w = attrs.get("output_height", 1), attrs.get("output_width", 1)
    ratio = attrs.get("sampling_ratio", 0)
    scale = attrs.get("spatial_scale", 1.0)
    half = attrs.get("coordinate_transformation_mode", "half_pixel") == "half_pixel"
    use_max = attrs.get("mode", "avg") == "max"
    n, c, h, w = x.shape
    boxes, batches = rois.tolist(), [int(b) for b in batch_idx.reshape(-1).tolist()]
    index, weight, sample_of = [], [], []   # per (roi, bin, sample, tap)
    samples_per_bin = []
    for r, (box, b) in enumerate(zip(boxes, batches)):
        off = 0.5 if half else 0.0
        x0, y0, x1, y1 = (v * scale - off for v in box)
        rw, rh = x1 - x0, y1 - y0
        if not half:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / out_h, rw / out_w
        gh = ratio if ratio > 0 else math.ceil(rh / out_h)
        gw = ratio if ratio > 0 else math.ceil(rw / out_w)
        samples_per_bin.append(max(gh * gw, 1))
        for ph in range(out_h):
            for pw in range(out_w):
                for iy in range(gh):
                    yy = y0 + ph * bh + (iy + 0.5) * bh / gh
                    for ix in range(gw):
                        xx = x0 + pw * bw + (ix + 0.5) * bw / gw
                        taps = _bilinear_taps(yy, xx, h, w)
                        for pos, wt in taps:
                            index.append(b * h * w + pos)
                            weight.append(wt)
                            sample_of.append(((r * out_h + ph) * out_w + pw, iy * gw + ix))
    num = len(boxes)
    work = x.float() if x.dtype is not dt.float64 else x
    flat = work.permute(1, 0, 2, 3).reshape(c, n * h * w)
    gh_gw = max(samples_per_bin) if samples_per_bin else 1
    if not index:
        return Tensor.zeros(num, c, out_h, out_w, dtype=x.dtype, device=x.device)
    # lay taps out as (bins, samples, 4) so the reduction is a plain sum/max over fixed axes
    slots = num * out_h * out_w
    idx_grid = [[[0] * 4 for _ in range(gh_gw)] for _ in range(slots)]
    w_grid = [[[0.0] * 4 for _ in range(gh_gw)] for _ in range(slots)]
    live = [[False] * gh_gw for _ in range(slots)]
    fill: dict[tuple[int, int], int] = {}
    for pos, wt, (bin_, s) in zip(index, weight, sample_of):
        k = fill.get((bin_, s), 0)
        fill[(bin_, s)] = k + 1
        idx_grid[bin_][s][k], w_grid[bin_][s][k] = pos, wt
        live[bin_][s] = True
    idx_t = Tensor(idx_grid, dtype=dt.int64, device=x.device).reshape(-1)
    w_t = Tensor(w_grid, dtype=work.dtype, device=x.device).reshape(1, slots, gh_gw, 4)
    vals = flat.index_select(1, idx_t).reshape(c, slots, gh_gw, 4) * w_t
    if use_max:
        per_sample = vals.amax(3)
        live_t = Tensor(live, dtype=dt.bool_, device=x.device).reshape(1, slots, gh_gw)
        out = live_t.where(per_sample, float("-inf")).amax(2)
        out = (out == float("-inf")).where(0.0, out)
    else:
        counts = Tensor([samples_per_bin[i // (out_h * out_w)] for i in range(slots)], dtype=work.dtype,
                        device=x.device)
        out = vals.sum((2, 3)) / counts.reshape(1, slots)
    return out.reshape(c, num, out_h, out_w).permute(1, 0, 2, 3).cast(x.dtype)


def _bilinear_taps(y: float, x: float, h: int, w: int) -> list[tuple[int, float]]:
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return [(0, 0.0)] * 4
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= h - 1:
        y_high = y_low = h - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= w - 1:
        x_high = x_low = w - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1 - ly, 1 - lx
    return [(y_low * w + x_low, hy * hx), (y_low * w + x_high, hy * lx), (y_high * w + x_low, ly * hx),
            (y_high * w + x_high, ly * lx)]


# ---- NonMaxSuppression ----
@register("NonMaxSuppression")
def non_max_suppression(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    """Greedy per-(batch, class) suppression by IoU; data-dependent output, so it runs on the host."""
    boxes, scores = inputs[0].tolist(), inputs[1].tolist()
    max_out = host_ints(input_at(inputs, 2))
    max_out = max_out[0] if max_out else 0
    iou_t = host_floats(input_at(inputs, 3))
    iou_t = iou_t[0] if iou_t else 0.0
    score_t = host_floats(input_at(inputs, 4))
    score_t = score_t[0] if score_t else None
    center = attrs.get("center_point_box", 0)
    picked = []
    for b, per_class in enumerate(scores):
        corners = [_corners(box, center) for box in boxes[b]]
        for cls, values in enumerate(per_class):
            order = sorted(range(len(values)), key=lambda i: (-values[i], i))
            if score_t is not None:
                order = [i for i in order if values[i] > score_t]
            kept: list[int] = []
            for i in order:
                if len(kept) >= max_out:
                    break
                if all(_iou(corners[i], corners[j]) <= iou_t for j in kept):
                    kept.append(i)
            picked += [[b, cls, i] for i in kept]
    if not picked:
        return Tensor.zeros(0, 3, dtype=dt.int64, device=ctx.device)
    return Tensor(picked, dtype=dt.int64, device=ctx.device)


def _corners(box: list[float], center: int) -> tuple[float, float, float, float]:
    if center:
        xc, yc, w, h = box
        return (yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2)
    y1, x1, y2, x2 = box
    return (min(y1, y2), min(x1, x2), max(y1, y2), max(x1, x2))


def _iou(a: tuple, b: tuple) -> float:
    ih = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iw = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ih * iw
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


# ---- DeformConv ----
@register("DeformConv")
def deform_conv(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    """2-d deformable conv: each kernel tap reads the input bilinearly at its offset position (zeros outside),
    scaled by the optional mask, then the taps contract with the weights as a grouped matmul."""
    x, weight, offset = inputs[:3]
    bias, mask = input_at(inputs, 3), input_at(inputs, 4)
    if x.ndim != 4:
        raise ShapeError(f"ONNX DeformConv supports 2-d inputs (N, C, H, W), got shape {x.shape}")
    n, ic, ih, iw = x.shape
    oc = weight.shape[0]
    kh, kw = attrs.get("kernel_shape", weight.shape[2:])
    sh, sw = attrs.get("strides", [1, 1])
    dh, dw = attrs.get("dilations", [1, 1])
    pads = attrs.get("pads", [0, 0, 0, 0])
    group, og = attrs.get("group", 1), attrs.get("offset_group", 1)
    oh, ow = offset.shape[2:]
    k, m = kh * kw, oh * ow
    work = dt.float64 if x.dtype is dt.float64 else dt.float32
    off = offset.cast(work).reshape(n, og, kh, kw, 2, oh, ow)
    base_h = (Tensor.arange(oh, dtype=work, device=x.device) * sh - pads[0]).reshape(1, 1, 1, 1, oh, 1) + \
        (Tensor.arange(kh, dtype=work, device=x.device) * dh).reshape(1, 1, kh, 1, 1, 1)
    base_w = (Tensor.arange(ow, dtype=work, device=x.device) * sw - pads[1]).reshape(1, 1, 1, 1, 1, ow) + \
        (Tensor.arange(kw, dtype=work, device=x.device) * dw).reshape(1, 1, 1, kw, 1, 1)
    hs = (base_h + off[:, :, :, :, 0]).reshape(n, og, 1, k * m)
    ws = (base_w + off[:, :, :, :, 1]).reshape(n, og, 1, k * m)
    h0, w0 = hs.floor(), ws.floor()
    th, tw = hs - h0, ws - w0
    per_group = ic // og
    flat = x.cast(work).reshape(n, og, per_group, ih * iw)
    sampled = None
    for dy, wy in ((0, 1 - th), (1, th)):
        for dx, wx in ((0, 1 - tw), (1, tw)):
            yy, xx = h0 + dy, w0 + dx
            inside = (yy >= 0) & (yy <= ih - 1) & (xx >= 0) & (xx <= iw - 1)
            index = (yy.clamp(0, ih - 1) * iw + xx.clamp(0, iw - 1)).cast(dt.int64)
            picked = flat.gather(3, index.expand(n, og, per_group, k * m))
            term = inside.where(picked * (wy * wx), 0.0).cast(work)
            sampled = term if sampled is None else sampled + term
    if mask is not None:
        sampled = sampled * mask.cast(work).reshape(n, og, 1, k * m)
    cols = sampled.reshape(n, group, (ic // group) * k, m)
    w = weight.cast(work).reshape(group, oc // group, (ic // group) * k)
    out = (w.unsqueeze(0) @ cols).reshape(n, oc, oh, ow)
    if bias is not None:
        out = out + bias.cast(work).reshape(1, oc, 1, 1)
    return out.cast(x.dtype)
