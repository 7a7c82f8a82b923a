"""ONNX random generators: RandomUniform/Normal(+Like), Bernoulli, Multinomial on baregrad's counter-based RNG.

A `seed` attribute reseeds baregrad's generator, so a seeded model repeats itself; the values differ from other
runtimes' generators (ONNX leaves the stream unspecified)."""
from __future__ import annotations

from typing import Any

import baregrad.dtype as dt
from baregrad.onnx.ops.common import onnx_dtype
from baregrad.onnx.ops.registry import OpContext, register
from baregrad.random import manual_seed
from baregrad.tensor import Tensor


def _seeded(attrs: dict[str, Any]) -> None:
    if "seed" in attrs:
        manual_seed(int(attrs["seed"]))


def _uniform(shape: tuple[int, ...], attrs: dict[str, Any], d: dt.DType, device: str) -> Tensor:
    _seeded(attrs)
    low, high = attrs.get("low", 0.0), attrs.get("high", 1.0)
    return (Tensor.rand(*shape, device=device) * (high - low) + low).cast(d)


def _normal(shape: tuple[int, ...], attrs: dict[str, Any], d: dt.DType, device: str) -> Tensor:
    _seeded(attrs)
    return (Tensor.randn(*shape, device=device) * attrs.get("scale", 1.0) + attrs.get("mean", 0.0)).cast(d)


@register("RandomUniform")
def random_uniform(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    return _uniform(tuple(attrs["shape"]), attrs, onnx_dtype(attrs.get("dtype", 1)), ctx.device)


@register("RandomNormal")
def random_normal(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    return _normal(tuple(attrs["shape"]), attrs, onnx_dtype(attrs.get("dtype", 1)), ctx.device)


@register("RandomUniformLike")
def random_uniform_like(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    d = onnx_dtype(attrs["dtype"]) if "dtype" in attrs else x.dtype
    return _uniform(tuple(x.shape), attrs, d, ctx.device)


@register("RandomNormalLike")
def random_normal_like(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    d = onnx_dtype(attrs["dtype"]) if "dtype" in attrs else x.dtype
    return _normal(tuple(x.shape), attrs, d, ctx.device)


@register("Bernoulli")
def bernoulli(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    p = inputs[0]
    _seeded(attrs)
    d = onnx_dtype(attrs["dtype"]) if "dtype" in attrs else p.dtype
    return (Tensor.rand(*p.shape, device=ctx.device) < p).cast(d)


@register("Multinomial")
def multinomial(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    logits = inputs[0]
    _seeded(attrs)
    probs = logits.float().softmax(-1)
    d = onnx_dtype(attrs.get("dtype", 6))
    return probs.multinomial(attrs.get("sample_size", 1), replacement=True).cast(d)
