"""More of torch.nn.functional: pixel and channel shuffles, fold/unfold (col2im/im2col), instance and local
response norm, adaptive 1-d/3-d pooling and adaptive max pooling, 3-d conv and pooling, upsample wrappers,
grid_sample/affine_grid and bilinear. `baregrad.nn.functional` re-exports every name in __all__.

Like the rest of functional, these only compose lazy Tensor ops: shuffles and unfold are movement ops over the
strided window view of `functional._windows`; fold sums one padded copy of the columns per kernel cell; adaptive
max pooling gathers each (variable-sized) bin padded to the largest one and masks the padding.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from baregrad import dtype as dt
from baregrad.errors import ArgumentError, ShapeError
from baregrad.nn.functional.common import interpolate
from baregrad.nn.functional.helpers import IntOrTuple, convnd, int_tuple, normalize_affine, sliding_windows
from baregrad.tensor import Tensor
from baregrad.tensor_ops.custom_grad import with_grad


def _positive(v: int, what: str, op: str) -> int:
    if not isinstance(v, int) or v <= 0:
        raise ArgumentError(f"{op} expects a positive {what}, but got {v}")
    return v


# ---- pixel and channel shuffles ----
def pixel_shuffle(x: Tensor, upscale_factor: int) -> Tensor:
    """(*, C * r * r, H, W) -> (*, C, H * r, W * r)."""
    r = _positive(upscale_factor, "upscale_factor", "pixel_shuffle")
    if x.ndim < 3:
        raise ShapeError(f"pixel_shuffle expects an input with at least 3 dims, got shape {x.shape}")
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise ShapeError(f"pixel_shuffle: the channel dim of input shape {x.shape} ({c}) is not divisible by "
                         f"upscale_factor ** 2 = {r * r}")
    m = len(lead)
    x = x.reshape(*lead, c // (r * r), r, r, h, w)
    return x.permute(*range(m), m, m + 3, m + 1, m + 4, m + 2).reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(x: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H * r, W * r) -> (*, C * r * r, H, W)."""
    r = _positive(downscale_factor, "downscale_factor", "pixel_unshuffle")
    if x.ndim < 3:
        raise ShapeError(f"pixel_unshuffle expects an input with at least 3 dims, got shape {x.shape}")
    *lead, c, h, w = x.shape
    if h % r or w % r:
        raise ShapeError(f"pixel_unshuffle: height and width of input shape {x.shape} must be divisible by "
                         f"downscale_factor={r}")
    m = len(lead)
    x = x.reshape(*lead, c, h // r, r, w // r, r)
    return x.permute(*range(m), m, m + 2, m + 4, m + 1, m + 3).reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    """(N, g * k, *) -> (N, k * g, *): channel i * k + j moves to j * g + i."""
    g = _positive(groups, "groups", "channel_shuffle")
    if x.ndim < 3:
        raise ShapeError(f"channel_shuffle expects an input with at least 3 dims, got shape {x.shape}")
    n, c, *rest = x.shape
    if c % g:
        raise ShapeError(f"channel_shuffle: {c} channels of input shape {x.shape} do not divide into {g} groups")
    return x.reshape(n, g, c // g, *rest).transpose(1, 2).reshape(x.shape)


# ---- im2col and col2im ----
def _fold_args(kernel_size: IntOrTuple, dilation: IntOrTuple, padding: IntOrTuple,
               stride: IntOrTuple) -> tuple[tuple[int, ...], ...]:
    return tuple(int_tuple(v, 2) for v in (kernel_size, dilation, padding, stride))


def unfold(x: Tensor, kernel_size: IntOrTuple, dilation: IntOrTuple = 1, padding: IntOrTuple = 0,
           stride: IntOrTuple = 1) -> Tensor:
    """im2col: (N, C, H, W) -> (N, C * kh * kw, L), one column per sliding block (a view: no copy)."""
    if x.ndim == 3:
        return unfold(x.unsqueeze(0), kernel_size, dilation, padding, stride).squeeze(0)
    if x.ndim != 4:
        raise ShapeError(f"unfold expects a 3-d or 4-d input (N, C, H, W), got shape {x.shape}")
    k, d, p, s = _fold_args(kernel_size, dilation, padding, stride)
    n, c = x.shape[:2]
    win = sliding_windows(x.pad([(0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])]), k, s, d)  # (N, C, oh, ow, kh, kw)
    oh, ow = win.shape[2:4]
    return win.permute(0, 1, 4, 5, 2, 3).reshape(n, c * k[0] * k[1], oh * ow)


def _spread(x: Tensor, axis: int, s: int) -> Tensor:
    """s - 1 zeros between neighbours along axis."""
    if s == 1:
        return x
    n = x.shape[axis]
    pads = [(0, s - 1) if a == axis + 1 else (0, 0) for a in range(x.ndim + 1)]
    return x.unsqueeze(axis + 1).pad(pads).flatten(axis, axis + 1).narrow(axis, 0, (n - 1) * s + 1)


def fold(x: Tensor, output_size: IntOrTuple, kernel_size: IntOrTuple, dilation: IntOrTuple = 1,
         padding: IntOrTuple = 0, stride: IntOrTuple = 1) -> Tensor:
    """col2im, the adjoint of unfold: (N, C * kh * kw, L) -> (N, C, H, W), overlapping blocks summed."""
    if x.ndim == 2:
        return fold(x.unsqueeze(0), output_size, kernel_size, dilation, padding, stride).squeeze(0)
    if x.ndim != 3:
        raise ShapeError(f"fold expects a 2-d or 3-d input (N, C * kh * kw, L), got shape {x.shape}")
    size = int_tuple(output_size, 2)
    k, d, p, s = _fold_args(kernel_size, dilation, padding, stride)
    n, ckk, n_blocks = x.shape
    if ckk % (k[0] * k[1]):
        raise ShapeError(f"fold: dim 1 of input shape {x.shape} ({ckk}) is not divisible by the product of "
                         f"kernel_size {k} ({k[0] * k[1]})")
    blocks = [(size[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2)]
    if min(blocks) <= 0 or blocks[0] * blocks[1] != n_blocks:
        raise ShapeError(f"fold: input shape {x.shape} has {n_blocks} blocks, but output_size={size}, "
                         f"kernel_size={k}, dilation={d}, padding={p}, stride={s} give {blocks[0]} * {blocks[1]}")
    c = ckk // (k[0] * k[1])
    cols = x.reshape(n, c, k[0], k[1], *blocks)
    padded = [size[i] + 2 * p[i] for i in range(2)]
    total = None
    for i in range(k[0]):
        for j in range(k[1]):
            block = _spread(_spread(cols.narrow(2, i, 1).narrow(3, j, 1).reshape(n, c, *blocks), 2, s[0]), 3, s[1])
            at = (i * d[0], j * d[1])
            pads = [(at[a], padded[a] - at[a] - block.shape[2 + a]) for a in range(2)]
            block = block.pad([(0, 0), (0, 0), *pads])
            total = block if total is None else total + block
    return total.narrow(2, p[0], size[0]).narrow(3, p[1], size[1])


# ---- normalization ----
def instance_norm(x: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each (sample, channel) over its spatial dims. With use_input_stats and running stats given, these
    are updated in place with the batch average of the per-instance statistics (torch's rule)."""
    if x.ndim < 3:
        raise ShapeError(f"instance_norm expects an input (N, C, *) with at least 3 dims, got shape {x.shape}")
    axes = tuple(range(2, x.ndim))
    shape = [1, x.shape[1]] + [1] * (x.ndim - 2)
    if use_input_stats:
        mean, var = _instance_stats(x, axes, running_mean, running_var, momentum)
    elif running_mean is None or running_var is None:
        raise ArgumentError("instance_norm: running_mean and running_var are needed when use_input_stats=False")
    else:
        mean, var = running_mean.reshape(shape), running_var.reshape(shape)
    return normalize_affine(x, mean, var, eps, weight, bias, shape)


def _instance_stats(x: Tensor, axes: tuple[int, ...], running_mean: Tensor | None, running_var: Tensor | None,
                    momentum: float) -> tuple[Tensor, Tensor]:
    count = math.prod(x.shape[2:])
    if count == 1:
        raise ShapeError(f"instance_norm: expected more than 1 spatial element when training, got input shape "
                         f"{x.shape}")
    mean = x.mean(axes, keepdim=True)
    var = ((x - mean) ** 2).mean(axes, keepdim=True)
    for stat, batch in ((running_mean, mean), (running_var, var * (count / (count - 1)))):
        if stat is not None:
            if stat.numel() != x.shape[1]:
                raise ShapeError(f"instance_norm: running stats of shape {stat.shape} do not match the "
                                 f"{x.shape[1]} channels of input shape {x.shape}")
            stat.assign(stat * (1 - momentum) + batch.detach().reshape(x.shape[0], x.shape[1]).mean(0) * momentum)
    return mean, var


def local_response_norm(x: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """x / (k + alpha * mean of x^2 over `size` neighbouring channels) ** beta; the window is zero-padded by
    size // 2 before and (size - 1) // 2 after, and always divided by size (torch's avg_pool form)."""
    if x.ndim < 3:
        raise ShapeError(f"local_response_norm expects an input with at least 3 dims, got shape {x.shape}")
    if x.numel() == 0:
        return x
    c = x.shape[1]
    sq = (x * x).pad([(0, 0), (size // 2, (size - 1) // 2)] + [(0, 0)] * (x.ndim - 2))
    window = sq.narrow(1, 0, c)
    for j in range(1, size):
        window = window + sq.narrow(1, j, c)
    return x / (window * (alpha / size) + k) ** beta


# ---- adaptive pooling ----
def _bins(n_in: int, n_out: int) -> list[tuple[int, int]]:
    """torch's adaptive bins: [floor(i * n / m), ceil((i + 1) * n / m))."""
    return [((i * n_in) // n_out, -(-((i + 1) * n_in) // n_out)) for i in range(n_out)]


def _adaptive_sizes(x: Tensor, output_size: Any, n: int, op: str) -> tuple[int, ...]:
    if x.ndim not in (n + 1, n + 2):
        raise ShapeError(f"{op} expects a {n + 1}-d or {n + 2}-d input, got shape {x.shape}")
    if 0 in x.shape[-n - 1:]:
        raise ShapeError(f"{op} expects non-empty non-batch dims, got input shape {x.shape}")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * n
    if len(sizes) == 1 and n > 1:
        sizes = tuple(sizes) * n
    if len(sizes) != n:
        raise ArgumentError(f"{op}: output_size {output_size} must have {n} entries")
    out = tuple(x.shape[-n + i] if v is None else int(v) for i, v in enumerate(sizes))
    if any(v <= 0 for v in out):
        raise ArgumentError(f"{op}: output_size {output_size} must be positive")
    return out


def _average_matrix(n_in: int, n_out: int, x: Tensor) -> Tensor:
    """(n_in, n_out): column i averages input bin i."""
    rows = [[1.0 / (hi - lo) if lo <= j < hi else 0.0 for lo, hi in _bins(n_in, n_out)] for j in range(n_in)]
    return Tensor(rows, dtype=x.dtype, device=x.device)


def _adaptive_avg(x: Tensor, output_size: Any, n: int, op: str) -> Tensor:
    outs = _adaptive_sizes(x, output_size, n, op)
    for i, m in enumerate(outs):
        axis = x.ndim - n + i
        x = (x.movedim(axis, -1) @ _average_matrix(x.shape[axis], m, x)).movedim(-1, axis)
    return x


def adaptive_avg_pool1d(x: Tensor, output_size: IntOrTuple) -> Tensor:
    return _adaptive_avg(x, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool3d(x: Tensor, output_size: IntOrTuple) -> Tensor:
    return _adaptive_avg(x, output_size, 3, "adaptive_avg_pool3d")


_NO_CELL = 2 ** 31 - 1  # above any flat index; positions are int32 (WEBGPU keeps only 32 bits of an int64)


def _first_max(win: Tensor, position: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
    """(values, int64 flat indices) over the last dim of win, given each cell's int32 flat position, picked as
    torch's CPU kernels pick: the first maximum in scan (flat position) order, or the last NaN. The value is read at
    the picked cell alone, so its gradient goes there alone."""
    masked = valid.where(win, -math.inf)
    best = masked.amax(-1, keepdim=True)
    first = (valid & (masked == best)).where(position, _NO_CELL).amin(-1)
    nan = valid & win.isnan()
    index = nan.any(-1).where(nan.where(position, -1).amax(-1), first)
    values = (valid & (position == index.unsqueeze(-1))).where(win, 0).sum(-1)
    return values.cast(win.dtype), index.cast(dt.int64)


def _bin_tables(x: Tensor, outs: tuple[int, ...]) -> tuple[list[Tensor], Tensor, Tensor]:
    """Per spatial axis a flat (m * K) index of each bin's cells (K: the largest bin, short bins clamped), and
    over the (m..., K...) grid each cell's flat index in the input plane and whether it belongs to its bin."""
    n, sizes = len(outs), x.shape[-len(outs):]
    indices, position, valid = [], None, None
    stride = math.prod(sizes)
    for a, (size, m) in enumerate(zip(sizes, outs)):
        bins = _bins(size, m)
        width = max(hi - lo for lo, hi in bins)
        cells = [[min(lo + j, size - 1) for j in range(width)] for lo, hi in bins]
        inside = [[lo + j < hi for j in range(width)] for lo, hi in bins]
        shape = [1] * (2 * n)
        shape[a], shape[n + a] = m, width
        stride //= size
        pos = Tensor(cells, dtype=dt.int32, device=x.device).reshape(shape) * stride
        ok = Tensor(inside, dtype=dt.bool_, device=x.device).reshape(shape)
        indices.append(Tensor([v for row in cells for v in row], dtype=dt.int32, device=x.device))
        position = pos if position is None else position + pos
        valid = ok if valid is None else valid & ok
    return indices, position, valid


def _adaptive_max(x: Tensor, output_size: Any, n: int, return_indices: bool,
                  op: str) -> Tensor | tuple[Tensor, Tensor]:
    outs = _adaptive_sizes(x, output_size, n, op)
    indices, position, valid = _bin_tables(x, outs)
    lead = x.ndim - n
    for a, index in enumerate(indices):
        axis = lead + 2 * a
        x = x.index_select(axis, index).unflatten(axis, (outs[a], index.shape[0] // outs[a]))
    m = x.ndim - 2 * n
    x = x.permute(*range(m), *[m + 2 * a for a in range(n)], *[m + 2 * a + 1 for a in range(n)]).flatten(-n)
    values, index = _first_max(x, position.flatten(n), valid.flatten(n))
    return (values, index) if return_indices else values


def adaptive_max_pool1d(x: Tensor, output_size: IntOrTuple,
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    return _adaptive_max(x, output_size, 1, return_indices, "adaptive_max_pool1d")


def adaptive_max_pool2d(x: Tensor, output_size: IntOrTuple,
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """torch's adaptive_max_pool2d; return_indices adds each maximum's int64 flat index h * W + w in its plane."""
    return _adaptive_max(x, output_size, 2, return_indices, "adaptive_max_pool2d")


def adaptive_max_pool3d(x: Tensor, output_size: IntOrTuple,
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    return _adaptive_max(x, output_size, 3, return_indices, "adaptive_max_pool3d")


# ---- 3-d convolution and pooling ----
def _unbatched(x: Tensor, n: int, op: str) -> bool:
    """Whether x is an unbatched (C, *spatial) input; anything but that or (N, C, *spatial) is an error."""
    if x.ndim not in (n + 1, n + 2):
        raise ShapeError(f"{op} expects a {n + 1}-d or {n + 2}-d input, got shape {x.shape}")
    return x.ndim == n + 1


def conv3d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrTuple = 1, padding: Any = 0,
           dilation: IntOrTuple = 1, groups: int = 1) -> Tensor:
    if _unbatched(x, 3, "conv3d"):
        return conv3d(x.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    return convnd(x, weight, bias, stride, padding, dilation, groups, 3)


def _pool3d_args(kernel_size: IntOrTuple, stride: Any, padding: IntOrTuple,
                 dilation: IntOrTuple) -> tuple[tuple[int, ...], ...]:
    k = int_tuple(kernel_size, 3)
    s = k if stride is None or stride == [] or stride == () else int_tuple(stride, 3)
    p, d = int_tuple(padding, 3), int_tuple(dilation, 3)
    for ki, pi, di in zip(k, p, d):
        if pi > ((ki - 1) * di + 1) // 2:
            raise ArgumentError(f"pad should be at most half of effective kernel size, but got pad={pi}, "
                                f"kernel_size={ki} and dilation={di}")
    return k, s, p, d


def _ceil_pad(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """Extra padding after the input so ceil_mode's last partial window exists (it must start inside the input or
    its left padding, as torch requires)."""
    if not ceil_mode:
        return 0
    out = -(-(size + 2 * p - d * (k - 1) - 1) // s) + 1
    if (out - 1) * s >= size + p:
        out -= 1
    return max(0, (out - 1) * s + d * (k - 1) + 1 - (size + 2 * p))


def max_pool3d(x: Tensor, kernel_size: IntOrTuple, stride: Any = None, padding: IntOrTuple = 0,
               dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """torch's max_pool3d; return_indices adds each maximum's int64 flat index (d * H + h) * W + w in its volume."""
    _unbatched(x, 3, "max_pool3d")
    k, s, p, d = _pool3d_args(kernel_size, stride, padding, dilation)
    size = x.shape[-3:]
    pads = [(p[i], p[i] + _ceil_pad(size[i], k[i], s[i], p[i], d[i], ceil_mode)) for i in range(3)]
    lead = [(0, 0)] * (x.ndim - 3)
    windows = sliding_windows(x.pad(lead + pads, -math.inf), k, s, d)
    if not return_indices:
        return windows.amax((-3, -2, -1))
    volume = Tensor.arange(math.prod(size), dtype=dt.int32, device=x.device).reshape(*size)
    position = sliding_windows(volume.pad(pads, -1), k, s, d).flatten(-3)
    return _first_max(windows.flatten(-3), position, position >= 0)


def avg_pool3d(x: Tensor, kernel_size: IntOrTuple, stride: Any = None, padding: IntOrTuple = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """torch's avg_pool3d: each window's sum divided by its overlap with the padded input (count_include_pad) or
    with the input alone; a ceil_mode window hanging past the padded input counts neither part."""
    _unbatched(x, 3, "avg_pool3d")
    k, s, p, _ = _pool3d_args(kernel_size, stride, padding, 1)
    size, one = x.shape[-3:], (1, 1, 1)
    extra = [_ceil_pad(size[i], k[i], s[i], p[i], 1, ceil_mode) for i in range(3)]
    pads = [(p[i], p[i] + extra[i]) for i in range(3)]
    total = sliding_windows(x.pad([(0, 0)] * (x.ndim - 3) + pads), k, s, one).sum((-3, -2, -1))
    if divisor_override:
        return total / divisor_override
    if not any(extra) and (count_include_pad or not any(p)):
        return total / math.prod(k)
    if count_include_pad:
        ones = Tensor.ones(*[v + 2 * q for v, q in zip(size, p)], device=x.device, dtype=x.dtype)
        ones = ones.pad([(0, e) for e in extra])
    else:
        ones = Tensor.ones(*size, device=x.device, dtype=x.dtype).pad(pads)
    return total / sliding_windows(ones, k, s, one).sum((-3, -2, -1))


# ---- resampling ----
def upsample(x: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """torch's deprecated alias of interpolate."""
    return interpolate(x, size, scale_factor, mode, align_corners)


def upsample_nearest(x: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    return interpolate(x, size, scale_factor, "nearest")


def upsample_bilinear(x: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Bilinear with align_corners=True, as torch's upsample_bilinear is."""
    return interpolate(x, size, scale_factor, "bilinear", True)


def _base_coords(n: int, align_corners: bool, x: Tensor) -> Tensor:
    """n points spread over [-1, 1] (at pixel centres unless align_corners), as torch's affine_grid places them."""
    if n <= 1:
        return Tensor([0.0], dtype=x.dtype, device=x.device)
    scale = 1.0 if align_corners else (n - 1) / n
    return Tensor([(-1.0 + 2.0 * i / (n - 1)) * scale for i in range(n)], dtype=x.dtype, device=x.device)


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: bool | None = None) -> Tensor:
    """Sampling grid (N, H, W, 2) for theta (N, 2, 3), or (N, D, H, W, 3) for theta (N, 3, 4): each output pixel's
    normalized (x, y[, z]) times theta."""
    size = [int(v) for v in size]
    if len(size) not in (4, 5):
        raise ShapeError(f"affine_grid only supports 4-d and 5-d sizes (2-d and 3-d transforms), got size {size}")
    n_dims = len(size) - 2
    if theta.ndim != 3 or theta.shape != (size[0], n_dims, n_dims + 1):
        raise ShapeError(f"affine_grid: expected theta of shape ({size[0]}, {n_dims}, {n_dims + 1}) for size "
                         f"{size}, got {theta.shape}")
    if min(size) <= 0:
        raise ShapeError(f"affine_grid: expected a non-zero, positive output size, got {size}")
    spatial = size[2:]
    axes = [_base_coords(v, bool(align_corners), theta) for v in reversed(spatial)]  # x, y[, z]
    cols = []
    for i, coords in enumerate(axes):
        shape = [1] * n_dims
        shape[n_dims - 1 - i] = spatial[n_dims - 1 - i]
        cols.append(coords.reshape(*shape, 1).expand(*spatial, 1))
    cols.append(Tensor.ones(*spatial, 1, dtype=theta.dtype, device=theta.device))
    base = Tensor.cat(cols, -1).reshape(1, math.prod(spatial), n_dims + 1)
    return (base @ theta.transpose(1, 2)).reshape(size[0], *spatial, n_dims)


def _reflect(coord: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """torch's reflect_coordinates: coord mirrored at the bounds until it lies in [low, high]."""
    if twice_low == twice_high:
        return coord * 0.0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    coord = (coord - low).abs()
    extra = coord.fmod(span)
    even = (coord / span).floor().fmod(2.0) == 0
    return even.where(extra + low, span - extra + low)


def _source_coord(g: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    """A normalized grid coordinate in [-1, 1] as a pixel coordinate, folded in by the padding mode."""
    coord = (g + 1) / 2 * (size - 1) if align_corners else ((g + 1) * size - 1) / 2
    if padding_mode == "reflection":
        coord = _reflect(coord, 0, 2 * (size - 1)) if align_corners else _reflect(coord, -1, 2 * size - 1)
    if padding_mode in ("border", "reflection"):
        coord = coord.clamp(0, size - 1)
    return coord


def _corner_codes(points: list[tuple[Tensor, Tensor]], h: int, w: int) -> Tensor:
    """(K, N, P): the flat index y * W + x of each integer-valued pixel coordinate pair (N, P), -1 outside the image.
    Realized (contiguous), so the gathers' backward reads it rather than inlining the coordinate arithmetic."""
    codes = [((x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)).where(y * w + x, -1) for x, y in points]
    return Tensor.stack(codes).cast(dt.int64).contiguous()


def _read(flat: Tensor, code: Tensor) -> Tensor:
    """flat (N, C, H * W) at flat indices code (N, P); 0 where code is -1."""
    inside = (code >= 0).unsqueeze(1)
    index = inside.where(code.unsqueeze(1), 0).expand(flat.shape[0], flat.shape[1], code.shape[-1])
    return inside.where(flat.gather(-1, index), 0).cast(flat.dtype)


def grid_sample(x: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    """Sample x (N, C, H, W) at grid (N, Ho, Wo, 2) of normalized (x, y) points: (N, C, Ho, Wo). Modes bilinear
    and nearest (half to even); padding zeros, border or reflection."""
    _check_grid_sample(x, grid, mode, padding_mode)
    n, c, h, w = x.shape
    out_shape = (n, c, *grid.shape[1:3])
    gx, gy = (t.reshape(n, -1) for t in grid.unbind(-1))
    ix, iy = (_source_coord(g, size, padding_mode, bool(align_corners)) for g, size in ((gx, w), (gy, h)))
    flat = x.reshape(n, c, h * w)
    if mode == "nearest":
        out = _read(flat, _corner_codes([(ix.round(), iy.round())], h, w)[0]).reshape(out_shape)
        # torch's grid gradient is zeros here, not absent
        return with_grad(lambda o, g: o, lambda g, o, _, grid: (g, grid.zeros_like()), out, grid)
    x0, y0 = ix.floor(), iy.floor()
    fx, fy = (ix - x0).unsqueeze(1), (iy - y0).unsqueeze(1)
    codes = _corner_codes([(x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1)], h, w)
    weights = [(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy]
    out = sum((_read(flat, codes[k]) * weights[k] for k in range(1, 4)), _read(flat, codes[0]) * weights[0])
    return out.reshape(out_shape)


def _check_grid_sample(x: Tensor, grid: Tensor, mode: str, padding_mode: str) -> None:
    if mode not in ("bilinear", "nearest"):
        raise ArgumentError(f"grid_sample mode must be 'bilinear' or 'nearest' (bicubic is not supported), got "
                            f"{mode!r}")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ArgumentError(f"grid_sample padding_mode must be 'zeros', 'border' or 'reflection', got {padding_mode!r}")
    if x.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2 or grid.shape[0] != x.shape[0]:
        raise ShapeError(f"grid_sample needs a 4-d input (N, C, H, W) and a grid (N, Ho, Wo, 2) with the same N, got "
                         f"{x.shape} and {grid.shape}")


# ---- bilinear ----
def bilinear(x1: Tensor, x2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y[..., o] = sum_ij x1[..., i] weight[o, i, j] x2[..., j] + bias[o], as one matmul and one reduce."""
    if weight.ndim != 3 or x1.shape[-1:] != weight.shape[1:2] or x2.shape[-1:] != weight.shape[2:3]:
        raise ShapeError(f"bilinear: inputs of shapes {x1.shape} and {x2.shape} do not match weight of shape "
                         f"{weight.shape}")
    if x1.shape[:-1] != x2.shape[:-1]:
        raise ShapeError(f"bilinear: the batch dims of inputs {x1.shape} and {x2.shape} differ")
    n_out, n1, n2 = weight.shape
    lead = x1.shape[:-1]
    u = x1.reshape(-1, n1) @ weight.permute(1, 0, 2).reshape(n1, n_out * n2)
    out = (u.reshape(-1, n_out, n2) * x2.reshape(-1, 1, n2)).sum(-1).reshape(*lead, n_out)
    return out + bias if bias is not None else out


__all__ = ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "unfold", "fold", "instance_norm",
           "local_response_norm", "adaptive_avg_pool1d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "adaptive_max_pool3d", "conv3d", "max_pool3d", "avg_pool3d", "upsample",
           "upsample_nearest", "upsample_bilinear", "affine_grid", "grid_sample", "bilinear"]
