"""The `com.microsoft` contrib operators that transformer exporters and onnxruntime's optimizer emit: fused
attention, (skip/simplified) layer norms, the GELU family, FusedMatMul and EmbedLayerNormalization.
Quantized contrib ops live in quantized.py."""
from __future__ import annotations

import math
from typing import Any

from baregrad.errors import FormatError
from baregrad.onnx.ops.registry import OpContext, register

_MS = "com.microsoft"


def _gelu_erf(x: Any) -> Any:
    return x * 0.5 * (1.0 + (x * (1.0 / math.sqrt(2.0))).erf())


def _gelu_tanh(x: Any) -> Any:
    return x * 0.5 * (1.0 + ((x + 0.044715 * x * x * x) * math.sqrt(2.0 / math.pi)).tanh())


@register("Gelu", _MS)
def gelu(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    return _gelu_erf(inputs[0])


@register("BiasGelu", _MS)
def bias_gelu(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    return _gelu_erf(inputs[0] + inputs[1])


@register("FastGelu", _MS)
def fast_gelu(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    x = inputs[0] if len(inputs) < 2 or inputs[1] is None else inputs[0] + inputs[1]
    return _gelu_tanh(x)


@register("QuickGelu", _MS)
def quick_gelu(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    x = inputs[0]
    return x * (x * attrs.get("alpha", 1.702)).sigmoid()


def _layer_norm(x: Any, gamma: Any, beta: Any, eps: float, axis: int, simplified: bool) -> tuple[Any, Any, Any]:
    """Normalized x over the dims from `axis` on (in float32), with its mean and 1/std for the optional outputs."""
    axis = axis % x.ndim
    axes = tuple(range(axis, x.ndim))
    xf = x.float()
    if simplified:
        mean = None
        inv = ((xf * xf).mean(axes, keepdim=True) + eps).rsqrt()
        out = xf * inv
    else:
        mean = xf.mean(axes, keepdim=True)
        centered = xf - mean
        inv = ((centered * centered).mean(axes, keepdim=True) + eps).rsqrt()
        out = centered * inv
    out = out * gamma.float()
    if beta is not None:
        out = out + beta.float()
    return out.cast(x.dtype), mean, inv


def _opt(inputs: list, i: int) -> Any:
    return inputs[i] if len(inputs) > i else None


@register("LayerNormalization", _MS)
def layer_norm(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    out, mean, inv = _layer_norm(inputs[0], inputs[1], _opt(inputs, 2), attrs.get("epsilon", 1e-5),
                                 attrs.get("axis", -1), False)
    return out, mean, inv


@register("SimplifiedLayerNormalization", _MS)
def simplified_layer_norm(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    out, _, inv = _layer_norm(inputs[0], inputs[1], None, attrs.get("epsilon", 1e-5), attrs.get("axis", -1), True)
    return out, inv


@register("SimplifiedLayerNormalization")
def simplified_layer_norm_default_domain(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    """onnxruntime registers RMS-norm under the default domain too; models exported for it use that name."""
    out, _, inv = _layer_norm(inputs[0], inputs[1], None, attrs.get("epsilon", 1e-5), attrs.get("axis", -1), True)
    return out, inv


def _skip_layer_norm(inputs: list, attrs: dict, simplified: bool) -> tuple[Any, Any, Any, Any]:
    x, skip = inputs[0], inputs[1]
    gamma = inputs[2]
    beta = None if simplified else _opt(inputs, 3)
    bias = _opt(inputs, 3 if simplified else 4)
    summed = x + skip
    if bias is not None:
        summed = summed + bias
    out, mean, inv = _layer_norm(summed, gamma, beta, attrs.get("epsilon", 1e-12), -1, simplified)
    return out, mean, inv, summed


@register("SkipLayerNormalization", _MS)
def skip_layer_norm(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    return _skip_layer_norm(inputs, attrs, False)


@register("SkipSimplifiedLayerNormalization", _MS)
def skip_simplified_layer_norm(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    out, _, inv, summed = _skip_layer_norm(inputs, attrs, True)
    return out, None, inv, summed


@register("FusedMatMul", _MS)
def fused_matmul(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    a, b = inputs[0], inputs[1]
    if attrs.get("transBatchA", 0) and a.ndim > 2:
        a = a.permute(*range(1, a.ndim - 1), 0, a.ndim - 1)
    if attrs.get("transBatchB", 0) and b.ndim > 2:
        b = b.permute(*range(1, b.ndim - 1), 0, b.ndim - 1)
    if attrs.get("transA", 0):
        a = a.transpose(-1, -2)
    if attrs.get("transB", 0):
        b = b.transpose(-1, -2)
    out = a.matmul(b)
    alpha = attrs.get("alpha", 1.0)
    return out * alpha if alpha != 1.0 else out


def _heads(x: Any, batch: int, seq: int, heads: int) -> Any:
    return x.reshape(batch, seq, heads, -1).permute(0, 2, 1, 3)


def _attention_mask(mask: Any, batch: int, seq: int, total: int, filter_value: float) -> Any:
    """An additive (batch, 1|heads, seq, total) bias from the Attention op's mask_index forms."""
    from baregrad.tensor import Tensor
    if mask.ndim == 1:
        ends = mask[:batch].reshape(batch, 1, 1, 1)
        keep = Tensor.arange(total, device=mask.device).reshape(1, 1, 1, total) < ends
        if mask.shape[0] == 2 * batch:
            starts = mask[batch:].reshape(batch, 1, 1, 1)
            keep = keep & (Tensor.arange(total, device=mask.device).reshape(1, 1, 1, total) >= starts)
    elif mask.ndim == 2:
        keep = mask.reshape(batch, 1, 1, total) != 0
    elif mask.ndim == 3:
        keep = mask.reshape(batch, 1, seq, total) != 0
    elif mask.ndim == 4:
        keep = mask[:, :, :seq, :total] != 0
    else:
        raise FormatError(f"Attention mask_index of shape {mask.shape} is not supported")
    return keep.where(0.0, filter_value)


@register("Attention", _MS)
def attention(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    """Self-attention with packed QKV weights: softmax(QK^T * scale + mask + bias) V, heads merged back."""
    x, weights = inputs[0], inputs[1]
    bias, mask, past, extra = _opt(inputs, 2), _opt(inputs, 3), _opt(inputs, 4), _opt(inputs, 5)
    if past is not None:
        raise FormatError("Attention with a past state is not supported")
    heads = attrs["num_heads"]
    batch, seq, _ = x.shape
    sizes = attrs.get("qkv_hidden_sizes") or [weights.shape[1] // 3] * 3
    qkv = x.matmul(weights)
    if bias is not None:
        qkv = qkv + bias
    q = _heads(qkv[..., :sizes[0]], batch, seq, heads)
    k = _heads(qkv[..., sizes[0]:sizes[0] + sizes[1]], batch, seq, heads)
    v = _heads(qkv[..., sizes[0] + sizes[1]:], batch, seq, heads)
    scale = attrs.get("scale") or 1.0 / math.sqrt(sizes[0] // heads)
    scores = q.matmul(k.transpose(-1, -2)) * scale
    if mask is not None:
        scores = scores + _attention_mask(mask, batch, seq, seq, attrs.get("mask_filter_value", -10000.0))
    if extra is not None:
        scores = scores + extra
    if attrs.get("unidirectional", 0):
        from baregrad.tensor import Tensor
        causal = Tensor.ones(seq, seq, device=x.device).tril().reshape(1, 1, seq, seq) != 0
        scores = causal.where(scores, -math.inf)
    out = scores.softmax(-1).matmul(v)
    return out.permute(0, 2, 1, 3).reshape(batch, seq, sizes[2]), None


@register("EmbedLayerNormalization", _MS)
def embed_layer_norm(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    """word + position (+ segment) embeddings, layer-normed; also the mask's per-row token counts."""
    from baregrad import dtype as dt
    from baregrad.tensor import Tensor
    ids, segments, word, pos, seg, gamma, beta = (_opt(inputs, i) for i in range(7))
    mask, position_ids = _opt(inputs, 7), _opt(inputs, 8)
    batch, seq = ids.shape
    emb = word[ids.cast(dt.int64)]
    if position_ids is None:
        position_ids = Tensor.arange(seq, device=ids.device).reshape(1, seq).expand(batch, seq)
    emb = emb + pos[position_ids.cast(dt.int64)]
    if segments is not None and seg is not None:
        emb = emb + seg[segments.cast(dt.int64)]
    out, _, _ = _layer_norm(emb, gamma, beta, attrs.get("epsilon", 1e-12), -1, False)
    lengths = (mask.cast(dt.int32).sum(-1) if mask is not None else
               Tensor.full((batch,), seq, dtype=dt.int32, device=ids.device)).cast(dt.int32)
    return out, lengths, emb
