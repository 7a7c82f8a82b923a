"""Operand packing for the CPU's SIMD matmul tiles: lay an operand out the way the tile reads it, first.

The register tiler (codegen/opt.py) computes a few rows of the output times a strip of SIMD vectors along
its last axis, and walks the whole reduce for each tile. Two operand layouts defeat it, and on devices whose
kernel options ask for SIMD vectors the scheduler rewrites the tensor graph before it schedules:

- matmul's right-hand operand B (k, m), read as a strip of `panel` columns over every k. Its rows are m floats
  apart, so with m a power of two the strip's cache lines all fall in a few cache sets and its pages each
  need a TLB entry: the strip never stays cached. We copy B into panels (m / panel, k, panel), so a strip is
  one contiguous block, and the matmul reads the panels through a view:

      B (k, m) -> (k, m/panel, panel) -> permute (m/panel, k, panel) -> contiguous -> view back as (k, m)

  (2048x2048 fp32 on a 2-core AVX2 machine: 0.37x numpy unpacked, 0.7x packed.)
- a zero-padded input of a convolution: the pad becomes a per-element mask on the window loads, and a masked
  load has no SIMD form. We make the padded input a buffer (a copy the size of the input), so the window
  loads are plain contiguous loads.

Both copies are linear in the operand while the reduce is a product of sizes, so they apply only to large
reduces; small ones stay one kernel (128x128 @ 128x784, as in an MLP's backward pass: 34 GFLOP/s unpacked,
23 packed, the extra kernel costing more than the strided strip).
"""
from __future__ import annotations

import math

from baregrad import dtype as dt
from baregrad.codegen.opt import KernelOptions
from baregrad.ir.node import Node
from baregrad.ir.ops import Op, ReduceOp

# rows of A that reuse each packed panel; at 128 (an MLP batch) the copy cost the JIT Adam step 0.55x -> 0.46x torch
MIN_PANEL_ROWS = 256
MIN_PANEL_DEPTH = 256     # k: a shorter strip (under half of a 32 KiB L1) stays cached as it is
MIN_WINDOW_MACS = 1 << 20     # multiply-adds of a padded-window reduce worth a copy of its padded input
# (a depthwise 3x3 conv over 192 x 56 x 56 is 5.4M: unmasked, its loads vectorize and it runs several times faster)
# ... and of a smaller one whose output rows are whole vectors of 4 or more lanes (a stride-2 depthwise conv to
# 144 x 28 x 28, 1.0M: 1135 -> 190 us, plus 340 us for the copy); rows of 14 or 7 do not vectorize, so a copy
# would only add a kernel
MIN_VECTOR_WINDOW_MACS = 1 << 19
MIN_ROW_LANES = 4
MOVEMENT = frozenset({Op.RESHAPE, Op.PERMUTE, Op.EXPAND, Op.SHRINK})


def pack_simd_operands(targets: tuple[Node, ...], opts: KernelOptions) -> tuple[Node, ...]:
    """targets with large matmul-like reduces reading packed operands (unchanged unless opts ask for SIMD)."""
    if not opts.vector_width:
        return targets
    memo: dict[Node, Node] = {}
    for node in Node(Op.SINK, dt.bool_, targets).toposort():
        src = tuple(memo[s] for s in node.src)
        new = node if src == node.src else Node(node.op, node.dtype, src, node.arg)
        memo[node] = _pack_reduce(new, opts) if _is_sum_of_products(new) else new
    return tuple(memo[t] for t in targets)


def _is_sum_of_products(node: Node) -> bool:
    return node.op is Op.REDUCE and node.arg[0] is ReduceOp.SUM and node.dtype is dt.float32 \
        and node.src[0].op is Op.MUL


def _pack_reduce(reduce: Node, opts: KernelOptions) -> Node:
    product = reduce.src[0]
    unpad = _window_worth_copy(product, reduce)
    operands = tuple(_unpad_window(_panel_operand(x, product, reduce, opts)) if unpad else
                     _panel_operand(x, product, reduce, opts) for x in product.src)
    if operands == product.src:
        return reduce
    return Node(Op.REDUCE, reduce.dtype, (Node(Op.MUL, product.dtype, operands),), reduce.arg)


def _panel_operand(x: Node, product: Node, reduce: Node, opts: KernelOptions) -> Node:
    """matmul's B, broadcast over the rows: (..., n, m, k) as an EXPAND of (..., 1, m, k), read from panels."""
    shape = product.shape
    if reduce.arg[1] != (len(shape) - 1,) or len(shape) < 3 or x.op is not Op.EXPAND:
        return x
    b = x.src[0]
    n, m, k = shape[-3:]
    panel = opts.vector_width * opts.vectors
    if b.shape[-3] != 1 or b.shape[-2] != m or n < MIN_PANEL_ROWS or k < MIN_PANEL_DEPTH or m % panel \
            or m == panel:
        return x
    lead = b.shape[:-2]
    split = _node(Op.RESHAPE, b, lead + (m // panel, panel, k))
    order = tuple(range(len(lead))) + (len(lead), len(lead) + 2, len(lead) + 1)
    panels = Node(Op.CONTIGUOUS, b.dtype, (_node(Op.PERMUTE, split, order),))
    view = _node(Op.RESHAPE, _node(Op.PERMUTE, panels, order), b.shape)
    return _node(Op.EXPAND, view, x.shape)


def _window_worth_copy(product: Node, reduce: Node) -> bool:
    macs = math.prod(product.shape)
    if macs >= MIN_WINDOW_MACS:
        return True
    kept = [size for axis, size in enumerate(product.shape) if axis not in reduce.arg[1]]
    return macs >= MIN_VECTOR_WINDOW_MACS and bool(kept) and kept[-1] % MIN_ROW_LANES == 0


def _unpad_window(x: Node) -> Node:
    """x with a zero PAD under its movement ops made a buffer of its own, so the window loads are unmasked."""
    chain = [x]
    while chain[-1].op in MOVEMENT:
        chain.append(chain[-1].src[0])
    pad = chain[-1]
    if pad.op is not Op.PAD:
        return x
    inner = pad.src[0]
    if inner.op is not Op.BUFFER and not inner.leafless:
        # the padded operand is computed (the previous conv and its epilogue): compute it in a kernel of its own,
        # so that kernel keeps unmasked, vectorizable stores, and the padded copy is a plain copy
        pad = Node(Op.PAD, pad.dtype, (Node(Op.CONTIGUOUS, inner.dtype, (inner,)),), pad.arg)
    out = Node(Op.CONTIGUOUS, pad.dtype, (pad,))
    for node in reversed(chain[:-1]):
        out = Node(node.op, node.dtype, (out,), node.arg)
    return out


def _node(op: Op, x: Node, arg) -> Node:
    return Node(op, x.dtype, (x,), arg)


__all__ = ["pack_simd_operands"]
