"""Multi-stage reductions for GPUs: a long reduce with few outputs becomes a partial kernel and a finishing one.

A GPU reduce kernel gives each output one thread block (codegen/gpu.py, BLOCK). Summing 2^28 values into
one output would then run on a single multiprocessor of 132. So, on devices whose kernel options are
`GPUKernelOptions`, the scheduler rewrites such a REDUCE in the tensor graph before it schedules:

    x (..., R)  ->  reshape (..., chunks, chunk)  ->  reduce(chunk)  ->  contiguous  ->  reduce(chunks)

The CONTIGUOUS makes the partials a buffer of their own (a realize point), so the first kernel runs one
block per (output, chunk) and the finishing kernel, small, fuses with whatever consumes the reduce. Reduced
axes are first permuted to the end; R is padded with the reduce's identity when chunks do not divide it.
Max is exact; sum and prod only change their association order. fp16/bf16 partials are kept in fp32.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from baregrad import dtype as dt
from baregrad.codegen.opt import KernelOptions
from baregrad.ir.node import Node
from baregrad.ir.ops import Op, ReduceOp

MIN_REDUCE = 1 << 15   # shorter reduces stay in one kernel: a second launch would cost more than it saves
MIN_CHUNK = 1024       # elements per first-stage block (4 per thread of 256)
MIN_CHUNKS = 4         # fewer partials than this is not worth a second kernel
BLOCKS_PER_SM = 4      # the first stage aims at this many thread blocks per multiprocessor


@dataclass(frozen=True)
class GPUKernelOptions(KernelOptions):
    """KernelOptions of a GPU device: the scheduler splits long reduces so `sms` multiprocessors get work."""
    sms: int = 132


@dataclass(frozen=True)
class SplitPlan:
    """How one reduce splits: `chunks` partials of `chunk` elements each, over an axis padded to `padded`."""
    outputs: int
    length: int
    chunks: int
    chunk: int

    @property
    def padded(self) -> int:
        return self.chunks * self.chunk


def plan_split(outputs: int, length: int, sms: int) -> SplitPlan | None:
    """The split of a reduce of `length` elements into each of `outputs` values, or None to keep one kernel."""
    target = BLOCKS_PER_SM * sms
    if length < MIN_REDUCE or outputs == 0 or outputs * MIN_CHUNKS > target:
        return None
    wanted = -(-target // outputs)
    chunk = max(MIN_CHUNK, 1 << (-(-length // wanted) - 1).bit_length())  # a power of two: cheap index math
    chunks = -(-length // chunk)
    return SplitPlan(outputs, length, chunks, chunk) if chunks >= MIN_CHUNKS else None


def split_long_reduces(targets: tuple[Node, ...], opts: KernelOptions) -> tuple[Node, ...]:
    """targets with every long, few-output REDUCE rewritten into two stages (unchanged unless opts is a GPU's)."""
    if not isinstance(opts, GPUKernelOptions):
        return targets
    memo: dict[Node, Node] = {}
    finishes: set[Node] = set()
    for node in Node(Op.SINK, dt.bool_, targets).toposort():
        src = tuple(memo[s] for s in node.src)
        new = node if src == node.src else Node(node.op, node.dtype, src, node.arg)
        memo[node] = _split(new, opts.sms) if new.op is Op.REDUCE else new
        if memo[node] is not new:
            finishes.add(memo[node])
    split = tuple(memo[t] for t in targets)
    return _realize_broadcast_finishes(split, finishes) if finishes else split


def _realize_broadcast_finishes(targets: tuple[Node, ...], finishes: set[Node]) -> tuple[Node, ...]:
    """Give a finished reduce its own buffer where it is broadcast (softmax's max, layernorm's mean).

    Fused into its consumer, it would keep that whole consumer at one thread block per output (gpu.py's
    BLOCK strategy), and a split partial reading it would lose its chunk parallelism.
    """
    reach: dict[Node, frozenset[Node]] = {}  # finishes a node reaches through elementwise and movement ops only
    wanted: set[Node] = set()
    order = Node(Op.SINK, dt.bool_, targets).toposort()
    for node in order:
        if node in finishes:
            reach[node] = frozenset({node})
        elif node.op in (Op.REDUCE, Op.CONTIGUOUS, Op.ASSIGN, Op.GATHER) or not node.src:
            reach[node] = frozenset()
        else:
            reach[node] = frozenset().union(*(reach[s] for s in node.src))
        if node.op is Op.EXPAND:
            wanted |= reach[node]
    memo: dict[Node, Node] = {}
    for node in order:
        src = tuple(memo[s] for s in node.src)
        new = node if src == node.src else Node(node.op, node.dtype, src, node.arg)
        memo[node] = Node(Op.CONTIGUOUS, new.dtype, (new,)) if node in wanted else new
    return tuple(memo[t] for t in targets)


def _split(node: Node, sms: int) -> Node:
    reduce_op, axes = node.arg
    x = node.src[0]
    keep = [i for i in range(len(x.shape)) if i not in axes]
    outer = tuple(x.shape[i] for i in keep)
    plan = plan_split(math.prod(outer), math.prod(x.shape[a] for a in axes), sms)
    if plan is None:
        return node
    acc = dt.float32 if node.dtype in (dt.float16, dt.bfloat16) and reduce_op is not ReduceOp.MAX else node.dtype
    flat = _reshape(_permute(_cast(x, acc), keep + sorted(axes)), outer + (plan.length,))
    rows = _reshape(_pad_identity(flat, plan, reduce_op), outer + (plan.chunks, plan.chunk))
    partial = Node(Op.CONTIGUOUS, acc, (Node(Op.REDUCE, acc, (rows,), (reduce_op, (len(outer) + 1,))),))
    partial = _reshape(partial, outer + (plan.chunks,))
    total = Node(Op.REDUCE, acc, (partial,), (reduce_op, (len(outer),)))
    return _cast(_reshape(total, node.shape), node.dtype)


def _pad_identity(flat: Node, plan: SplitPlan, reduce_op: ReduceOp) -> Node:
    """flat padded on its last axis to plan.padded with the reduce's identity element."""
    extra = plan.padded - plan.length
    if extra == 0:
        return flat
    pads = ((0, 0),) * (len(flat.shape) - 1) + ((0, extra),)
    padded = Node(Op.PAD, flat.dtype, (flat,), pads)  # PAD fills with zero, the identity of sum
    if reduce_op is ReduceOp.SUM:
        return padded
    inside = Node(Op.PAD, dt.bool_, (_full(True, dt.bool_, flat.shape),), pads)
    return Node(Op.WHERE, flat.dtype, (inside, padded, _full(_identity(reduce_op, flat.dtype), flat.dtype,
                                                                padded.shape)))


def _identity(reduce_op: ReduceOp, d: dt.DType):
    if reduce_op is ReduceOp.PROD:
        return True if d is dt.bool_ else (1.0 if d.is_float else 1)
    low = dt.min_max_values(d)[0]
    return bool(low) if d is dt.bool_ else (low if d.is_float else int(low))


def _full(value, d: dt.DType, shape: tuple[int, ...]) -> Node:
    const = Node(Op.CONST, d, (), value)
    return Node(Op.EXPAND, d, (Node(Op.RESHAPE, d, (const,), (1,) * len(shape)),), shape)


def _cast(x: Node, d: dt.DType) -> Node:
    return x if x.dtype is d else Node(Op.CAST, d, (x,))


def _permute(x: Node, order: list[int]) -> Node:
    return x if order == list(range(len(order))) else Node(Op.PERMUTE, x.dtype, (x,), tuple(order))


def _reshape(x: Node, shape: tuple[int, ...]) -> Node:
    return x if x.shape == shape else Node(Op.RESHAPE, x.dtype, (x,), shape)


__all__ = ["GPUKernelOptions", "SplitPlan", "plan_split", "split_long_reduces"]
