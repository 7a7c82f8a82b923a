"""Helpers that several nn.functional families and nn's layers share: argument normalization, loss reduction,
sliding windows (the view conv and pooling read), convolution, the causal mask, normalization's affine tail."""
from __future__ import annotations

import math
from typing import Any, Sequence

from baregrad import dtype as dt
from baregrad.device import get_device
from baregrad.errors import ArgumentError, ShapeError
from baregrad.tensor import Tensor
from baregrad.tensor_ops.weight_layout import channels_last_view

IntOrTuple = int | Sequence[int]


def int_tuple(v: IntOrTuple, n: int) -> tuple[int, ...]:
    if isinstance(v, int):
        return (v,) * n
    v = tuple(int(x) for x in v)
    if len(v) == 1:
        return v * n
    if len(v) != n:
        raise ArgumentError(f"expected {n} values, got {v}")
    return v


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ArgumentError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def implicit_softmax_dim(ndim: int) -> int:
    """torch's (deprecated) choice when softmax gets no dim: 0 for 0-, 1- and 3-d input, else 1."""
    return 0 if ndim in (0, 1, 3) else 1


def sliding_windows(x: Tensor, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...]) -> Tensor:
    """(..., *spatial) -> (..., *out, *kernel): every sliding window, as a view made of movement ops only.

    Overlapping windows come from repeating each spatial dim e times (an expand), flattening, and reading
    the flat dim as (k, i + d) rows: row j then starts j * d further along, which is the dilation. Stride
    is a reshape to (o, s) and a shrink to the first of each s.
    """
    n = len(kernel)
    lead, spatial = x.shape[:-n], x.shape[-n:]
    outs = [(i - d * (k - 1) - 1) // s + 1 for i, k, s, d in zip(spatial, kernel, stride, dilation)]
    if any(o <= 0 for o in outs):
        raise ShapeError(f"kernel {kernel} (dilation {dilation}) is larger than the padded input {spatial}")
    keep = [(0, s) for s in lead]
    if all(k <= s for k, s in zip(kernel, stride)) and all(d == 1 for d in dilation):
        # non-overlapping windows: a reshape to (o, s) and a shrink to (o, k)
        x = x.pad([(0, 0)] * len(lead) + [(0, max(0, o * s - i)) for i, o, s in zip(spatial, outs, stride)])
        x = x.shrink(keep + [(0, o * s) for o, s in zip(outs, stride)])
        x = x.reshape(*lead, *[v for o, s in zip(outs, stride) for v in (o, s)])
        x = x.shrink(keep + [b for o, k in zip(outs, kernel) for b in ((0, o), (0, k))])
        m = len(lead)
        return x.permute(*range(m), *[m + 2 * j for j in range(n)], *[m + 2 * j + 1 for j in range(n)])
    reps = [math.ceil(k * (i + d) / i) for i, k, d in zip(spatial, kernel, dilation)]
    x = x.reshape(*lead, *[v for i in spatial for v in (1, i)])
    x = x.expand(*lead, *[v for r, i in zip(reps, spatial) for v in (r, i)])
    x = x.reshape(*lead, *[r * i for r, i in zip(reps, spatial)])
    x = x.shrink(keep + [(0, k * (i + d)) for i, k, d in zip(spatial, kernel, dilation)])
    x = x.reshape(*lead, *[v for i, k, d in zip(spatial, kernel, dilation) for v in (k, i + d)])
    x = x.shrink(keep + [b for k, o, s in zip(kernel, outs, stride) for b in ((0, k), (0, o * s))])
    x = x.reshape(*lead, *[v for k, o, s in zip(kernel, outs, stride) for v in (k, o, s)])
    x = x.shrink(keep + [b for k, o in zip(kernel, outs) for b in ((0, k), (0, o), (0, 1))])
    x = x.reshape(*lead, *[v for k, o in zip(kernel, outs) for v in (k, o)])
    m = len(lead)
    return x.permute(*range(m), *[m + 2 * j + 1 for j in range(n)], *[m + 2 * j for j in range(n)])


def conv_padding(padding: Any, kernel: tuple[int, ...], dilation: tuple[int, ...],
                  stride: tuple[int, ...]) -> list[tuple[int, int]]:
    n = len(kernel)
    if padding == "valid":
        return [(0, 0)] * n
    if padding == "same":
        if any(s != 1 for s in stride):
            raise ArgumentError("padding='same' needs stride 1")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return [(t // 2, t - t // 2) for t in totals]
    if isinstance(padding, str):
        raise ArgumentError(f"padding must be 'valid', 'same' or integers, got {padding!r}")
    return [(p, p) for p in int_tuple(padding, n)]


def convnd(x: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any, dilation: Any,
            groups: int, n: int) -> Tensor:
    if x.ndim != n + 2 or weight.ndim != n + 2:
        raise ShapeError(f"conv{n}d needs a {n + 2}-d input and weight, got {x.shape} and {weight.shape}")
    batch, cin = x.shape[0], x.shape[1]
    cout, cin_g, kernel = weight.shape[0], weight.shape[1], weight.shape[2:]
    if cin != cin_g * groups or cout % groups:
        raise ShapeError(f"conv{n}d: input {x.shape} and weight {weight.shape} do not match groups={groups}")
    stride, dilation = int_tuple(stride, n), int_tuple(dilation, n)
    pads = conv_padding(padding, kernel, dilation, stride)
    d = dt.promote(x.dtype, weight.dtype)
    acc = dt.accumulate_dtype(d)
    if acc is not d:  # 16-bit floats: float32 products and sums, one rounding (as torch); the casts fuse
        biased = convnd(x.cast(acc), weight.cast(acc), None if bias is None else bias.cast(acc), stride, padding,
                        dilation, groups, n)
        return biased.cast(d)
    x = x.pad([(0, 0), (0, 0)] + pads)
    win = sliding_windows(x, kernel, stride, dilation)                      # (N, C, *out, *k)
    outs = win.shape[2:2 + n]
    win = win.reshape(batch, groups, 1, cin_g, *outs, *kernel)
    # move the reduced axes (cin_g, *kernel) last so the reduce is contiguous
    m = 4 + n
    win = win.permute(0, 1, 2, *range(4, 4 + n), 3, *range(m, m + n))
    if groups == 1 and _channel_tiled(weight, outs, stride):
        weight = channels_last_view(weight)
    w = weight.reshape(groups, cout // groups, cin_g, *kernel)
    w = w.reshape(1, groups, cout // groups, *([1] * n), cin_g, *kernel)
    out = (win * w).sum(tuple(range(3 + n, 3 + n + 1 + n))).reshape(batch, cout, *outs)
    return out + bias.reshape(1, cout, *([1] * n)) if bias is not None else out


def _channel_tiled(weight: Tensor, outs: tuple[int, ...], stride: tuple[int, ...]) -> bool:
    """Whether the device tiles this conv along its output channels (codegen/opt.py), so that it should read its
    weight channels-last: where its pixels cannot be SIMD vectors, as output rows that are not a whole number of
    vectors or a strided window. (A pointwise conv over a 28x28 map could be tiled along all of its 784 pixels
    instead, at the same speed, but then it could not share a kernel with the strided shortcut conv that
    ResNet adds to it: mixed, neither tiles.)"""
    lanes = get_device(weight.device).conv_channel_lanes
    return bool(lanes) and weight.shape[0] % lanes == 0 and (outs[-1] % lanes != 0 or stride[-1] != 1)


def causal_mask(n_q: int, n_k: int, device: str) -> Tensor:
    rows = Tensor.arange(n_q, dtype=dt.int32, device=device).reshape(n_q, 1)
    cols = Tensor.arange(n_k, dtype=dt.int32, device=device).reshape(1, n_k)
    return cols <= rows


def normalize_affine(x: Tensor, mean: Tensor, var: Tensor, eps: float, weight: Tensor | None, bias: Tensor | None,
                     shape: Sequence[int]) -> Tensor:
    """(x - mean) / sqrt(var + eps), then scaled by weight and shifted by bias (each reshaped to `shape`)."""
    out = (x - mean) * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    return out + bias.reshape(shape) if bias is not None else out


__all__ = ["IntOrTuple", "causal_mask", "conv_padding", "convnd", "implicit_softmax_dim", "int_tuple", "reduce_loss",
           "sliding_windows", "normalize_affine"]
