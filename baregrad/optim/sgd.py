"""SGD with momentum, dampening, Nesterov momentum and weight decay (torch.optim.SGD's update rule)."""
from __future__ import annotations

from typing import Any, Iterable

from baregrad import dtype as dt
from baregrad.errors import ArgumentError
from baregrad.optim.optimizer import Optimizer, StepState, check_torch_flags
from baregrad.tensor import Tensor


class SGD(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False, *,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None):
        check_torch_flags(differentiable)
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ArgumentError(f"invalid SGD settings: lr={lr}, momentum={momentum}, weight_decay={weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ArgumentError("Nesterov momentum needs momentum > 0 and zero dampening")
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize})

    def _update_group(self, index: int, group: dict[str, Any], params: list[Tensor], pending: StepState) -> None:
        device = params[0].device
        lr = self.scalar(index, "lr", group["lr"], device, pending)
        use_momentum = group["momentum"] != 0
        mom = self.scalar(index, "momentum", group["momentum"], device, pending) if use_momentum else None
        for p in params:
            g = -p.grad if group["maximize"] else p.grad
            if group["weight_decay"]:
                g = g + p.detach() * group["weight_decay"]
            if mom is not None:
                # torch starts the buffer at the first gradient: a device flag keeps that one graph. A buffer
                # loaded by load_state_dict (torch's state has no flag) has started already.
                started = "momentum_buffer" in self.state.get(p, {})
                first = self._state(p, "first", lambda: Tensor(0.0 if started else 1.0, dtype=dt.float32,
                                                                device=device))
                buf = self._state(p, "momentum_buffer", lambda: p.detach().zeros_like())
                m = mom.cast(p.dtype)
                new_buf = first.cast(dt.bool_).where(g, buf * m + g * (1 - group["dampening"]))
                pending.targets += [buf.assign(new_buf), first.assign(first * 0.0)]
                g = g + buf * m if group["nesterov"] else buf
            pending.targets.append(p.assign(p.detach() - g * lr.cast(p.dtype)))
