"""RMSprop with momentum, centering and weight decay (torch.optim.RMSprop's update rule)."""
from __future__ import annotations

from typing import Any, Iterable

from baregrad.errors import ArgumentError
from baregrad.optim.optimizer import Optimizer, StepState, check_torch_flags
from baregrad.tensor import Tensor


class RMSprop(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False):
        check_torch_flags(differentiable)
        if lr < 0 or eps < 0 or momentum < 0 or weight_decay < 0 or alpha < 0:
            raise ArgumentError(f"invalid RMSprop settings: lr={lr}, alpha={alpha}, eps={eps}, "
                                f"momentum={momentum}, weight_decay={weight_decay}")
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                                  "momentum": momentum, "centered": centered, "maximize": maximize})

    def _update_group(self, index: int, group: dict[str, Any], params: list[Tensor], pending: StepState) -> None:
        device = params[0].device
        lr = self.scalar(index, "lr", group["lr"], device, pending)
        # a scheduler (OneCycleLR) may cycle momentum: a device copy keeps the step one compiled graph
        mom = self.scalar(index, "momentum", group["momentum"], device, pending) if group["momentum"] > 0 else None
        alpha, eps = group["alpha"], group["eps"]
        for p in params:
            self._next_step(p, pending)  # torch counts steps here too (its state has "step")
            sq = self._state(p, "square_avg", lambda: p.detach().zeros_like())
            g, w = self._gradient_and_weight(p, group, lr)
            pending.targets.append(sq.assign(sq * alpha + g * g * (1 - alpha)))
            if group["centered"]:
                avg_g = self._state(p, "grad_avg", lambda: p.detach().zeros_like())
                pending.targets.append(avg_g.assign(avg_g + (g - avg_g) * (1 - alpha)))
                avg = (sq - avg_g * avg_g).sqrt() + eps
            else:
                avg = sq.sqrt() + eps
            if mom is not None:
                buf = self._state(p, "momentum_buffer", lambda: p.detach().zeros_like())
                pending.targets.append(buf.assign(buf * mom.cast(p.dtype) + g / avg))
                pending.targets.append(p.assign(w - buf * lr.cast(p.dtype)))
            else:
                pending.targets.append(p.assign(w - g / avg * lr.cast(p.dtype)))
