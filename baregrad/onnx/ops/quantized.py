"""ONNX's quantized operators: (de)quantization, and the integer matmul/conv family that accumulates in int32.

Where the spec says "integer", the products and sums are computed in integers (int32 accumulators, exact); only
the final requantization of the QLinear ops uses float, as the spec and onnxruntime do.
"""
from __future__ import annotations

from typing import Any

from baregrad.errors import DTypeError, FormatError
from baregrad.onnx.model import dtype_of
from baregrad.onnx.ops.registry import OpContext, register

_MS = "com.microsoft"


def _dt() -> Any:
    from baregrad import dtype
    return dtype


def _limits(d: Any) -> tuple[int, int]:
    return _dt().min_max_values(d)


def _per_axis(param: Any, x: Any, axis: int, block_size: int = 0) -> Any:
    """A scale or zero point shaped to broadcast against x: scalar, 1-d per `axis`, or blocked along `axis`."""
    if param.ndim == 0 or param.numel() == 1 and param.ndim <= 1:
        return param.reshape(())
    axis = axis % x.ndim
    if block_size > 0:
        return param.repeat_interleave(block_size, axis).narrow(axis, 0, x.shape[axis])
    if param.ndim != 1 or param.shape[0] != x.shape[axis]:
        raise FormatError(f"a quantization parameter of shape {param.shape} does not match axis {axis} of an "
                          f"input of shape {x.shape}")
    return param.reshape([-1 if i == axis else 1 for i in range(x.ndim)])


def quantize(x: Any, scale: Any, zero_point: Any, out_dtype: Any, saturate: bool = True) -> Any:
    """saturate(round_half_even(x / scale) + zero_point) in out_dtype; scale/zero_point already broadcastable."""
    lo, hi = _limits(out_dtype)
    q = (x.float() / scale.float()).round()
    if zero_point is not None:
        q = q + zero_point.float()
    return q.clamp(lo, hi).cast(out_dtype)


def _widen(x: Any, zero_point: Any) -> Any:
    """x - zero_point as int32 (exact for 8/16-bit inputs)."""
    xi = x.cast(_dt().int32)
    return xi - zero_point.cast(_dt().int32) if zero_point is not None else xi


@register("QuantizeLinear")
@register("QuantizeLinear", _MS)
def quantize_linear(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    x, scale = inputs[0], inputs[1]
    zp = inputs[2] if len(inputs) > 2 else None
    axis, block = attrs.get("axis", 1), attrs.get("block_size", 0)
    if zp is not None:
        out_dtype = zp.dtype
    elif attrs.get("output_dtype"):
        out_dtype = dtype_of(attrs["output_dtype"])
    else:
        out_dtype = _dt().uint8
    if not (out_dtype.is_int or out_dtype is _dt().bool_):
        raise DTypeError(f"QuantizeLinear to {out_dtype.name} (float8/int4 outputs have no baregrad dtype)")
    s = _per_axis(scale, x, axis, block)
    z = _per_axis(zp, x, axis, block) if zp is not None else None
    return quantize(x, s, z, out_dtype, bool(attrs.get("saturate", 1)))


@register("DequantizeLinear")
@register("DequantizeLinear", _MS)
def dequantize_linear(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    x, scale = inputs[0], inputs[1]
    zp = inputs[2] if len(inputs) > 2 else None
    axis, block = attrs.get("axis", 1), attrs.get("block_size", 0)
    s = _per_axis(scale, x, axis, block)
    z = _per_axis(zp, x, axis, block) if zp is not None else None
    centered = _widen(x, z) if x.dtype is not _dt().int64 else (x - z if z is not None else x)
    out = centered.float() * s.float()
    out_dtype = dtype_of(attrs["output_dtype"]) if attrs.get("output_dtype") else scale.dtype
    return out.cast(out_dtype)


@register("DynamicQuantizeLinear")
def dynamic_quantize_linear(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    y, scale, zp = dynamic_quantize(inputs[0])
    return y, scale, zp


def dynamic_quantize(x: Any) -> tuple[Any, Any, Any]:
    """uint8 quantization over the range of x widened to include 0 (the spec's formula)."""
    u8 = _dt().uint8
    xf = x.float()
    lo = xf.min().minimum(0.0)
    hi = xf.max().maximum(0.0)
    scale = (hi - lo) / 255.0
    safe = (scale == 0).where(1.0, scale)  # an all-zero input: scale 0, every value quantizes to 0
    zp = (-lo / safe).round().clamp(0, 255)
    y = ((xf / safe).round() + zp).clamp(0, 255).cast(u8)
    return y, scale, zp.cast(u8)


def int_matmul(a: Any, b: Any, a_zp: Any, b_zp: Any) -> Any:
    """(a - a_zp) @ (b - b_zp) in int32. a_zp is a scalar or per row of a; b_zp a scalar or per column of b."""
    i32 = _dt().int32
    if a_zp is not None and a_zp.numel() > 1:
        a_zp = a_zp.reshape(-1, 1)
    if b_zp is not None and b_zp.numel() > 1:
        b_zp = b_zp.reshape(*b_zp.shape[:-1], 1, b_zp.shape[-1]) if b_zp.ndim > 1 else b_zp.reshape(1, -1)
    return _widen(a, a_zp).matmul(_widen(b, b_zp)).cast(i32)


@register("MatMulInteger")
def matmul_integer(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    a, b = inputs[0], inputs[1]
    a_zp = inputs[2] if len(inputs) > 2 else None
    b_zp = inputs[3] if len(inputs) > 3 else None
    return int_matmul(a, b, a_zp, b_zp)


def _conv_int(x: Any, w: Any, x_zp: Any, w_zp: Any, attrs: dict) -> Any:
    """Conv of (x - x_zp) and (w - w_zp) in int32 (w_zp scalar or per output channel)."""
    import baregrad.nn.functional as F
    from baregrad.nn.functional.spatial import conv3d
    i32 = _dt().int32
    nd = w.ndim - 2
    if w_zp is not None and w_zp.numel() > 1:
        w_zp = w_zp.reshape(-1, *([1] * (w.ndim - 1)))
    xi, wi = _widen(x, x_zp), _widen(w, w_zp)
    xi, pads = _auto_pad(xi, wi.shape[2:], attrs)
    stride = tuple(attrs.get("strides", [1] * nd))
    dilation = tuple(attrs.get("dilations", [1] * nd))
    group = attrs.get("group", 1)
    xi = xi.pad([(0, 0), (0, 0)] + pads)
    conv = {1: F.conv1d, 2: F.conv2d, 3: conv3d}.get(nd)
    if conv is None:
        raise FormatError(f"integer conv over {nd} spatial dims is not supported")
    return conv(xi, wi, None, stride, 0, dilation, group).cast(i32)


def _auto_pad(x: Any, kernel: tuple[int, ...], attrs: dict) -> tuple[Any, list[tuple[int, int]]]:
    """ONNX conv padding (pads or auto_pad SAME_UPPER/SAME_LOWER/VALID) as per-dim (before, after) pairs."""
    nd = len(kernel)
    auto = attrs.get("auto_pad", "NOTSET")
    stride = attrs.get("strides", [1] * nd)
    dilation = attrs.get("dilations", [1] * nd)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for i in range(nd):
            size = x.shape[2 + i]
            out = -(-size // stride[i])
            total = max((out - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 - size, 0)
            small = total // 2
            pads.append((small, total - small) if auto == "SAME_UPPER" else (total - small, small))
        return x, pads
    if auto == "VALID":
        return x, [(0, 0)] * nd
    p = attrs.get("pads", [0] * (2 * nd))
    return x, [(p[i], p[i + nd]) for i in range(nd)]


@register("ConvInteger")
def conv_integer(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    x, w = inputs[0], inputs[1]
    x_zp = inputs[2] if len(inputs) > 2 else None
    w_zp = inputs[3] if len(inputs) > 3 else None
    return _conv_int(x, w, x_zp, w_zp, attrs)


def requantize(acc: Any, multiplier: Any, y_zp: Any, out_dtype: Any) -> Any:
    """saturate(round(acc * multiplier) + y_zp): the last, float step of the QLinear ops."""
    lo, hi = _limits(out_dtype)
    q = (acc.float() * multiplier).round()
    if y_zp is not None:
        q = q + y_zp.float()
    return q.clamp(lo, hi).cast(out_dtype)


@register("QLinearMatMul")
def qlinear_matmul(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp = inputs[:8]
    acc = int_matmul(a, b, a_zp, b_zp)
    b_s = b_scale.reshape(1, -1) if b_scale.numel() > 1 else b_scale.reshape(())
    a_s = a_scale.reshape(-1, 1) if a_scale.numel() > 1 else a_scale.reshape(())
    multiplier = a_s.float() * b_s.float() / y_scale.float().reshape(())
    return requantize(acc, multiplier, y_zp.reshape(()) if y_zp is not None else None,
                      y_zp.dtype if y_zp is not None else a.dtype)


@register("QLinearConv")
def qlinear_conv(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp = inputs[:8]
    bias = inputs[8] if len(inputs) > 8 else None
    acc = _conv_int(x, w, x_zp, w_zp, attrs)
    if bias is not None:
        acc = acc + bias.cast(_dt().int32).reshape(1, -1, *([1] * (acc.ndim - 2)))
    w_s = w_scale.reshape(1, -1, *([1] * (acc.ndim - 2))) if w_scale.numel() > 1 else w_scale.reshape(())
    multiplier = x_scale.float().reshape(()) * w_s.float() / y_scale.float().reshape(())
    return requantize(acc, multiplier, y_zp.reshape(()) if y_zp is not None else None,
                      y_zp.dtype if y_zp is not None else x.dtype)


# ---- com.microsoft: the quantized ops onnxruntime's quantizer emits ----

def _scale_row(scale: Any) -> Any:
    return scale.float().reshape(-1) if scale.numel() > 1 else scale.float().reshape(())


@register("MatMulIntegerToFloat", _MS)
def matmul_integer_to_float(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    a, b, a_scale, b_scale = inputs[:4]
    a_zp = inputs[4] if len(inputs) > 4 else None
    b_zp = inputs[5] if len(inputs) > 5 else None
    bias = inputs[6] if len(inputs) > 6 else None
    out = int_matmul(a, b, a_zp, b_zp).float() * (a_scale.float().reshape(()) * _scale_row(b_scale))
    return out + bias if bias is not None else out


@register("DynamicQuantizeMatMul", _MS)
def dynamic_quantize_matmul(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    a, b, b_scale = inputs[:3]
    b_zp = inputs[3] if len(inputs) > 3 else None
    bias = inputs[4] if len(inputs) > 4 else None
    qa, a_scale, a_zp = dynamic_quantize(a)
    out = int_matmul(qa, b, a_zp, b_zp).float() * (a_scale * _scale_row(b_scale))
    return out + bias if bias is not None else out


@register("QGemm", _MS)
def qgemm(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    a, a_scale, a_zp, b, b_scale, b_zp = inputs[:6]
    c = inputs[6] if len(inputs) > 6 else None
    y_scale = inputs[7] if len(inputs) > 7 else None
    y_zp = inputs[8] if len(inputs) > 8 else None
    if attrs.get("transA", 0):
        a = a.transpose(0, 1)
    if attrs.get("transB", 0):
        b = b.transpose(0, 1)
    acc = int_matmul(a, b, a_zp, b_zp)
    if c is not None:
        acc = acc + c.cast(_dt().int32)
    scale = a_scale.float().reshape(()) * _scale_row(b_scale) * attrs.get("alpha", 1.0)
    if y_scale is None:
        return acc.float() * scale
    return requantize(acc, scale / y_scale.float().reshape(()), y_zp.reshape(()) if y_zp is not None else None,
                      y_zp.dtype if y_zp is not None else _dt().uint8)
