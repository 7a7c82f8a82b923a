"""ONNX signal processing: DFT and STFT (complex values as a trailing dim of 2), window generators and the mel
filter bank. Transforms are matmuls with cos/sin matrices built on the host for the static length."""
from __future__ import annotations

import math
from typing import Any

import baregrad.dtype as dt
from baregrad.onnx.ops.common import host_scalar, input_at, norm_axis, onnx_dtype
from baregrad.onnx.ops.registry import OpContext, register
from baregrad.tensor import Tensor


def dft_along(x: Tensor, axis: int, length: int, inverse: bool, onesided: bool) -> Tensor:
    """x (..., n along axis, ..., 2) -> its DFT along axis (zero-padded or cut to `length`), last dim (re, im)."""
    n = x.shape[axis]
    if n < length:
        x = x.pad([(0, length - n) if d == axis else (0, 0) for d in range(x.ndim)])
    elif n > length:
        x = x.narrow(axis, 0, length)
    bins = length // 2 + 1 if onesided else length
    sign = 1.0 if inverse else -1.0
    work = dt.float64 if x.dtype is dt.float64 else dt.float32
    angles = [[2 * math.pi * k * j / length for j in range(length)] for k in range(bins)]
    cos = Tensor([[math.cos(a) for a in row] for row in angles], dtype=work, device=x.device)     # (bins, length)
    sin = Tensor([[sign * math.sin(a) for a in row] for row in angles], dtype=work, device=x.device)
    moved = x.cast(work).movedim(axis, -2)                       # (..., length, 2)
    re, im = moved[..., 0], moved[..., 1]                        # (..., length)
    out_re = re @ cos.T - im @ sin.T
    out_im = re @ sin.T + im @ cos.T
    if inverse:
        out_re, out_im = out_re / length, out_im / length
    out = Tensor.stack([out_re, out_im], -1).movedim(-2, axis)
    return out.cast(x.dtype)


def as_complex(x: Tensor) -> Tensor:
    if x.shape[-1] == 2:
        return x
    return Tensor.cat([x, x.zeros_like()], -1)


@register("DFT")
def dft(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    length_t = input_at(inputs, 1)
    if ctx.opset >= 20:
        axis_t = input_at(inputs, 2)
        axis = int(host_scalar(axis_t)) if axis_t is not None else -2
    else:
        axis = attrs.get("axis", 1)
    axis = norm_axis(axis, x.ndim)
    inverse, onesided = bool(attrs.get("inverse", 0)), bool(attrs.get("onesided", 0))
    if inverse and onesided:  # the half spectrum of a real signal: rebuild the rest by Hermitian symmetry
        bins = x.shape[axis]
        length = int(host_scalar(length_t)) if length_t is not None else 2 * (bins - 1)
        full = as_complex(x)
        mirror = full.narrow(axis, 1, max(length - bins, 0)).flip(axis) * Tensor(
            [1.0, -1.0], dtype=full.dtype, device=x.device)
        spectrum = Tensor.cat([full, mirror], axis) if length > bins else full
        return dft_along(spectrum, axis, length, True, False)[..., :1]
    length = int(host_scalar(length_t)) if length_t is not None else x.shape[axis]
    return dft_along(as_complex(x), axis, length, inverse, onesided)


@register("STFT")
def stft(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    signal, step = inputs[0], int(host_scalar(inputs[1]))
    window, length_t = input_at(inputs, 2), input_at(inputs, 3)
    frame = int(host_scalar(length_t)) if length_t is not None else window.shape[0]
    frames = (signal.shape[1] - frame) // step + 1
    sig = as_complex(signal)
    parts = [sig.narrow(1, i * step, frame) for i in range(frames)]
    stacked = Tensor.stack(parts, 1)                          # (batch, frames, frame, 2)
    if window is not None:
        stacked = stacked * window.cast(sig.dtype).reshape(1, 1, frame, 1)
    return dft_along(stacked, 2, frame, False, bool(attrs.get("onesided", 1)))


def _window(name: str, coefficients: list[float]) -> None:
    def run(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
        size = int(host_scalar(inputs[0]))
        denom = size if attrs.get("periodic", 1) else size - 1
        values = []
        for n in range(size):
            v = 0.0
            for k, c in enumerate(coefficients):
                v += c * math.cos(2 * math.pi * k * n / denom) * (-1) ** k
            values.append(v)
        d = onnx_dtype(attrs.get("output_datatype", 1))
        return Tensor(values, dtype=dt.float64, device=ctx.device).cast(d)
    register(name)(run)


_window("HannWindow", [0.5, 0.5])
_window("HammingWindow", [25 / 46, 1 - 25 / 46])
_window("BlackmanWindow", [0.42, 0.5, 0.08])


@register("MelWeightMatrix")
def mel_weight_matrix(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    mels, dft_length, rate = (int(host_scalar(t)) for t in inputs[:3])
    low, high = (float(host_scalar(t)) for t in inputs[3:5])
    spectrum = dft_length // 2 + 1
    to_mel = [2595 * math.log10(1 + f / 700) for f in (low, high)]
    step = (to_mel[1] - to_mel[0]) / (mels + 2)
    edges = []
    for i in range(mels + 2):
        hz = 700 * (10 ** ((i * step + to_mel[0]) / 2595) - 1)
        edges.append(int(((dft_length + 1) * hz) // rate))
    out = [[0.0] * mels for _ in range(spectrum)]
    for i in range(mels):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        if mid == lo:
            out[mid][i] = 1.0
        else:
            for j in range(lo, mid + 1):
                out[j][i] = (j - lo) / (mid - lo)
        for j in range(mid, hi):
            out[j][i] = (hi - j) / (hi - mid)
    d = onnx_dtype(attrs.get("output_datatype", 1))
    return Tensor(out, dtype=dt.float64, device=ctx.device).cast(d)


