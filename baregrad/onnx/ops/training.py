"""ONNX's preview training operators: Adagrad, Adam and Momentum updates of several (X, G, state) groups at once.

Inputs are R (learning rate), T (step count), then the X's, the G's and each state kind, n of each."""
from __future__ import annotations

import math
from typing import Any

from baregrad.onnx.ops.common import host_scalar
from baregrad.onnx.ops.registry import OpContext, register
from baregrad.tensor import Tensor

DOMAIN = "ai.onnx.preview.training"


def _groups(inputs: list, kinds: int) -> tuple[float, int, list[list[Tensor]]]:
    r, t = float(host_scalar(inputs[0])), int(host_scalar(inputs[1]))
    rest = inputs[2:]
    n = len(rest) // kinds
    return r, t, [rest[k * n:(k + 1) * n] for k in range(kinds)]


@register("Adagrad", DOMAIN)
def adagrad(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> tuple:
    r, t, (xs, gs, hs) = _groups(inputs, 3)
    decay, eps, norm = attrs.get("decay_factor", 0.0), attrs.get("epsilon", 1e-6), attrs.get("norm_coefficient", 0.0)
    rate = r / (1 + t * decay)
    new_x, new_h = [], []
    for x, g, h in zip(xs, gs, hs):
        g = x * norm + g
        h2 = h + g * g
        new_x.append((x - g * rate / (h2.sqrt() + eps)).cast(x.dtype))
        new_h.append(h2.cast(h.dtype))
    return tuple(new_x + new_h)


@register("Adam", DOMAIN)
def adam(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> tuple:
    r, t, (xs, gs, vs, hs) = _groups(inputs, 4)
    alpha, beta = attrs.get("alpha", 0.9), attrs.get("beta", 0.999)
    eps, norm, post = attrs.get("epsilon", 1e-6), attrs.get("norm_coefficient", 0.0), \
        attrs.get("norm_coefficient_post", 0.0)
    rate = r * math.sqrt(1 - beta ** t) / (1 - alpha ** t) if t > 0 else r
    new_x, new_v, new_h = [], [], []
    for x, g, v, h in zip(xs, gs, vs, hs):
        g = x * norm + g
        v2 = v * alpha + g * (1 - alpha)
        h2 = h * beta + g * g * (1 - beta)
        x2 = (x - v2 / (h2.sqrt() + eps) * rate) * (1 - post)
        new_x.append(x2.cast(x.dtype))
        new_v.append(v2.cast(v.dtype))
        new_h.append(h2.cast(h.dtype))
    return tuple(new_x + new_v + new_h)


@register("Momentum", DOMAIN)
def momentum(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> tuple:
    r, t, (xs, gs, vs) = _groups(inputs, 3)
    alpha, beta, norm = attrs["alpha"], attrs["beta"], attrs["norm_coefficient"]
    nesterov = attrs.get("mode", "standard") == "nesterov"
    b = beta if t > 0 else 1.0
    new_x, new_v = [], []
    for x, g, v in zip(xs, gs, vs):
        g = x * norm + g
        v2 = v * alpha + g * b
        step = g + v2 * alpha if nesterov else v2
        new_x.append((x - step * r).cast(x.dtype))
        new_v.append(v2.cast(v.dtype))
    return tuple(new_x + new_v)
