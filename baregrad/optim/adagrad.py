"""Adagrad with learning-rate decay, weight decay and a starting accumulator (torch.optim.Adagrad's rule).

The decayed rate lr / (1 + (step - 1) * lr_decay) is computed on the device from the step count, so each step
is the same compiled graph.
"""
from __future__ import annotations

from typing import Any, Iterable

from baregrad import dtype as dt
from baregrad.errors import ArgumentError
from baregrad.optim.optimizer import Optimizer, StepState, check_torch_flags
from baregrad.tensor import Tensor


class Adagrad(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None):
        check_torch_flags(differentiable)
        if lr < 0 or lr_decay < 0 or weight_decay < 0 or initial_accumulator_value < 0 or eps < 0:
            raise ArgumentError(f"invalid Adagrad settings: lr={lr}, lr_decay={lr_decay}, weight_decay="
                                f"{weight_decay}, initial_accumulator_value={initial_accumulator_value}, eps={eps}")
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value, "eps": eps,
                                  "maximize": maximize})
        # torch fills the state when it is built, so a fresh optimizer's state_dict already lists every parameter
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> tuple[Tensor, Tensor]:
        step = self._state(p, "step", lambda: Tensor(0.0, dtype=dt.float32, device=p.device))
        acc = self._state(p, "sum", lambda: p.detach().full_like(group["initial_accumulator_value"]))
        return step, acc

    def _update_group(self, index: int, group: dict[str, Any], params: list[Tensor], pending: StepState) -> None:
        lr = self.scalar(index, "lr", group["lr"], params[0].device, pending)
        for p in params:
            step, acc = self._init_state(p, group)
            pending.targets.append(step.assign(step + 1))
            g, w = self._gradient_and_weight(p, group, lr)
            clr = lr / (1 + (step - 1) * group["lr_decay"])
            pending.targets.append(acc.assign(acc + g * g))
            pending.targets.append(p.assign(w - g / (acc.sqrt() + group["eps"]) * clr.cast(p.dtype)))
