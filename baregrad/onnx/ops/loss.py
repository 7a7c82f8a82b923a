"""ONNX losses: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (weights, ignore_index, reductions)."""
from __future__ import annotations

from typing import Any

import baregrad.dtype as dt
from baregrad.onnx.ops.common import input_at
from baregrad.onnx.ops.registry import OpContext, register
from baregrad.tensor import Tensor


def nll(log_prob: Tensor, target: Tensor, weight: Tensor | None, reduction: str, ignore: int | None) -> Tensor:
    """log_prob (N, C, d1..dk), target (N, d1..dk): -weight[t] * log_prob[n, t, ...] reduced as asked."""
    c = log_prob.shape[1]
    t = target.cast(dt.int64)
    valid = t != ignore if ignore is not None else None
    safe = valid.where(t, 0) if valid is not None else t
    picked = log_prob.gather(1, safe.unsqueeze(1)).squeeze(1)
    w = weight.gather(0, safe.reshape(-1)).reshape(safe.shape) if weight is not None else \
        Tensor.ones(*safe.shape, dtype=log_prob.dtype, device=log_prob.device)
    if valid is not None:
        w = valid.where(w, 0.0).cast(log_prob.dtype)
    loss = -picked * w
    del c
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / w.sum()


@register("NegativeLogLikelihoodLoss")
def negative_log_likelihood_loss(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x, target, weight = inputs[0], inputs[1], input_at(inputs, 2)
    return nll(x, target, weight, attrs.get("reduction", "mean"), attrs.get("ignore_index")).cast(x.dtype)


@register("SoftmaxCrossEntropyLoss")
def softmax_cross_entropy_loss(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Any:
    x, target, weight = inputs[0], inputs[1], input_at(inputs, 2)
    log_prob = x.log_softmax(1)
    loss = nll(log_prob, target, weight, attrs.get("reduction", "mean"), attrs.get("ignore_index")).cast(x.dtype)
    if ctx.num_outputs > 1:
        return loss, log_prob.cast(x.dtype)
    return loss
