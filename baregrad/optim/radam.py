"""RAdam: Adam whose adaptive step is rectified while the second moment's variance is untrustworthy
(torch.optim.RAdam's update rule).

torch picks the plain or the rectified step in Python from the step count; here both are computed and the
device picks with `where`, so every step is the same compiled graph. The length of the approximated moving
average, rho_t, subtracts two numbers near 2 / (1 - beta2): beta2 ** t and 1 - beta2 ** t come from exp and
expm1 of t * log(beta2) so that float32 keeps rho_t close to torch's float64 value.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

from baregrad.errors import ArgumentError
from baregrad.optim.optimizer import Optimizer, StepState, check_torch_flags
from baregrad.tensor import Tensor


class RAdam(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        check_torch_flags(differentiable)
        if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1) or weight_decay < 0:
            raise ArgumentError(f"invalid RAdam settings: lr={lr}, betas={betas}, eps={eps}, wd={weight_decay}")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize})

    def _update_group(self, index: int, group: dict[str, Any], params: list[Tensor], pending: StepState) -> None:
        device = params[0].device
        lr = self.scalar(index, "lr", group["lr"], device, pending)
        beta1 = self.scalar(index, "beta1", group["betas"][0], device, pending)
        beta2, eps = group["betas"][1], group["eps"]
        log_beta2 = math.log(beta2) if beta2 > 0 else -math.inf
        rho_inf = 2 / (1 - beta2) - 1
        # rho_t < rho_inf, so when rho_inf <= 5 the rectified branch is never taken (and may divide by zero)
        rect_const = rho_inf / ((rho_inf - 4) * (rho_inf - 2)) if rho_inf > 5 else 0.0
        first_rectified = _first_rectified_step(beta2, rho_inf)
        for p in params:
            step = self._next_step(p, pending)
            g, w = self._gradient_and_weight(p, group, lr)
            m, v = self._adam_moments(p, g, beta1, beta2, pending)
            bias1 = 1 - beta1 ** step
            bias2 = -(step * log_beta2).expm1()
            rho_t = rho_inf - 2 * step * (step * log_beta2).exp() / bias2
            rect = ((rho_t - 4) * (rho_t - 2) / rho_t * rect_const).sqrt()
            adaptive = bias2.sqrt().cast(p.dtype) / (v.sqrt() + eps)
            # the branch is chosen by the step count, exact on every device: rho_t > 5 in float32 flips near the
            # threshold (rho_5 = 4.996 for beta2 = 0.999); the rectified value is NaN for rho_t in (2, 4)
            scale = (step >= first_rectified).where(adaptive * rect.cast(p.dtype), 1.0)
            pending.targets.append(p.assign(w - m / bias1.cast(p.dtype) * lr.cast(p.dtype) * scale))


def _first_rectified_step(beta2: float, rho_inf: float) -> float:
    """The first step t whose rho_t (computed in float64, as torch does) exceeds 5; inf when none ever does."""
    if rho_inf <= 5:
        return math.inf
    t = 1
    while rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t) <= 5:  # rho_t grows with t toward rho_inf
        t += 1
    return float(t)
