"""ONNX Attention (opsets 23-25): 3-d/4-d inputs, KV cache, grouped-query heads, masks, causal and sliding
windows, softcap, and the qk_matmul_output modes; plus RotaryEmbedding.

Fully masked query rows produce zeros (ONNX's convention), decided on the additive bias, not on the logits.
"""
from __future__ import annotations

import math
from typing import Any

import baregrad.dtype as dt
from baregrad.onnx.ops.common import input_at, matmul_rounded_once, onnx_dtype, wide
from baregrad.onnx.ops.registry import OpContext, register
from baregrad.tensor import Tensor

NEG_INF = float("-inf")


def heads_first(x: Tensor, num_heads: int) -> Tensor:
    """(B, S, H*D) -> (B, H, S, D)."""
    b, s, hidden = x.shape
    return x.reshape(b, s, num_heads, hidden // num_heads).permute(0, 2, 1, 3)


def _positions_bias(q_len: int, kv_len: int, offset: Any, allowed_fn: Any, device: str, d: dt.DType) -> Tensor:
    """A (q, kv) or (B, 1, q, kv) additive bias: 0 where allowed_fn(diff) holds, -inf elsewhere.

    diff = (i + offset) - j, the query's absolute position minus the key's."""
    i = Tensor.arange(q_len, dtype=dt.int64, device=device).reshape(q_len, 1)
    j = Tensor.arange(kv_len, dtype=dt.int64, device=device).reshape(1, kv_len)
    if isinstance(offset, Tensor):
        diff = (i.reshape(1, 1, q_len, 1) + offset.cast(dt.int64).reshape(-1, 1, 1, 1)) - j.reshape(1, 1, 1, kv_len)
    else:
        diff = i + int(offset) - j
    return allowed_fn(diff).where(0.0, NEG_INF).cast(d)


@register("Attention")
def attention(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> tuple:
    q, k, v = inputs[:3]
    mask, past_k, past_v = input_at(inputs, 3), input_at(inputs, 4), input_at(inputs, 5)
    nonpad = input_at(inputs, 6)
    three_d = q.ndim == 3
    if three_d:
        q = heads_first(q, attrs["q_num_heads"])
        k = heads_first(k, attrs["kv_num_heads"])
        v = heads_first(v, attrs["kv_num_heads"])
    d = q.dtype
    scale = attrs.get("scale")
    if scale is None:
        scale = 1 / math.sqrt(q.shape[3])
    root = Tensor.full((), math.sqrt(scale), dtype=d, device=q.device)
    present_k = Tensor.cat([past_k, k], 2) if past_k is not None else k
    present_v = Tensor.cat([past_v, v], 2) if past_v is not None else v
    k, v = present_k, present_v
    q_len, kv_len = q.shape[2], k.shape[2]
    bias = Tensor.zeros(q_len, kv_len, dtype=d, device=q.device)
    if mask is not None and mask.shape[-1] < kv_len:
        pad = [(0, 0)] * (mask.ndim - 1) + [(0, kv_len - mask.shape[-1])]
        mask = mask.pad(pad, False) if mask.dtype is dt.bool_ else mask.pad(pad, NEG_INF)
    if mask is not None:
        if mask.dtype is dt.bool_:
            mask = mask.where(0.0, NEG_INF).cast(d)
        bias = bias + mask.cast(d)
    if past_k is None and nonpad is not None:
        offset: Any = nonpad.reshape(-1) - q_len
    else:
        offset = past_k.shape[2] if past_k is not None else 0
    if attrs.get("is_causal", 0):
        bias = bias + _positions_bias(q_len, kv_len, offset, lambda diff: diff >= 0, q.device, d)
    left, right = attrs.get("left_window_size", -1), attrs.get("right_window_size", -1)
    if left >= 0 or right >= 0:
        def inside(diff: Tensor) -> Tensor:
            ok = diff.full_like(True, dt.bool_)
            if left >= 0:
                ok = ok & (diff <= left)
            if right >= 0:
                ok = ok & (-diff <= right)
            return ok
        bias = bias + _positions_bias(q_len, kv_len, offset, inside, q.device, d)
    if nonpad is not None:
        keep = Tensor.arange(kv_len, dtype=dt.int64, device=q.device).reshape(1, kv_len) < \
            nonpad.cast(dt.int64).reshape(-1, 1)
        bias = bias + keep.where(0.0, NEG_INF).cast(d).reshape(-1, 1, 1, kv_len)
    q_heads, kv_heads = q.shape[1], k.shape[1]
    if q_heads != kv_heads and q_heads % kv_heads == 0:
        k = k.repeat_interleave(q_heads // kv_heads, 1)
        v = v.repeat_interleave(q_heads // kv_heads, 1)
    scores = matmul_rounded_once(q * root, (k * root).transpose(2, 3))
    softcap = attrs.get("softcap")
    if softcap is not None and softcap > 0:
        scores = ((scores / softcap).tanh() * softcap).cast(d)
    with_bias = scores + bias
    mode = attrs.get("qk_matmul_output_mode", 0)
    qk_out = with_bias if mode == 2 else scores
    precision = attrs.get("softmax_precision")
    logits = with_bias.cast(onnx_dtype(precision)) if precision is not None else with_bias
    probs = _safe_softmax(logits)
    all_masked = bias.amax(-1, keepdim=True) == NEG_INF
    probs = all_masked.where(0.0, probs).cast(probs.dtype)
    if mode == 3:
        qk_out = probs
    out = matmul_rounded_once(probs.cast(d), v)
    if three_d:
        out = out.permute(0, 2, 1, 3).reshape(out.shape[0], out.shape[2], -1)
    return out.cast(d), present_k, present_v, qk_out.cast(d)


def _safe_softmax(x: Tensor) -> Tensor:
    """softmax whose all -inf rows give zeros, not NaN."""
    top = x.amax(-1, keepdim=True)
    top = (top == NEG_INF).where(0.0, top).cast(x.dtype)
    e = (x - top).exp()
    total = wide(e).sum(-1, keepdim=True).cast(x.dtype)
    return (e / (total == 0).where(1.0, total).cast(x.dtype)).cast(x.dtype)


@register("RotaryEmbedding")
def rotary_embedding(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, cos_cache, sin_cache, positions = inputs[0], inputs[1], inputs[2], input_at(inputs, 3)
    interleaved = attrs.get("interleaved", 0)
    heads = attrs.get("num_heads", 0)
    original = x.shape
    if x.ndim == 4:  # (B, H, S, D) -> (B, S, H, D)
        x = x.permute(0, 2, 1, 3)
    else:
        b, s, hidden = x.shape
        x = x.reshape(b, s, heads, hidden // heads)
    head = x.shape[-1]
    rot = attrs.get("rotary_embedding_dim", 0) or head
    if positions is not None:
        cos = cos_cache.index_select(0, positions.reshape(-1).cast(dt.int64)).reshape(
            *positions.shape, cos_cache.shape[-1])
        sin = sin_cache.index_select(0, positions.reshape(-1).cast(dt.int64)).reshape(
            *positions.shape, sin_cache.shape[-1])
    else:
        cos, sin = cos_cache, sin_cache
    cos = cos.narrow(-1, 0, rot // 2).unsqueeze(2)
    sin = sin.narrow(-1, 0, rot // 2).unsqueeze(2)
    part, rest = x.narrow(-1, 0, rot), x.narrow(-1, rot, head - rot)
    if interleaved:
        x1, x2 = part[..., 0::2], part[..., 1::2]
    else:
        x1, x2 = part.narrow(-1, 0, rot // 2), part.narrow(-1, rot // 2, rot // 2)
    r1, r2 = x1 * cos - x2 * sin, x2 * cos + x1 * sin
    if interleaved:
        rotated = Tensor.stack([r1, r2], -1).reshape(*r1.shape[:-1], rot)
    else:
        rotated = Tensor.cat([r1, r2], -1)
    out = Tensor.cat([rotated, rest], -1) if head > rot else rotated
    if len(original) == 4:
        return out.permute(0, 2, 1, 3).cast(x.dtype)
    return out.reshape(original).cast(x.dtype)


@register("LinearAttention")
def linear_attention(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> tuple[Tensor, Tensor]:
    """Recurrent linear attention over a (B, H_kv, d_k, d_v) state: linear, gated (decay), delta (beta) rules,
    computed in float32 and unrolled over the sequence."""
    q, k, v = inputs[:3]
    past, decay, beta = input_at(inputs, 3), input_at(inputs, 4), input_at(inputs, 5)
    qh, kvh = attrs["q_num_heads"], attrs["kv_num_heads"]
    rule = attrs.get("update_rule", "gated_delta")
    b, t, _ = q.shape
    dk, dv = q.shape[-1] // qh, v.shape[-1] // kvh
    group = qh // kvh
    q4, k4, v4 = (heads_first(x, h).float() for x, h in ((q, qh), (k, kvh), (v, kvh)))
    if decay is not None:
        decay4 = (decay.reshape(b, t, kvh, 1).permute(0, 2, 1, 3) if decay.shape[-1] == kvh
                  else heads_first(decay, kvh)).float()
    if beta is not None:
        beta4 = beta.reshape(b, t, beta.shape[-1], 1).permute(0, 2, 1, 3).float()
    state = past.float() if past is not None else Tensor.zeros(b, kvh, dk, dv, device=q.device)
    scale = attrs.get("scale") or 1 / math.sqrt(dk)
    outs = []
    for i in range(t):
        k_t, v_t = k4[:, :, i, :], v4[:, :, i, :]
        if rule in ("gated", "gated_delta"):
            state = state * decay4[:, :, i, :].exp().unsqueeze(-1)
        if rule in ("delta", "gated_delta"):
            retrieved = (state * k_t.unsqueeze(-1)).sum(2)
            v_t = beta4[:, :, i, :] * (v_t - retrieved)
        state = state + k_t.unsqueeze(-1) * v_t.unsqueeze(-2)
        read = state.repeat_interleave(group, 1) if group > 1 else state
        outs.append((q4[:, :, i, :].unsqueeze(-1) * read).sum(2) * scale)
    out = Tensor.stack(outs, 2).permute(0, 2, 1, 3).reshape(b, t, qh * dv).cast(q.dtype)
    return out, state.cast(past.dtype if past is not None else q.dtype)


@register("SwiGLU")
def swiglu(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    a, b = inputs
    alpha = attrs.get("alpha", 1.0)
    return (a * (a * alpha).sigmoid().cast(a.dtype) * b).cast(a.dtype)


@register("CausalConvWithState")
def causal_conv_with_state(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> tuple[Tensor, Tensor]:
    """Depthwise causal 1-d conv whose left context is the carried state; returns the output and the new state."""
    import baregrad.nn.functional as F
    x, weight, bias, past = inputs[0], inputs[1], input_at(inputs, 2), input_at(inputs, 3)
    b, c, _ = x.shape
    k = weight.shape[2]
    pad = past if past is not None else Tensor.zeros(b, c, k - 1, dtype=x.dtype, device=x.device)
    padded = Tensor.cat([pad, x], 2) if k > 1 else x
    out = F.conv1d(wide(padded), wide(weight), None if bias is None else wide(bias), groups=c).cast(x.dtype)
    if attrs.get("activation", "none") in ("silu", "swish"):
        full = out.float()
        out = (full * full.sigmoid()).cast(x.dtype)
    state = padded.narrow(2, padded.shape[2] - (k - 1), k - 1)
    return out, state


@register("FlexAttention", "ai.onnx.preview")
def flex_attention(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    """Attention whose scores and probabilities pass through user subgraphs (score_mod, prob_mod)."""
    q, k, v = inputs[:3]
    scale = attrs.get("scale")
    if scale is None:
        scale = 1 / math.sqrt(q.shape[3])
    if q.shape[1] != k.shape[1]:
        k = k.repeat_interleave(q.shape[1] // k.shape[1], 1)
        v = v.repeat_interleave(q.shape[1] // v.shape[1], 1)
    root = Tensor.full((), math.sqrt(float(Tensor.full((), scale, dtype=dt.float32).item())), dtype=q.dtype,
                       device=q.device)
    scores = (q * root) @ (k * root).transpose(-1, -2)
    precision = attrs.get("softmax_precision")
    if precision is not None:
        work = onnx_dtype(precision)
    else:
        work = dt.float64 if q.dtype is dt.float64 else dt.float32
    scores = scores.cast(work)
    if "score_mod" in attrs:
        scores = ctx.run_graph(attrs["score_mod"], [scores])[0].cast(work)
    probs = scores.softmax(-1)
    if "prob_mod" in attrs:
        probs = ctx.run_graph(attrs["prob_mod"], [probs])[0].cast(work)
    return (probs @ v.cast(work)).cast(v.dtype)
