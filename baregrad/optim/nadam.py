"""NAdam: Adam with Nesterov momentum and a momentum-decay schedule (torch.optim.NAdam's update rule).

The schedule's mu and mu_next depend on the step count, so they are computed on the device from it; the running
product of mu is per-parameter state ("mu_product"), as in torch.
"""
from __future__ import annotations

from typing import Any, Iterable

from baregrad import dtype as dt
from baregrad.errors import ArgumentError
from baregrad.optim.optimizer import Optimizer, StepState, check_torch_flags
from baregrad.tensor import Tensor


class NAdam(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False):
        check_torch_flags(differentiable)
        if (lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1) or weight_decay < 0
                or momentum_decay < 0):
            raise ArgumentError(f"invalid NAdam settings: lr={lr}, betas={betas}, eps={eps}, wd={weight_decay}, "
                                f"momentum_decay={momentum_decay}")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                                  "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
                                  "maximize": maximize})

    def _update_group(self, index: int, group: dict[str, Any], params: list[Tensor], pending: StepState) -> None:
        device = params[0].device
        lr = self.scalar(index, "lr", group["lr"], device, pending)
        beta1 = self.scalar(index, "beta1", group["betas"][0], device, pending)
        beta2, eps, decay = group["betas"][1], group["eps"], group["momentum_decay"]
        for p in params:
            step = self._next_step(p, pending)
            mu_product = self._state(p, "mu_product", lambda: Tensor(1.0, dtype=dt.float32, device=device))
            g, w = self._gradient_and_weight(p, group, lr)
            mu = beta1 * (1 - 0.5 * 0.96 ** (step * decay))
            mu_next = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * decay))
            pending.targets.append(mu_product.assign(mu_product * mu))
            m, v = self._adam_moments(p, g, beta1, beta2, pending)
            bias2 = 1 - Tensor.full((), beta2, dt.float32, device) ** step
            denom = (v / bias2.cast(p.dtype)).sqrt() + eps
            grad_scale = lr * (1 - mu) / (1 - mu_product)
            avg_scale = lr * mu_next / (1 - mu_product * mu_next)
            pending.targets.append(p.assign(w - g / denom * grad_scale.cast(p.dtype)
                                            - m / denom * avg_scale.cast(p.dtype)))
