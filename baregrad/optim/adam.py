"""Adam and AdamW (decoupled weight decay), with optional AMSGrad; torch.optim's update rules.

The step count and both bias corrections live on the device, so each step is the same compiled graph.
"""
from __future__ import annotations

from typing import Any, Iterable

from baregrad import dtype as dt
from baregrad.errors import ArgumentError
from baregrad.optim.optimizer import Optimizer, StepState, check_torch_flags
from baregrad.tensor import Tensor


class Adam(Optimizer):
    decoupled = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False, *,
                 foreach: bool | None = None, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False):
        check_torch_flags(differentiable)
        if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1) or weight_decay < 0:
            raise ArgumentError(f"invalid Adam settings: lr={lr}, betas={betas}, eps={eps}, wd={weight_decay}")
        # a group setting, as in torch: Adam(decoupled_weight_decay=True) is AdamW, and a loaded torch state
        # carries it
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                                  "amsgrad": amsgrad, "maximize": maximize,
                                  "decoupled_weight_decay": decoupled_weight_decay or self.decoupled})

    def _update_group(self, index: int, group: dict[str, Any], params: list[Tensor], pending: StepState) -> None:
        device = params[0].device
        lr = self.scalar(index, "lr", group["lr"], device, pending)
        beta1 = self.scalar(index, "beta1", group["betas"][0], device, pending)
        beta2, eps = group["betas"][1], group["eps"]
        for p in params:
            step = self._next_step(p, pending)
            g, w = self._gradient_and_weight(p, group, lr)
            m, v = self._adam_moments(p, g, beta1, beta2, pending)
            bias1 = 1 - beta1 ** step
            bias2_sqrt = (1 - Tensor.full((), beta2, dt.float32, device) ** step).sqrt()
            second = v
            if group["amsgrad"]:
                vmax = self._state(p, "max_exp_avg_sq", lambda: p.detach().zeros_like())
                pending.targets.append(vmax.assign(vmax.maximum(v)))
                second = vmax
            denom = second.sqrt() / bias2_sqrt.cast(p.dtype) + eps
            pending.targets.append(p.assign(w - m / denom * (lr / bias1).cast(p.dtype)))


class AdamW(Adam):
    decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False, *,
                 foreach: bool | None = None, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize, differentiable=differentiable)
