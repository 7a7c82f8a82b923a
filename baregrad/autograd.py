"""Reverse-mode autodiff: one Function per differentiable primitive op, and the backward pass.

A Function's forward builds the primitive Node; its backward takes the output gradient as a Tensor and
returns one gradient Tensor (or None) per parent, written with Tensor ops so that gradients are lazy
graphs that fuse like any other.
"""
from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any, Iterator

from baregrad import dtype as dt
from baregrad.ir.node import Node
from baregrad.ir.ops import Op, ReduceOp

if TYPE_CHECKING:
    from baregrad.tensor import Tensor

class _GradState(threading.local):
    # a class default, not getattr(..., default): a missing attribute raises and catches an AttributeError
    # inside getattr, which cost more than the rest of building an op
    enabled = True


_STATE = _GradState()


def grad_enabled() -> bool:
    return _STATE.enabled


@contextlib.contextmanager
def set_grad_enabled(mode: bool) -> Iterator[None]:
    previous = grad_enabled()
    _STATE.enabled = mode
    try:
        yield
    finally:
        _STATE.enabled = previous


class no_grad(contextlib.ContextDecorator):
    """Context manager and decorator: no autograd graph is recorded inside."""

    def __enter__(self) -> None:
        self.previous = grad_enabled()
        _STATE.enabled = False

    def __exit__(self, *exc: Any) -> None:
        _STATE.enabled = self.previous


class Function:
    """A differentiable primitive. Subclasses define forward (on nodes) and backward (on Tensors)."""

    def __init__(self, parents: tuple["Tensor", ...], **kwargs: Any):
        self.parents = parents
        if len(parents) == 2:
            self.needs_grad = (parents[0].requires_grad, parents[1].requires_grad)
        else:
            self.needs_grad = tuple([p.requires_grad for p in parents])
        self.kwargs = kwargs

    @classmethod
    def apply(cls, *parents: "Tensor", **kwargs: Any) -> "Tensor":
        fn = cls(parents, **kwargs)
        if len(parents) == 2:  # binary ops, the commonest, without building a list of nodes
            node = fn.forward(parents[0].node, parents[1].node, **kwargs)
        else:
            node = fn.forward(*[p.node for p in parents], **kwargs)
        out = parents[0].from_node(node, parents[0].device)
        if True in fn.needs_grad and _STATE.enabled:  # `in`, not any(): a call costs more on every op
            out.requires_grad = True
            out._ctx = fn
        return out

    def forward(self, *nodes: Node, **kwargs: Any) -> Node:
        raise NotImplementedError

    def backward(self, grad: "Tensor") -> tuple["Tensor | None", ...]:
        raise NotImplementedError(f"{type(self).__name__} is not differentiable")


def alu(op: Op, *nodes: Node, dtype: dt.DType | None = None) -> Node:
    return Node(op, dtype or nodes[-1].dtype, nodes)


# ---- unary ----
class Neg(Function):
    def forward(self, x: Node) -> Node:
        return alu(Op.NEG, x)

    def backward(self, g):
        return (-g,)


class Recip(Function):
    def forward(self, x: Node) -> Node:
        self.out = alu(Op.RECIP, x)
        return self.out

    def backward(self, g):
        y = self.parents[0].from_node(self.out, g.device)
        return (-g * y * y,)


class Sqrt(Function):
    def forward(self, x: Node) -> Node:
        self.out = alu(Op.SQRT, x)
        return self.out

    def backward(self, g):
        return (g / (self.parents[0].from_node(self.out, g.device) * 2),)


class Exp(Function):
    def forward(self, x: Node) -> Node:
        self.out = alu(Op.EXP, x)
        return self.out

    def backward(self, g):
        return (g * self.parents[0].from_node(self.out, g.device),)


class Log(Function):
    def forward(self, x: Node) -> Node:
        return alu(Op.LOG, x)

    def backward(self, g):
        return (g / self.parents[0].detach(),)


class Sin(Function):
    def forward(self, x: Node) -> Node:
        return alu(Op.SIN, x)

    def backward(self, g):
        return (g * self.parents[0].detach().cos(),)


class Cos(Function):
    def forward(self, x: Node) -> Node:
        return alu(Op.COS, x)

    def backward(self, g):
        return (-g * self.parents[0].detach().sin(),)


class Tanh(Function):
    def forward(self, x: Node) -> Node:
        self.out = alu(Op.TANH, x)
        return self.out

    def backward(self, g):
        y = self.parents[0].from_node(self.out, g.device)
        return (g * (1 - y * y),)


class Erf(Function):
    def forward(self, x: Node) -> Node:
        return alu(Op.ERF, x)

    def backward(self, g):
        x = self.parents[0].detach()
        return (g * (-(x * x)).exp() * (2 / 3.141592653589793 ** 0.5),)


class Trunc(Function):
    def forward(self, x: Node) -> Node:
        return alu(Op.TRUNC, x)

    def backward(self, g):
        return (g * 0,)


# ---- binary ----
class Add(Function):
    def forward(self, a: Node, b: Node) -> Node:
        return alu(Op.ADD, a, b)

    def backward(self, g):
        return (g, g)


class Sub(Function):
    def forward(self, a: Node, b: Node) -> Node:
        return alu(Op.SUB, a, b)

    def backward(self, g):
        return (g, -g if self.needs_grad[1] else None)


class Mul(Function):
    def forward(self, a: Node, b: Node) -> Node:
        return alu(Op.MUL, a, b)

    def backward(self, g):
        a, b = self.parents
        return (g * b.detach() if self.needs_grad[0] else None, g * a.detach() if self.needs_grad[1] else None)


class Div(Function):
    def forward(self, a: Node, b: Node) -> Node:
        return alu(Op.FDIV, a, b)

    def backward(self, g):
        a, b = (p.detach() for p in self.parents)
        return (g / b if self.needs_grad[0] else None, -g * a / (b * b) if self.needs_grad[1] else None)


class Pow(Function):
    def forward(self, a: Node, b: Node) -> Node:
        self.out = alu(Op.POW, a, b)
        return self.out

    def backward(self, g):
        a, b = (p.detach() for p in self.parents)
        y = a.from_node(self.out, g.device)
        # torch's conventions: d/da is 0 where b == 0 (not 0 * a**-1 = NaN at a == 0), and d/db = a**b * log(a)
        # is 0 where a == 0 and b >= 0 (for b < 0 it is inf * -inf)
        grad_a = g * (b == 0).where(0.0, b * a.pow(b - 1)) if self.needs_grad[0] else None
        grad_b = g * ((a == 0) & (b >= 0)).where(0.0, y * a.log()) if self.needs_grad[1] else None
        return (grad_a, grad_b)


class Maximum(Function):
    def forward(self, a: Node, b: Node) -> Node:
        return alu(Op.MAX, a, b)

    def backward(self, g):
        a, b = (p.detach() for p in self.parents)
        share = (a > b).where(1.0, (a == b).where(0.5, 0.0)).cast(g.dtype)
        return (g * share if self.needs_grad[0] else None, g * (1 - share) if self.needs_grad[1] else None)


class Where(Function):
    def forward(self, cond: Node, a: Node, b: Node) -> Node:
        return Node(Op.WHERE, a.dtype, (cond, a, b))

    def backward(self, g):
        cond = self.parents[0].detach()
        zero = g.zeros_like()
        return (None, cond.where(g, zero) if self.needs_grad[1] else None,
                cond.where(zero, g) if self.needs_grad[2] else None)


class Cast(Function):
    def forward(self, x: Node, dtype: dt.DType, bitcast: bool = False) -> Node:
        self.in_dtype = x.dtype
        return Node(Op.BITCAST if bitcast else Op.CAST, dtype, (x,))

    def backward(self, g):
        if self.kwargs.get("bitcast") or not self.in_dtype.is_float:
            return (None,)
        return (g.cast(self.in_dtype),)


# ---- reduce ----
class Reduce(Function):
    def forward(self, x: Node, op: ReduceOp, axes: tuple[int, ...]) -> Node:
        self.out = Node(Op.REDUCE, x.dtype, (x,), (op, axes))
        return self.out

    def backward(self, g):
        x = self.parents[0]
        op = self.kwargs["op"]
        grad = g.expand(x.shape)
        if op is ReduceOp.SUM:
            return (grad,)
        y = x.from_node(self.out, g.device).expand(x.shape)
        xd = x.detach()
        if op is ReduceOp.MAX:
            hit = (xd == y).cast(g.dtype)
            count = hit.sum(self.kwargs["axes"], keepdim=True).expand(x.shape)
            return (grad * hit / count,)
        # prod: d/dx_i = prod / x_i, done without dividing so zeros are exact
        return (grad * _prod_except_self(xd, self.kwargs["axes"]),)


def _prod_except_self(x: "Tensor", axes: tuple[int, ...]) -> "Tensor":
    flat_axis = axes[0] if len(axes) == 1 else None
    if flat_axis is None:
        moved = x.permute([i for i in range(x.ndim) if i not in axes] + list(axes))
        inner = moved.reshape(*[x.shape[i] for i in range(x.ndim) if i not in axes], -1)
        out = _prod_except_self(inner, (inner.ndim - 1,))
        shaped = out.reshape(moved.shape)
        order = [i for i in range(x.ndim) if i not in axes] + list(axes)
        inverse = [order.index(i) for i in range(x.ndim)]
        return shaped.permute(inverse)
    n = x.shape[flat_axis]
    # prod over j != i: exclusive cumulative products from the left and the right
    left = x.cumprod(flat_axis, exclusive=True)
    right = x.flip(flat_axis).cumprod(flat_axis, exclusive=True).flip(flat_axis)
    del n
    return left * right


# ---- movement ----
class Reshape(Function):
    def forward(self, x: Node, shape: tuple[int, ...]) -> Node:
        self.in_shape = x.shape
        return Node(Op.RESHAPE, x.dtype, (x,), shape)

    def backward(self, g):
        return (g.reshape(self.in_shape),)


class Permute(Function):
    def forward(self, x: Node, order: tuple[int, ...]) -> Node:
        return Node(Op.PERMUTE, x.dtype, (x,), order)

    def backward(self, g):
        order = self.kwargs["order"]
        return (g.permute([order.index(i) for i in range(len(order))]),)


class Expand(Function):
    def forward(self, x: Node, shape: tuple[int, ...]) -> Node:
        self.in_shape = x.shape
        return Node(Op.EXPAND, x.dtype, (x,), shape)

    def backward(self, g):
        axes = tuple(i for i, (a, b) in enumerate(zip(self.in_shape, g.shape)) if a != b)
        return (g.sum(axes, keepdim=True) if axes else g,)


class Pad(Function):
    def forward(self, x: Node, pads: tuple[tuple[int, int], ...]) -> Node:
        self.in_shape = x.shape
        return Node(Op.PAD, x.dtype, (x,), pads)

    def backward(self, g):
        pads = self.kwargs["pads"]
        return (g.shrink(tuple((b, b + s) for (b, _), s in zip(pads, self.in_shape))),)


class Shrink(Function):
    def forward(self, x: Node, bounds: tuple[tuple[int, int], ...]) -> Node:
        self.in_shape = x.shape
        return Node(Op.SHRINK, x.dtype, (x,), bounds)

    def backward(self, g):
        bounds = self.kwargs["bounds"]
        return (g.pad(tuple((b, s - e) for (b, e), s in zip(bounds, self.in_shape))),)


class Flip(Function):
    def forward(self, x: Node, axes: tuple[bool, ...]) -> Node:
        return Node(Op.FLIP, x.dtype, (x,), axes)

    def backward(self, g):
        return (g._flip_mask(self.kwargs["axes"]),)


class Gather(Function):
    """out[..., i, ...] = src[..., index[..., i, ...], ...] along `axis`; index has the output's shape."""

    def forward(self, src: Node, index: Node, axis: int) -> Node:
        self.src_shape = src.shape
        return Node(Op.GATHER, src.dtype, (src, index), axis)

    def backward(self, g):
        axis = self.kwargs["axis"]
        index = self.parents[1].detach()
        return (g.scatter_add_dense(index, axis, self.src_shape), None)
