"""Weight initializers with torch.nn.init's names, bounds and fan rules (the values come from our own RNG).

Each one fills a tensor in place, like torch's trailing-underscore functions, and returns it.

Building a model initializes every parameter at once, each of its own shape: a kernel per shape would mean a
compile per parameter (MobileNetV2: 168 compiles before its first forward, with an empty cache). So constants are
written from the host with no kernel, and random fills are made of draws of a few fixed sizes, with the bounds
read from one-element buffers rather than baked into the source: the same few kernels serve every layer, and the
first `numel` values are kept.
"""
from __future__ import annotations

import math

from baregrad.errors import ArgumentError, ShapeError
from baregrad.tensor import Tensor, realize_all


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


DRAW_SIZES = (1 << 12, 1 << 14, 1 << 16)  # a fill takes the smallest that holds it, or draws of the largest


def _random_fill(t: Tensor, draw, scale: float, shift: float) -> Tensor:
    """t = draw(n) * scale + shift, from fixed-size draws (see the module docstring) whose first n values are kept."""
    n = math.prod(t.shape)
    size = next((d for d in DRAW_SIZES if n <= d), DRAW_SIZES[-1])
    scale_buf = Tensor([float(scale)], device=t.device)
    shift_buf = Tensor([float(shift)], device=t.device)
    draws = [(draw(size, device=t.device) * scale_buf + shift_buf).cast(t.dtype) for _ in range(-(-n // size))]
    realize_all(draws)
    raw = b"".join(bytes(d.to_bytes()) for d in draws) if len(draws) > 1 else draws[0].to_bytes()
    t.node = Tensor.from_bytes(memoryview(raw)[:n * t.dtype.itemsize], t.dtype, t.shape, t.device).node
    return t


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    return _random_fill(t, Tensor.rand, b - a, a)


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    return _random_fill(t, Tensor.randn, std, mean)


def constant_(t: Tensor, value: float) -> Tensor:
    """Every element `value`, packed on the host: no kernel."""
    one = Tensor([value], dtype=t.dtype, device=t.device)
    t.node = Tensor.from_bytes(bytes(one.to_bytes()) * math.prod(t.shape), t.dtype, t.shape, t.device).node
    return t


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
