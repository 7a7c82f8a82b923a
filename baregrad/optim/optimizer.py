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
from baregrad.nn.module import is_parameter
from baregrad.tensor import Tensor, realize_all


@dataclass
class _Scalar:
    """A hyperparameter's device copy and the Python value it holds."""
    value: float
    tensor: Tensor


@dataclass
class StepState:
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
        if group["params"] and all(isinstance(p, tuple) and len(p) == 2 for p in group["params"]):
            # torch also takes named_parameters(): (name, tensor) pairs, the names kept as "param_names"
            group["param_names"] = [name for name, _ in group["params"]]
            group["params"] = [p for _, p in group["params"]]
        for p in group["params"]:
            # a frozen Parameter is welcome, as in torch: model.parameters() lists it, and it gets no grad
            if not is_parameter(p):
                raise ArgumentError("optimizer parameters must be Tensors that require grad, or Parameters")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None if set_to_none or p.grad is None else p.grad.zeros_like()

    def scalar(self, group_index: int, name: str, value: float, device: str, pending: StepState) -> Tensor:
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
        pending = StepState()
        for i, group in enumerate(self.param_groups):
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                self._update_group(i, group, params, pending)
        realize_all(pending.targets)
        return loss

    def _update_group(self, index: int, group: dict[str, Any], params: list[Tensor], pending: StepState) -> None:
        raise NotImplementedError

    @staticmethod
    def _gradient_and_weight(p: Tensor, group: dict[str, Any], lr: Tensor) -> tuple[Tensor, Tensor]:
        """The gradient to descend (negated for maximize) and the weight to update, after weight decay: L2 (added
        to the gradient), or, where the group says decoupled_weight_decay (AdamW), the weight shrunk by lr * wd."""
        g, w = (-p.grad if group["maximize"] else p.grad), p.detach()
        wd = group["weight_decay"]
        if wd and group.get("decoupled_weight_decay"):
            w = w * (1 - lr.cast(p.dtype) * wd)
        elif wd:
            g = g + w * wd
        return g, w

    def _next_step(self, p: Tensor, pending: StepState) -> Tensor:
        """p's step count (float32 state "step", as torch keeps it), counted up by this step."""
        step = self._state(p, "step", lambda: Tensor(0.0, dtype=dt.float32, device=p.device))
        pending.targets.append(step.assign(step + 1))
        return step

    def _adam_moments(self, p: Tensor, g: Tensor, beta1: Tensor, beta2: float, pending: StepState
                      ) -> tuple[Tensor, Tensor]:
        """Adam's moment estimates (state exp_avg, exp_avg_sq) as they stand after this step's update (queued on
        `pending`); Adam, NAdam and RAdam share them."""
        m = self._state(p, "exp_avg", lambda: p.detach().zeros_like())
        v = self._state(p, "exp_avg_sq", lambda: p.detach().zeros_like())
        b1 = beta1.cast(p.dtype)
        pending.targets += [m.assign(m + (g - m) * (1 - b1)), v.assign(v * beta2 + g * g * (1 - beta2))]
        return m, v

    def _state(self, p: Tensor, name: str, init: Callable[[], Tensor]) -> Tensor:
        st = self.state.setdefault(p, {})
        if name not in st:
            st[name] = private_copy(init())
        return st[name]

    def state_dict(self) -> dict[str, Any]:
        """torch's layout: per-parameter state keyed by the parameter's position over all groups, and each
        group's settings with the positions of its parameters under "params"."""
        index = {id(p): i for i, p in enumerate(p for g in self.param_groups for p in g["params"])}
        groups = [{**{k: v for k, v in g.items() if k != "params"}, "params": [index[id(p)] for p in g["params"]]}
                  for g in self.param_groups]
        return {"state": {index[id(p)]: dict(s) for p, s in self.state.items()}, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from state_dict() (ours or torch.optim's): group settings and per-parameter state are copied
        in, matched by position, so the next step continues the saved run."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ArgumentError(f"state_dict has {len(saved_groups)} parameter groups, optimizer has "
                                f"{len(self.param_groups)}")
        id_map: dict[Any, Tensor] = {}
        start = 0
        for saved, group in zip(saved_groups, self.param_groups):
            n = len(group["params"])
            # a state_dict without "params" numbers the parameters in group order
            ids = saved.get("params", range(start, start + n))
            if len(ids) != n:
                raise ArgumentError(f"a saved parameter group has {len(ids)} parameters, the optimizer's has {n}")
            id_map.update(zip(ids, group["params"]))
            group.update({k: v for k, v in saved.items() if k != "params"})
            start += n
        self.state = {}
        for key, saved_state in state_dict["state"].items():
            p = id_map.get(key)
            if p is None:
                raise ArgumentError(f"state_dict has state for parameter {key!r}, which no parameter group lists")
            self.state[p] = {name: _state_tensor(name, v, p) for name, v in saved_state.items() if v is not None}


def _state_tensor(name: str, value: Any, param: Tensor) -> Tensor:
    """A saved state value as a private tensor on the parameter's device; float state takes the parameter's
    dtype except the step count, which stays float32 as torch keeps it."""
    if type(value).__module__.startswith("torch"):
        value = value.detach().cpu().numpy()
    t = value if isinstance(value, Tensor) else Tensor(value)
    if t.dtype.is_float or name == "step":
        t = t.cast(dt.float32 if name == "step" else param.dtype)
    return private_copy(t.to(param.device))


def check_torch_flags(differentiable: bool = False) -> None:
    """torch.optim's foreach/fused/capturable only pick a kernel strategy (ours is one fused graph either way),
    so they are accepted and ignored; differentiable would change results, so it is refused."""
    if differentiable:
        raise ArgumentError("differentiable=True (autograd through optimizer steps) is not supported")


def private_copy(t: Tensor) -> Tensor:
    """A realized copy in a buffer of its own: equal lazy graphs share one buffer, and state is assigned to."""
    return Tensor.from_bytes(t.to_bytes(), t.dtype, t.shape, t.device)


__all__ = ["Optimizer", "private_copy", "check_torch_flags"]
