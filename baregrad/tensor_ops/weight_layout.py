"""Weight layouts the CPU's SIMD tiles want, copied once per weight version instead of on every call.

`x @ W.T` with W stored (out, in) reads W across its rows; the CPU's SIMD tiles want the right-hand operand
row-major, so matmul copies W.T first. For a weight that does not change between calls (inference, or the frozen
parts of a model) that copy is the same every time: it is kept here, keyed by the weight's buffer and redone only
after the buffer is written in place (an optimizer step stamps it). The copy is differentiable: the gradient
flows to W as it would through the copy made on the spot.

A conv on a small map (7x7, 14x14: rows that are not a whole number of SIMD vectors) is vectorized along its
output channels instead of its pixels (codegen/opt.py), which needs its weight (cout, cin, kh, kw) contiguous along
cout: conv reads the weight through a view of a channels-last copy (cin, kh, kw, cout), kept the same way.
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
_CHANNELS_LAST: "weakref.WeakKeyDictionary[object, tuple[int, Tensor]]" = weakref.WeakKeyDictionary()


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


def channels_last_view(w: "Tensor") -> "Tensor":
    """A realized conv weight (cout, cin, *k) read through a view of its channels-last copy (cin, *k, cout), the copy
    from the cache when the weight is unchanged; w itself where it is not a buffer. While kernels are captured for
    replay the copy is made in the graph: a replay must redo it after the optimizer steps it replays."""
    from baregrad.engine import capture
    node = w.node
    if node.op is not Op.BUFFER:
        return w
    if capture.active() is not None:
        return w.permute(*range(1, w.ndim), 0).contiguous().permute(w.ndim - 1, *range(w.ndim - 1))
    buffer = node.arg
    version = buffer.written_at
    hit = _CHANNELS_LAST.get(buffer)
    if hit is None or hit[0] != version:
        with autograd.no_grad():
            copy = w.detach().permute(*range(1, w.ndim), 0).contiguous().realize()
        hit = _CHANNELS_LAST[buffer] = (version, copy)
    view = hit[1].permute(w.ndim - 1, *range(w.ndim - 1))
    if not (w.requires_grad and autograd.grad_enabled()):
        return view
    return with_grad(lambda _: view, lambda g, out, _w: (g,), w)
