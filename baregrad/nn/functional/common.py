"""torch.nn.functional, as compositions of lazy Tensor methods.

Nothing here computes: every function returns a lazy Tensor whose graph the scheduler fuses. Convolution
and pooling read a strided window view of the input built only from movement ops (pad, reshape, shrink,
expand), so a conv forward is one reduce kernel and nothing is copied; embedding is a gather.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from baregrad import dtype as dt
from baregrad.errors import ArgumentError, BoundsError, DTypeError, ShapeError
from baregrad.host_data import flatten_data
from baregrad.nn.functional.helpers import (
    IntOrTuple,
    causal_mask,
    convnd,
    implicit_softmax_dim,
    int_tuple,
    normalize_affine,
    reduce_loss,
    sliding_windows,
)
from baregrad.tensor import Tensor
from baregrad.tensor_ops.custom_grad import with_grad


# ---- activations ----
def relu(x: Tensor, inplace: bool = False) -> Tensor:
    return x.relu()


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return x.leaky_relu(negative_slope)


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return x.elu(alpha)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise ArgumentError(f"gelu approximate must be 'none' or 'tanh', got {approximate!r}")
    return x.gelu(approximate)


def silu(x: Tensor, inplace: bool = False) -> Tensor:
    return x.silu()


def hardswish(x: Tensor, inplace: bool = False) -> Tensor:
    return x.hardswish()


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def softmax(x: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    return x.softmax(implicit_softmax_dim(x.ndim) if dim is None else dim, dtype)


def log_softmax(x: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    return x.log_softmax(implicit_softmax_dim(x.ndim) if dim is None else dim, dtype)


def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = Tensor.rand(*x.shape, device=x.device) >= p
    return keep.where(x * (1.0 / (1.0 - p)), 0.0).cast(x.dtype)


# ---- linear and embedding ----
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    if x.shape[-1] != weight.shape[-1]:
        raise ShapeError(f"linear: input of shape {x.shape} does not match weight of shape {weight.shape}")
    out = x @ weight.T
    return out + bias if bias is not None else out


def embedding(index: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """weight[index] as a gather: one load per output element, no one-hot matmul."""
    if index.dtype.is_float or index.dtype is dt.bool_:
        raise ArgumentError(f"embedding index must be an integer tensor, not {index.dtype.name}")
    out = weight.index_select(0, index.reshape(-1)).reshape(*index.shape, weight.shape[1])
    if padding_idx is not None:
        # the padding row keeps its value but takes no gradient
        pad = (index == (padding_idx % weight.shape[0])).unsqueeze(-1)
        out = pad.where(out.detach(), out)
    return out


def one_hot(x: Tensor, num_classes: int = -1) -> Tensor:
    if num_classes < 0:
        num_classes = int(x.max().item()) + 1
    classes = Tensor.arange(num_classes, dtype=x.dtype, device=x.device)
    return (x.unsqueeze(-1) == classes).cast(dt.int64)


# ---- padding and window views ----
def pad(x: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """torch's argument order: (last_before, last_after, previous_before, ...); Tensor.pad_torch does the work."""
    return x.pad_torch(pad, mode, value)


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrTuple = 1, padding: Any = 0,
           dilation: IntOrTuple = 1, groups: int = 1) -> Tensor:
    return convnd(x, weight, bias, stride, padding, dilation, groups, 2)


def conv1d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrTuple = 1, padding: Any = 0,
           dilation: IntOrTuple = 1, groups: int = 1) -> Tensor:
    return convnd(x, weight, bias, stride, padding, dilation, groups, 1)


def _dilate(x: Tensor, axis: int, s: int) -> Tensor:
    """Insert s - 1 zeros between elements along axis (a pad of a reshaped view, then a shrink)."""
    if s == 1:
        return x
    n = x.shape[axis]
    x = x.unsqueeze(axis + 1).pad([(0, s - 1) if d == axis + 1 else (0, 0) for d in range(x.ndim + 1)])
    x = x.flatten(axis, axis + 1)
    return x.narrow(axis, 0, (n - 1) * s + 1)


def conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrTuple = 1,
                     padding: IntOrTuple = 0, output_padding: IntOrTuple = 0, groups: int = 1,
                     dilation: IntOrTuple = 1) -> Tensor:
    """The gradient of conv2d: dilate the input by the stride, pad, and convolve with the flipped kernel."""
    if x.ndim != 4 or weight.ndim != 4:
        raise ShapeError(f"conv_transpose2d needs 4-d input and weight, got {x.shape} and {weight.shape}")
    stride, padding, out_pad, dilation = (int_tuple(v, 2) for v in (stride, padding, output_padding, dilation))
    cin, cout_g, kernel = weight.shape[0], weight.shape[1], weight.shape[2:]
    if x.shape[1] != cin or cin % groups:
        raise ShapeError(f"conv_transpose2d: input {x.shape} does not match weight {weight.shape}, groups={groups}")
    for axis, s in zip((2, 3), stride):
        x = _dilate(x, axis, s)
    pads = [(d * (k - 1) - p, d * (k - 1) - p + op) for k, p, op, d in zip(kernel, padding, out_pad, dilation)]
    x = x.pad([(0, 0), (0, 0)] + pads)
    w = weight.reshape(groups, cin // groups, cout_g, *kernel).transpose(1, 2)
    w = w.reshape(groups * cout_g, cin // groups, *kernel).flip(2, 3)
    return conv2d(x, w, bias, 1, 0, dilation, groups)


def conv_transpose1d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrTuple = 1,
                     padding: IntOrTuple = 0, output_padding: IntOrTuple = 0, groups: int = 1,
                     dilation: IntOrTuple = 1) -> Tensor:
    """conv_transpose2d over a unit height: (N, C, L) is (N, C, 1, L) with a (1, k) kernel."""
    if x.ndim != 3 or weight.ndim != 3:
        raise ShapeError(f"conv_transpose1d needs 3-d input and weight, got {x.shape} and {weight.shape}")
    s, p, op, d = (int_tuple(v, 1)[0] for v in (stride, padding, output_padding, dilation))
    out = conv_transpose2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, s), (0, p), (0, op), groups, (1, d))
    return out.squeeze(2)


# ---- pooling ----
def _pool_args(kernel_size: IntOrTuple, stride: Any, padding: IntOrTuple, dilation: IntOrTuple = 1):
    k = int_tuple(kernel_size, 2)
    s = k if stride is None or stride == [] or stride == () else int_tuple(stride, 2)
    return k, s, int_tuple(padding, 2), int_tuple(dilation, 2)


def _ceil_extra(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """Extra right padding so the last partial window exists in ceil_mode (it must start inside the input)."""
    if not ceil_mode:
        return 0
    span = size + 2 * p - d * (k - 1) - 1
    out = -(-span // s) + 1
    if (out - 1) * s >= size + p:
        out -= 1
    return max(0, (out - 1) * s + d * (k - 1) + 1 - (size + 2 * p))


def _check_max_pool_padding(k: tuple[int, ...], p: tuple[int, ...], d: tuple[int, ...]) -> None:
    for ki, pi, di in zip(k, p, d):
        if pi > ((ki - 1) * di + 1) // 2:
            raise ArgumentError(f"pad should be at most half of effective kernel size, but got pad={pi}, "
                                f"kernel_size={ki} and dilation={di}")


def max_pool2d(x: Tensor, kernel_size: IntOrTuple, stride: Any = None, padding: IntOrTuple = 0,
               dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """torch's max_pool2d; return_indices adds, for each maximum, its int64 flat index h * W + w in its input plane."""
    k, s, p, d = _pool_args(kernel_size, stride, padding, dilation)
    _check_max_pool_padding(k, p, d)
    extra = [_ceil_extra(x.shape[-2 + i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(2)]
    pads = [(p[i], p[i] + extra[i]) for i in range(2)]
    windows = sliding_windows(x.pad([(0, 0)] * (x.ndim - 2) + pads, -math.inf), k, s, d)
    if not return_indices:
        return windows.amax((-2, -1))
    cells = _window_cells(x.shape[-2:], pads, k, s, d, x.device)
    return _max_with_index(windows.flatten(-2), *cells)


def _window_cells(size: Sequence[int], pads: list[tuple[int, int]], k: tuple[int, ...], s: tuple[int, ...],
                  d: tuple[int, ...], device: str) -> tuple[Tensor, Tensor, Tensor, int]:
    """For each cell of each window, (oh, ow, kh * kw): its flat index h * W + w in the input plane (h, w counted
    from the plane's corner, so a padding cell has one outside it), whether it is inside the plane, and whether
    h >= 0 and w >= 0; and an int above every cell's index."""
    (h, w), ((top, bottom), (left, right)) = size, pads
    rows = Tensor.arange(-top, h + bottom, dtype=dt.int64, device=device).reshape(-1, 1)
    cols = Tensor.arange(-left, w + right, dtype=dt.int64, device=device).reshape(1, -1)

    def cells(plane: Tensor) -> Tensor:
        return sliding_windows(plane, k, s, d).flatten(-2)
    return (cells(rows * w + cols), cells((rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)),
            cells((rows >= 0) & (cols >= 0)), (h + bottom) * w + w + right)


def _max_with_index(windows: Tensor, position: Tensor, inside: Tensor, nonneg: Tensor,
                    beyond: int) -> tuple[Tensor, Tensor]:
    """(values, indices) over the last dim of windows (..., K), picked as torch's CPU kernel picks: the first maximum
    in scan order, or the last NaN. Scan order is the order of flat positions, so the first is the least position.
    A window with no cell inside the plane (dilation can skip it) gives -inf at torch's start cell, the first cell
    with h >= 0 and w >= 0. The values are the picked cells, so the gradient goes to the picked cell alone."""
    has_inside = inside.any(-1)
    best = inside.where(windows, -math.inf).amax(-1, keepdim=True)
    candidate = (inside & (windows == best)) | (nonneg & ~has_inside.unsqueeze(-1))
    first = candidate.where(position, beyond).amin(-1)  # beyond, not a huge sentinel: WEBGPU's int64 is 32-bit
    nan = windows.isnan()
    last_nan = nan.where(position, -1).amax(-1)
    index = nan.any(-1).where(last_nan, first).contiguous()  # one kernel, read by the values and the backward
    picked = inside & (position == index.unsqueeze(-1))
    values = picked.where(windows, 0).sum(-1)
    return has_inside.where(values, -math.inf).cast(windows.dtype), index


def avg_pool2d(x: Tensor, kernel_size: IntOrTuple, stride: Any = None, padding: IntOrTuple = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    k, s, p, _ = _pool_args(kernel_size, stride, padding)
    h, w = x.shape[-2:]
    extra = [_ceil_extra(size, k[i], s[i], p[i], 1, ceil_mode) for i, size in enumerate((h, w))]
    pairs = [(p[i], p[i] + extra[i]) for i in range(2)]
    total = sliding_windows(x.pad([(0, 0)] * (x.ndim - 2) + pairs), k, s, (1, 1)).sum((-2, -1))
    if divisor_override:
        return total / divisor_override
    if not any(extra) and (count_include_pad or not any(p)):
        return total / (k[0] * k[1])
    # torch divides by the window's overlap with the padded input (count_include_pad) or with the input alone;
    # a ceil_mode window hanging past the padded input counts neither part
    if count_include_pad:
        ones = Tensor.ones(h + 2 * p[0], w + 2 * p[1], device=x.device, dtype=x.dtype).pad([(0, e) for e in extra])
    else:
        ones = Tensor.ones(h, w, device=x.device, dtype=x.dtype).pad(pairs)
    return total / sliding_windows(ones, k, s, (1, 1)).sum((-2, -1))


def _unit_height(v: Any, fill: int) -> tuple[int, int] | None:
    """A 1-d pooling argument as its 2-d form over a unit height: (fill, v)."""
    return None if v is None or v == [] or v == () else (fill, *int_tuple(v, 1))


def max_pool1d(x: Tensor, kernel_size: IntOrTuple, stride: Any = None, padding: IntOrTuple = 0,
               dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """max_pool2d over a unit height: (..., L) is (..., 1, L) with a (1, k) window (the flat index h * L + w is w)."""
    out = max_pool2d(x.unsqueeze(-2), _unit_height(kernel_size, 1), _unit_height(stride, 1),
                     _unit_height(padding, 0), _unit_height(dilation, 1), ceil_mode, return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def avg_pool1d(x: Tensor, kernel_size: IntOrTuple, stride: Any = None, padding: IntOrTuple = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """avg_pool2d over a unit height: (..., L) is (..., 1, L) with a (1, k) window."""
    out = avg_pool2d(x.unsqueeze(-2), _unit_height(kernel_size, 1), _unit_height(stride, 1),
                     _unit_height(padding, 0), ceil_mode, count_include_pad)
    return out.squeeze(-2)


def _adaptive_matrix(n_in: int, n_out: int, device: str, d: dt.DType) -> Tensor:
    """(n_out, n_in): row i averages input [floor(i*n/m), ceil((i+1)*n/m))."""
    rows = []
    for i in range(n_out):
        lo, hi = (i * n_in) // n_out, -(-((i + 1) * n_in) // n_out)
        rows.append([1.0 / (hi - lo) if lo <= j < hi else 0.0 for j in range(n_in)])
    return Tensor(rows, dtype=d, device=device)


def adaptive_avg_pool2d(x: Tensor, output_size: IntOrTuple) -> Tensor:
    out = tuple(x.shape[-2 + i] if o is None else o for i, o in
                enumerate((output_size,) * 2 if isinstance(output_size, int) or output_size is None else output_size))
    h, w = x.shape[-2:]
    if h % out[0] == 0 and w % out[1] == 0:
        k = (h // out[0], w // out[1])
        return avg_pool2d(x, k, k)
    rows, cols = _adaptive_matrix(h, out[0], x.device, x.dtype), _adaptive_matrix(w, out[1], x.device, x.dtype)
    return rows @ x @ cols.T


# ---- max unpooling ----
def max_unpool1d(x: Tensor, indices: Any, kernel_size: IntOrTuple, stride: Any = None, padding: IntOrTuple = 0,
                 output_size: Sequence[int] | None = None) -> Tensor:
    """torch's max_unpool1d: (N, C, L) or (C, L) values written at their indices into zero rows of the output
    length, (L - 1) * stride - 2 * padding + kernel_size unless output_size says otherwise."""
    k = int_tuple(kernel_size, 1)
    s = k if stride is None or stride == [] or stride == () else int_tuple(stride, 1)
    return _max_unpool(x, indices, k, s, int_tuple(padding, 1), output_size, "max_unpool1d")


def max_unpool2d(x: Tensor, indices: Any, kernel_size: IntOrTuple, stride: Any = None, padding: IntOrTuple = 0,
                 output_size: Sequence[int] | None = None) -> Tensor:
    """torch's max_unpool2d: (N, C, H, W) or (C, H, W) values written at their flat indices h * W_out + w into
    zero planes of the output size, (H - 1) * stride - 2 * padding + kernel_size per dim unless output_size says
    otherwise. Where indices repeat, the last value in order is written (torch's CPU order); each value's gradient
    is the output gradient at its index, as in torch."""
    k, s, p, _ = _pool_args(kernel_size, stride, padding)
    return _max_unpool(x, indices, k, s, p, output_size, "max_unpool2d")


def _max_unpool(x: Tensor, indices: Any, k: tuple[int, ...], s: tuple[int, ...], p: tuple[int, ...],
                output_size: Sequence[int] | None, op: str) -> Tensor:
    """Indices known on the host (a list or an array) are checked against the output size here, as torch checks
    them; the values of an index tensor stay on the device, where one out of range writes nowhere and reads a zero
    gradient (see README)."""
    index, host_values = _unpool_index(indices, x, op)
    _check_unpool_input(x, index, len(k), op)
    size = _unpool_output_size(x.shape, k, s, p, output_size)
    plane = math.prod(size)
    if host_values is not None:
        bad = next((v for v in host_values if not 0 <= v < plane), None)
        if bad is not None:
            raise BoundsError(f"{op}: found an invalid max index {bad} (output planes are of size "
                              f"{'x'.join(map(str, size))})")
    start = x.ndim - len(k)
    out = with_grad(lambda v, i: _write_last(v, i, plane), _unpool_grad, x.flatten(start), index.flatten(start))
    return out.reshape(*x.shape[:start], *size)


def _unpool_index(indices: Any, x: Tensor, op: str) -> tuple[Tensor, list[int] | None]:
    """indices as an int64 tensor on x's device, and their values when they came from the host."""
    if isinstance(indices, Tensor):
        if indices.dtype is not dt.int64:
            raise DTypeError(f"{op}: indices must be int64, got {indices.dtype.name}")
        return indices.to(x.device), None
    nested = indices.tolist() if hasattr(indices, "tolist") else indices
    values, _ = flatten_data(nested)
    if any(isinstance(v, bool) or not isinstance(v, int) for v in values):
        raise DTypeError(f"{op}: indices must be integers, got {indices!r}")
    return Tensor(nested, dtype=dt.int64, device=x.device), values


def _check_unpool_input(x: Tensor, index: Tensor, n: int, op: str) -> None:
    if x.ndim not in (n + 1, n + 2):
        raise ShapeError(f"{op} needs a {n + 1}-d or {n + 2}-d input, got shape {x.shape}")
    if index.shape != x.shape:
        raise ShapeError(f"{op}: indices of shape {index.shape} must have the input's shape {x.shape}")
    if 0 in x.shape[x.ndim - n - 1:]:
        raise ShapeError(f"{op}: the input's non-batch dims must not be empty, got shape {x.shape}")


def _unpool_output_size(in_shape: Sequence[int], k: tuple[int, ...], s: tuple[int, ...], p: tuple[int, ...],
                        output_size: Sequence[int] | None) -> tuple[int, ...]:
    """torch's _unpool_output_size: the default, or output_size (its last n entries may follow N and C) within a
    stride of it."""
    n = len(k)
    default = [(in_shape[-n + i] - 1) * s[i] + k[i] - 2 * p[i] for i in range(n)]
    size = default if output_size is None else [int(v) for v in output_size]
    if len(size) == n + 2:
        size = size[2:]
    if len(size) != n:
        raise ArgumentError(f"output_size should be a sequence containing {n} or {n + 2} elements, but it has a "
                            f"length of '{len(size)}'")
    for i, (want, base) in enumerate(zip(size, default)):
        if output_size is not None and not base - s[i] < want < base + s[i]:
            raise ArgumentError(f'invalid output_size "{tuple(output_size)}" (dim {i} must be between '
                                f"{base - s[i]} and {base + s[i]})")
        if want < 0:
            raise ArgumentError(f"max_unpooling: output_size must contain non-negative spatial dimensions, but got "
                                f"output_size[{i}]={want}")
    return tuple(size)


def _write_last(values: Tensor, index: Tensor, n_out: int) -> Tensor:
    """(..., n_out): out[..., j] = values[..., i] for the last i with index[..., i] == j, else 0. An index outside
    [0, n_out) writes nowhere (no wrap of negatives)."""
    n_in = values.shape[-1]
    targets = Tensor.arange(n_out, dtype=dt.int64, device=values.device)
    order = Tensor.arange(n_in, dtype=dt.int64, device=values.device).reshape(n_in, 1)
    writer = (index.unsqueeze(-1) == targets).where(order, -1).amax(-2)
    picked = values.gather(-1, writer.clamp(0, None))
    return (writer >= 0).where(picked, 0).cast(values.dtype)


def _unpool_grad(g: Tensor, out: Tensor, values: Tensor, index: Tensor) -> tuple[Tensor, None]:
    """torch's rule: each value's gradient is the output gradient at its index (zero for an index out of range)."""
    inside = (index >= 0) & (index < g.shape[-1])
    return inside.where(g.gather(-1, inside.where(index, 0)), 0).cast(g.dtype), None


# ---- normalization ----
def batch_norm(x: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Normalize over every dim but 1. In training the running stats are updated in place (Tensor.assign)."""
    axes = tuple(a for a in range(x.ndim) if a != 1)
    shape = [x.shape[1] if a == 1 else 1 for a in range(x.ndim)]
    if training or running_mean is None:
        mean = x.mean(axes, keepdim=True)
        var = ((x - mean) ** 2).mean(axes, keepdim=True)
        if training and running_mean is not None and running_var is not None:
            count = x.numel() // x.shape[1]
            unbiased = var.detach().reshape(-1) * (count / max(count - 1, 1))
            running_mean.assign(running_mean * (1 - momentum) + mean.detach().reshape(-1) * momentum)
            running_var.assign(running_var * (1 - momentum) + unbiased * momentum)
    else:
        mean, var = running_mean.reshape(shape), running_var.reshape(shape)
    return normalize_affine(x, mean, var, eps, weight, bias, shape)


def layer_norm(x: Tensor, normalized_shape: IntOrTuple, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(x.shape[-len(shape):]) != shape:
        raise ShapeError(f"layer_norm over {shape} does not fit input of shape {x.shape}")
    axes = tuple(range(-len(shape), 0))
    mean = x.mean(axes, keepdim=True)
    var = ((x - mean) ** 2).mean(axes, keepdim=True)
    out = (x - mean) * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    return out + bias if bias is not None else out


def group_norm(x: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    n, c = x.shape[0], x.shape[1]
    if c % num_groups:
        raise ShapeError(f"group_norm: {c} channels do not split into {num_groups} groups")
    g = x.reshape(n, num_groups, -1)
    mean = g.mean(-1, keepdim=True)
    var = ((g - mean) ** 2).mean(-1, keepdim=True)
    out = ((g - mean) * (var + eps).rsqrt()).reshape(x.shape)
    shape = [c if a == 1 else 1 for a in range(x.ndim)]
    if weight is not None:
        out = out * weight.reshape(shape)
    return out + bias.reshape(shape) if bias is not None else out


def rms_norm(x: Tensor, normalized_shape: IntOrTuple, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if eps is None:
        eps = {dt.float16: 2 ** -10, dt.bfloat16: 2 ** -7, dt.float64: 2 ** -52}.get(x.dtype, 2 ** -23)
    axes = tuple(range(-len(shape), 0))
    out = x * ((x * x).mean(axes, keepdim=True) + eps).rsqrt()
    return out * weight if weight is not None else out


# ---- attention ----
def masked_softmax(scores: Tensor) -> Tensor:
    """softmax over the last dim, but 0 on rows that are entirely -inf, as torch's attention does: a query that
    may attend to nothing (all padding) gives a zero output and zero gradients, not NaN. The -inf rows are
    zeroed before the softmax too, or its backward would multiply by NaN."""
    empty = scores.amax(-1, keepdim=True) == -math.inf
    return empty.where(0.0, empty.where(0.0, scores).softmax(-1))


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(q k^T * scale + mask) v. A bool mask marks the positions that take part."""
    if enable_gqa and q.shape[-3] != k.shape[-3]:
        rep = q.shape[-3] // k.shape[-3]
        k, v = k.repeat_interleave(rep, -3), v.repeat_interleave(rep, -3)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * scale
    if is_causal:
        scores = causal_mask(q.shape[-2], k.shape[-2], q.device).where(scores, -math.inf)
    if attn_mask is not None:
        if attn_mask.dtype is dt.bool_:
            scores = attn_mask.where(scores, -math.inf)
        else:
            scores = scores + attn_mask
    # only a mask can empty a row: the causal one always keeps column 0
    weights = masked_softmax(scores) if attn_mask is not None else scores.softmax(-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True)
    return weights @ v


# ---- losses ----
def _class_last(x: Tensor) -> Tensor:
    """(N, C, d1, ...) -> (N * d1 * ..., C); (C,) stays (1, C)."""
    if x.ndim == 1:
        return x.unsqueeze(0)
    if x.ndim == 2:
        return x
    return x.permute(0, *range(2, x.ndim), 1).reshape(-1, x.shape[1])


def _picked(logp: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int):
    """Per-example -logp[target] * w[target] (0 where ignored) and the weights used, both flat."""
    tgt = target.reshape(-1)
    valid = tgt != ignore_index
    safe = valid.where(tgt, 0)
    nll = -logp.gather(1, safe.unsqueeze(1)).squeeze(1)
    w = weight.index_select(0, safe) if weight is not None else None
    w = valid.where(w if w is not None else 1.0, 0.0).cast(logp.dtype)
    return nll * w, w


def nll_loss(logp: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    if target.dtype.is_float:
        raise ArgumentError(f"nll_loss needs integer class targets, got {target.dtype.name}")
    flat = _class_last(logp)
    if target.numel() != flat.shape[0]:
        raise ShapeError(f"nll_loss: target of shape {target.shape} does not match input of shape {logp.shape}")
    loss, w = _picked(flat, target, weight, ignore_index)
    if reduction == "mean":
        return loss.sum() / w.sum()
    return reduce_loss(loss.reshape(target.shape), reduction)


def cross_entropy(x: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    flat = _class_last(x).log_softmax(-1)
    n_classes = flat.shape[1]
    wrow = weight.reshape(1, -1) if weight is not None else None
    if target.dtype.is_float:
        # class probabilities, one row per example
        probs = _class_last(target)
        if label_smoothing:
            probs = probs * (1 - label_smoothing) + label_smoothing / n_classes
        loss = -(flat * probs * (wrow if wrow is not None else 1.0)).sum(-1)
        out_shape = (x.shape[0], *x.shape[2:]) if x.ndim > 1 else ()
        return reduce_loss(loss.reshape(out_shape), reduction)
    nll = nll_loss(flat, target.reshape(-1), weight, ignore_index, reduction if reduction != "none" else "none")
    if not label_smoothing:
        return nll.reshape(target.shape) if reduction == "none" else nll
    tgt = target.reshape(-1)
    valid = tgt != ignore_index
    smooth = -(flat * wrow).sum(-1) if wrow is not None else -flat.sum(-1)
    smooth = valid.where(smooth, 0.0)
    if reduction == "mean":
        _, w = _picked(flat, tgt, weight, ignore_index)
        smooth = smooth.sum() / w.sum()
    elif reduction == "sum":
        smooth = smooth.sum()
    else:
        smooth, nll = smooth.reshape(target.shape), nll.reshape(target.shape)
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / n_classes)


def mse_loss(x: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    return reduce_loss((x - target) ** 2, reduction)


def l1_loss(x: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    return reduce_loss((x - target).abs(), reduction)


def smooth_l1_loss(x: Tensor, target: Tensor, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta below beta, |d| - 0.5 beta above; beta=0 is the L1 loss (torch's special case)."""
    d = (x - target).abs()
    if beta == 0:
        return reduce_loss(d, reduction)
    return reduce_loss((d < beta).where(d * d * (0.5 / beta), d - 0.5 * beta), reduction)


def huber_loss(x: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d^2 below delta, delta (|d| - 0.5 delta) above: smooth_l1_loss scaled by delta."""
    d = (x - target).abs()
    return reduce_loss((d < delta).where(d * d * 0.5, (d - 0.5 * delta) * delta), reduction)


def kl_div(x: Tensor, target: Tensor, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """target * (log target - x) with x given as log-probabilities; 'batchmean' divides the sum by the batch
    size (the true KL divergence), 'mean' by the number of elements (torch's default)."""
    if log_target:
        loss = target.exp() * (target - x)
    else:
        loss = target.xlogy(target) - target * x  # 0 where target is 0
    if reduction == "batchmean":
        return loss.sum() / (x.shape[0] if x.ndim else 1)
    return reduce_loss(loss, reduction)


def binary_cross_entropy(x: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean") -> Tensor:
    # torch clamps each log at -100 so a saturated probability gives a finite loss
    loss = -(target * x.log().clamp(-100, None) + (1 - target) * (1 - x).log().clamp(-100, None))
    return reduce_loss(loss * weight if weight is not None else loss, reduction)


def binary_cross_entropy_with_logits(x: Tensor, target: Tensor, weight: Tensor | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    # log(1 + exp(-|x|)) + max(-x, 0) is log(1 + exp(-x)) without overflow
    softplus_neg = (-x.abs()).exp().log1p() + (-x).relu()
    if pos_weight is not None:
        loss = (1 - target) * x + (1 + (pos_weight - 1) * target) * softplus_neg
    else:
        loss = (1 - target) * x + softplus_neg
    return reduce_loss(loss * weight if weight is not None else loss, reduction)


# ---- resampling ----
def _out_sizes(x: Tensor, size: Any, scale_factor: Any, n: int) -> tuple[list[int], list[float | None]]:
    if (size is None) == (scale_factor is None):
        raise ArgumentError("interpolate needs exactly one of size and scale_factor")
    spatial = x.shape[-n:]
    if size is not None:
        return list(int_tuple(size, n)), [None] * n
    factors = [float(f) for f in (scale_factor if isinstance(scale_factor, (tuple, list)) else [scale_factor] * n)]
    return [int(math.floor(i * f)) for i, f in zip(spatial, factors)], factors


def _nearest_axis(x: Tensor, axis: int, out: int, factor: float | None) -> Tensor:
    n = x.shape[axis]
    scale = 1.0 / factor if factor else n / out
    index = [min(int(math.floor(i * scale)), n - 1) for i in range(out)]
    return x.index_select(axis, Tensor(index, dtype=dt.int32, device=x.device))


def _linear_axis(x: Tensor, axis: int, out: int, factor: float | None, align_corners: bool) -> Tensor:
    n = x.shape[axis]
    lo, hi, frac = [], [], []
    for i in range(out):
        if align_corners:
            src = i * (n - 1) / (out - 1) if out > 1 else 0.0
        else:
            scale = 1.0 / factor if factor else n / out
            src = max((i + 0.5) * scale - 0.5, 0.0)
        i0 = min(int(math.floor(src)), n - 1)
        lo.append(i0)
        hi.append(min(i0 + 1, n - 1))
        frac.append(src - i0)
    shape = [out if d == axis else 1 for d in range(x.ndim)]
    lam = Tensor(frac, dtype=x.dtype, device=x.device).reshape(shape)
    a = x.index_select(axis, Tensor(lo, dtype=dt.int32, device=x.device))
    b = x.index_select(axis, Tensor(hi, dtype=dt.int32, device=x.device))
    return a * (1 - lam) + b * lam


def interpolate(x: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None) -> Tensor:
    n = x.ndim - 2
    if n < 1:
        raise ShapeError(f"interpolate needs (N, C, ...) input, got {x.shape}")
    sizes, factors = _out_sizes(x, size, scale_factor, n)
    if mode == "nearest":
        for j in range(n):
            x = _nearest_axis(x, 2 + j, sizes[j], factors[j])
        return x
    if mode in ("linear", "bilinear", "trilinear"):
        for j in range(n):
            x = _linear_axis(x, 2 + j, sizes[j], factors[j], bool(align_corners))
        return x
    raise ArgumentError(f"interpolate mode must be nearest, linear or bilinear, got {mode!r}")


__all__ = ["relu", "leaky_relu", "elu", "gelu", "silu", "hardswish", "sigmoid", "tanh", "softmax", "log_softmax",
           "dropout", "linear", "embedding", "one_hot", "pad", "conv2d", "conv1d", "conv_transpose2d",
           "conv_transpose1d", "max_pool2d", "avg_pool2d", "max_pool1d", "avg_pool1d", "adaptive_avg_pool2d",
           "max_unpool1d", "max_unpool2d", "batch_norm", "layer_norm", "group_norm", "rms_norm", "masked_softmax",
           "scaled_dot_product_attention", "nll_loss", "cross_entropy", "mse_loss", "l1_loss", "smooth_l1_loss",
           "huber_loss", "kl_div", "binary_cross_entropy", "binary_cross_entropy_with_logits", "interpolate"]
