"""Optimizer base: parameter groups, per-parameter state, and one fused, recompile-free step.

A Python float baked into a kernel is part of its source, so a learning rate that changes every step would
recompile every step. Hyperparameters a scheduler may change (lr, momentum, beta1) therefore live in small
device tensors updated with `assign`, and every parameter and state update of a step is realized in one
`realize_all`: the step is the same graph each time, scheduled and compiled once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from baregrad import dtype as dt
from baregrad.autograd import no_grad
from baregrad.errors import ArgumentError
from baregrad.tensor import Tensor, realize_all


@dataclass
class _Scalar:
    """A hyperparameter's device copy and the Python value it holds."""
    value: float
    tensor: Tensor


@dataclass
class _StepState:
    """Device tensors written during one step, realized together at its end."""
    targets: list[Tensor] = field(default_factory=list)


class Optimizer:
    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]):
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Tensor]] = {}
        self._scalars: dict[tuple[int, str, str], _Scalar] = {}
        params = list(params)
        if not params:
            raise ArgumentError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group: dict[str, Any]) -> None:
        group = {**self.defaults, **group}
        group["params"] = list(group["params"]) if not isinstance(group["params"], Tensor) else [group["params"]]
        for p in group["params"]:
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise ArgumentError("optimizer parameters must be Tensors that require grad")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None if set_to_none or p.grad is None else p.grad.zeros_like()

    def scalar(self, group_index: int, name: str, value: float, device: str, pending: _StepState) -> Tensor:
        """The device copy of a hyperparameter, assigned a new value only when the Python value changed."""
        key = (group_index, name, device)
        held = self._scalars.get(key)
        if held is None:
            held = self._scalars[key] = _Scalar(float(value), Tensor(float(value), dtype=dt.float32, device=device))
        elif held.value != float(value):
            held.value = float(value)
            pending.targets.append(held.tensor.assign(Tensor(float(value), dtype=dt.float32, device=device)))
        return held.tensor

    @no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = closure() if closure is not None else None
        pending = _StepState()
        for i, group in enumerate(self.param_groups):
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                self._update_group(i, group, params, pending)
        realize_all(pending.targets)
        return loss

    def _update_group(self, index: int, group: dict[str, Any], params: list[Tensor], pending: _StepState) -> None:
        raise NotImplementedError

    def _state(self, p: Tensor, name: str, init: Callable[[], Tensor]) -> Tensor:
        st = self.state.setdefault(p, {})
        if name not in st:
            st[name] = private_copy(init())
        return st[name]

    def state_dict(self) -> dict[str, Any]:
        index = {id(p): i for i, p in enumerate(p for g in self.param_groups for p in g["params"])}
        return {"state": {index[id(p)]: dict(s) for p, s in self.state.items()},
                "param_groups": [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]}


def private_copy(t: Tensor) -> Tensor:
    """A realized copy in a buffer of its own: equal lazy graphs share one buffer, and state is assigned to."""
    return Tensor.from_bytes(t.to_bytes(), t.dtype, t.shape, t.device)


__all__ = ["Optimizer", "private_copy"]
