"""Row-major copies of transposed weights, made once per weight version instead of on every call.

`x @ W.T` with W stored (out, in) reads W across its rows; the CPU's SIMD tiles want the right-hand operand
row-major, so matmul copies W.T first. For a weight that does not change between calls (inference, or the frozen
parts of a model) that copy is the same every time: it is kept here, keyed by the weight's buffer and redone only
after the buffer is written in place (an optimizer step stamps it). The copy is differentiable: the gradient
flows to W as it would through the copy made on the spot.
"""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from baregrad import autograd
from baregrad.ir.ops import Op
from baregrad.tensor_ops.custom_grad import with_grad

if TYPE_CHECKING:
    from baregrad.tensor import Tensor

_COPIES: "weakref.WeakKeyDictionary[object, tuple[int, Tensor]]" = weakref.WeakKeyDictionary()


def row_major_copy(b: "Tensor") -> "Tensor":
    """b (a transposed view of a realized weight) as a row-major tensor, from the cache when the weight is unchanged.
    While kernels are being captured for replay the copy is made in the graph instead: a replay must redo it after
    the optimizer steps it replays."""
    from baregrad.engine import capture
    node = b.node
    if node.op is not Op.PERMUTE or node.src[0].op is not Op.BUFFER or capture.active() is not None:
        return b.contiguous()
    buffer = node.src[0].arg
    version = buffer.written_at
    hit = _COPIES.get(buffer)
    if hit is None or hit[0] != version:
        with autograd.no_grad():
            copy = b.detach().contiguous().realize()
        hit = _COPIES[buffer] = (version, copy)
    copy = hit[1]
    if not (b.requires_grad and autograd.grad_enabled()):
        return copy
    return with_grad(lambda _: copy, lambda g, out, w: (g,), b)
