"""Autograd hooks with torch's names: Tensor.register_hook(fn), retain_grad() and retains_grad.

The backward pass (tensor._run_backward) visits each tensor once with the sum of the gradients reaching it;
there `run_hooks` calls the tensor's hooks in registration order (one may return a replacement gradient, which
is what flows on to the inputs and into .grad), then stores the result in .grad of a non-leaf that retains it.
This works for leaves and non-leaves alike. The state lives in module tables keyed by id(tensor), cleared when
the tensor is collected, so Tensor keeps its slots and an op with no hooks pays one dict test per backward step.
"""
from __future__ import annotations

import itertools
import weakref
from typing import TYPE_CHECKING, Callable

from baregrad.errors import ArgumentError, ShapeError

if TYPE_CHECKING:
    from baregrad.tensor import Tensor

HOOKS: dict[int, dict[int, Callable]] = {}   # id(tensor) -> {handle id: hook}, in registration order
RETAINED: set[int] = set()                   # ids of non-leaf tensors whose .grad is kept
AFTER_BACKWARD: list[Callable[[], None]] = []  # run once when the current backward's gradients are computed
_KEYS = itertools.count()


def _forget(key: int) -> None:
    HOOKS.pop(key, None)
    RETAINED.discard(key)


def _watch(t: "Tensor") -> None:
    """Drop t's entries when t is collected: ids are reused, and a new tensor must not inherit its hooks."""
    if id(t) not in HOOKS and id(t) not in RETAINED:
        weakref.finalize(t, _forget, id(t))


class RemovableHandle:
    """What register_hook returns: handle.remove() unregisters the hook (also usable as a context manager)."""

    def __init__(self, hooks: dict[int, Callable], key: int):
        self._hooks, self.id = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def run_hooks(t: "Tensor", grad: "Tensor") -> "Tensor":
    """The gradient of t after its hooks; also kept as t.grad if t is a non-leaf that retains its gradient."""
    for hook in list(HOOKS.get(id(t), {}).values()):
        out = hook(grad)
        if out is not None:
            if out.shape != grad.shape:
                raise ShapeError(f"a hook changed the gradient's shape from {grad.shape} to {out.shape}")
            grad = out.cast(grad.dtype)
    if id(t) in RETAINED and t._ctx is not None:
        from baregrad.tensor import Tensor
        t.grad = Tensor.from_node(grad.node, grad.device) if t.grad is None else t.grad + grad
    return grad


def queue_after_backward(callback: Callable[[], None]) -> None:
    """Run callback once, after the backward pass now running has realized every gradient (what torch's
    engine.queue_callback does; DistributedDataParallel all-reduces the gradients there)."""
    if callback not in AFTER_BACKWARD:
        AFTER_BACKWARD.append(callback)


def run_after_backward() -> None:
    while AFTER_BACKWARD:
        AFTER_BACKWARD.pop(0)()


class HookOps:
    """Hook methods; `self` is a Tensor."""
    __slots__ = ()

    def register_hook(self: "Tensor", hook: Callable[["Tensor"], "Tensor | None"]) -> RemovableHandle:
        """Call hook(grad) when backward computes this tensor's gradient; a non-None return replaces it."""
        if not self.requires_grad:
            raise ArgumentError(f"cannot register a hook on a tensor of shape {self.shape} that does not require "
                                "grad")
        _watch(self)
        hooks = HOOKS.setdefault(id(self), {})
        key = next(_KEYS)
        hooks[key] = hook
        return RemovableHandle(hooks, key)

    def retain_grad(self: "Tensor") -> None:
        """Keep .grad on this non-leaf tensor after backward (a no-op on a leaf, which always keeps it)."""
        if not self.requires_grad:
            raise ArgumentError(f"cannot retain_grad on a tensor of shape {self.shape} that does not require grad")
        if self.is_leaf:
            return
        _watch(self)
        RETAINED.add(id(self))

    @property
    def retains_grad(self: "Tensor") -> bool:
        return id(self) in RETAINED
