"""Adamax: Adam with an infinity-norm second moment (torch.optim.Adamax's update rule)."""
from __future__ import annotations

from typing import Any, Iterable

from baregrad.errors import ArgumentError
from baregrad.optim.optimizer import Optimizer, StepState, check_torch_flags
from baregrad.tensor import Tensor


class Adamax(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False):
        check_torch_flags(differentiable)
        if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1) or weight_decay < 0:
            raise ArgumentError(f"invalid Adamax settings: lr={lr}, betas={betas}, eps={eps}, wd={weight_decay}")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                                  "maximize": maximize})

    def _update_group(self, index: int, group: dict[str, Any], params: list[Tensor], pending: StepState) -> None:
        device = params[0].device
        lr = self.scalar(index, "lr", group["lr"], device, pending)
        beta1 = self.scalar(index, "beta1", group["betas"][0], device, pending)
        beta2, eps = group["betas"][1], group["eps"]
        for p in params:
            step = self._next_step(p, pending)
            m = self._state(p, "exp_avg", lambda: p.detach().zeros_like())
            u = self._state(p, "exp_inf", lambda: p.detach().zeros_like())
            g, w = self._gradient_and_weight(p, group, lr)
            b1 = beta1.cast(p.dtype)
            pending.targets += [m.assign(m + (g - m) * (1 - b1)), u.assign((u * beta2).maximum(g.abs() + eps))]
            clr = lr / (1 - beta1 ** step)
            pending.targets.append(p.assign(w - m / u * clr.cast(p.dtype)))
