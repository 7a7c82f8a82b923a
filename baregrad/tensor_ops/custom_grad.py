"""An op whose forward is a composite of Tensor ops and whose backward is a closed-form formula.

Used where differentiating the composite itself would be wrong or imprecise: a polynomial approximation of
atan has a derivative that is only roughly 1/(1+x^2); a `where` over branches gives a kink at the seam.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from baregrad import autograd
from baregrad.ir.node import Node

if TYPE_CHECKING:
    from baregrad.tensor import Tensor


class _Composite(autograd.Function):
    def forward(self, *nodes: Node, fn: Callable, grad_fn: Callable) -> Node:
        from baregrad.tensor import Tensor
        device = self.parents[0].device
        with autograd.set_grad_enabled(False):
            out = fn(*[Tensor.from_node(n, device) for n in nodes])
        self.out = out.node
        return out.node

    def backward(self, g: "Tensor") -> tuple:
        inputs = [p.detach() for p in self.parents]
        out = inputs[0].from_node(self.out, g.device)
        grads = self.kwargs["grad_fn"](g, out, *inputs)
        return tuple(gr if need else None for gr, need in zip(grads, self.needs_grad))


def with_grad(fn: Callable, grad_fn: Callable, *inputs: "Tensor") -> "Tensor":
    """fn(*inputs), differentiated as grad_fn(g, out, *inputs) -> one gradient per input (same shapes)."""
    return _Composite.apply(*inputs, fn=fn, grad_fn=grad_fn)


def sqrt_zero_grad(x: "Tensor") -> "Tensor":
    """sqrt(x) whose gradient is 0 where the result is 0 rather than inf * 0 = NaN: torch's rule for std and the
    2-norm (a constant row, a zero vector), though not for sqrt itself."""
    def grad(g: "Tensor", out: "Tensor", v: "Tensor") -> tuple:
        return ((out == 0).where(0.0, g / (out * 2)),)
    return with_grad(lambda v: v.sqrt(), grad, x)
