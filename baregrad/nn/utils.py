"""Gradient clipping: clip_grad_norm_ and clip_grad_value_, lazy so they fuse into the optimizer step."""
from __future__ import annotations

import math
from typing import Iterable

from baregrad.tensor import Tensor


def _grads(parameters: Iterable[Tensor] | Tensor) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p for p in params if p.grad is not None]


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float | str = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Scale every gradient by min(1, max_norm / (total_norm + 1e-6)); returns the total norm (lazy).
    foreach is accepted for torch's signature: the update is one fused graph either way."""
    norm_type = float(norm_type)  # torch also takes the string "inf"
    params = _grads(parameters)
    if not params:
        return Tensor(0.0)
    if norm_type == math.inf:
        total = Tensor.stack([p.grad.abs().amax() for p in params]).amax()
    else:
        total = Tensor.stack([(p.grad.abs() ** norm_type).sum() for p in params]).sum() ** (1.0 / norm_type)
    if error_if_nonfinite and not bool(total.isfinite().item()):
        from baregrad.errors import ArgumentError
        raise ArgumentError(f"the total gradient norm is not finite ({total.item()})")
    scale = (max_norm / (total + 1e-6)).clamp(None, 1.0)
    for p in params:
        p.grad = p.grad * scale.cast(p.grad.dtype)
    return total


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float, foreach: bool | None = None) -> None:
    for p in _grads(parameters):
        p.grad = p.grad.clamp(-clip_value, clip_value)
