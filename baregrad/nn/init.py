"""Weight initializers with torch.nn.init's names, bounds and fan rules (the values come from our own RNG).

Each one fills a tensor in place, like torch's trailing-underscore functions, and returns it.
"""
from __future__ import annotations

import math

from baregrad.errors import ArgumentError, ShapeError
from baregrad.tensor import Tensor


def set_values(t: Tensor, value: Tensor) -> Tensor:
    """Replace t's value by a realized copy of value (no autograd history)."""
    value = value.detach().to(t.device).cast(t.dtype).reshape(t.shape)
    # a buffer of its own: equal lazy graphs (two zeros_) share one realized buffer, and parameters are assigned to
    t.node = Tensor.from_bytes(value.to_bytes(), t.dtype, t.shape, t.device).node
    return t


def calculate_fan_in_and_fan_out(t: Tensor) -> tuple[int, int]:
    if t.ndim < 2:
        raise ShapeError(f"fan in and fan out need a tensor with at least 2 dims, got shape {t.shape}")
    receptive = math.prod(t.shape[2:])
    return t.shape[1] * receptive, t.shape[0] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ArgumentError(f"unsupported nonlinearity {nonlinearity!r}")


def _fan(t: Tensor, mode: str) -> int:
    fan_in, fan_out = calculate_fan_in_and_fan_out(t)
    if mode not in ("fan_in", "fan_out"):
        raise ArgumentError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fan_in if mode == "fan_in" else fan_out


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    return set_values(t, Tensor.rand(*t.shape, device=t.device) * (b - a) + a)


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    return set_values(t, Tensor.randn(*t.shape, device=t.device) * std + mean)


def constant_(t: Tensor, value: float) -> Tensor:
    return set_values(t, Tensor.full(t.shape, value, t.dtype, t.device))


def zeros_(t: Tensor) -> Tensor:
    return constant_(t, 0.0)


def ones_(t: Tensor) -> Tensor:
    return constant_(t, 1.0)


def xavier_uniform_(t: Tensor, gain: float = 1.0) -> Tensor:
    fan_in, fan_out = calculate_fan_in_and_fan_out(t)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound)


def xavier_normal_(t: Tensor, gain: float = 1.0) -> Tensor:
    fan_in, fan_out = calculate_fan_in_and_fan_out(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(t: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(t, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(t, -bound, bound)


def kaiming_normal_(t: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    return normal_(t, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(t, mode)))


def default_layer_init(weight: Tensor, bias: Tensor | None) -> None:
    """torch's reset_parameters for Linear and Conv: kaiming_uniform_(a=sqrt(5)), bias U(-1/sqrt(fan_in), ...)."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound)


__all__ = ["calculate_fan_in_and_fan_out", "calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "default_layer_init"]
