"""A boundary in the lazy graph for layers that unroll (recurrences over time, stacks of transformer blocks).

`materialize(x)` is the identity, but computes x into a buffer now and its gradient into a buffer in the backward
pass. Without it such a layer's graph fuses into a few huge kernels (each step's gradient inlined into every later
consumer), whose scheduling time grows steeply with their size: a 3-step LSTM backward took 21-57 s to schedule,
a 1+1-layer Transformer 40-80 s. With it each step or block is the same few small kernels, whose schedules are
cached by structure and reused.
"""
from __future__ import annotations

from baregrad import autograd
from baregrad.ir.node import Node
from baregrad.ir.ops import Op
from baregrad.tensor import Tensor, realize_all


class _Materialize(autograd.Function):
    def forward(self, x: Node) -> Node:
        return Node(Op.CONTIGUOUS, x.dtype, (x,))

    def backward(self, grad: Tensor) -> tuple[Tensor]:
        return (grad.contiguous().realize(),)


def materialize(*xs: Tensor) -> tuple[Tensor, ...]:
    """Each of xs computed into a buffer of its own now (in one schedule), and its gradient likewise later."""
    out = tuple(_Materialize.apply(x) for x in xs)
    realize_all(out)
    return out
