"""Immutable, hash-consed graph nodes.

A Node is (op, dtype, src, arg). Building the same node twice returns the same object, so graphs share
structure for free, identity is equality, and a dict keyed by nodes is a memo table. `shape` is derived
from the fields (movement ops carry their target in `arg`), and is None for kernel-level index nodes.
"""
from __future__ import annotations

import math
import sys
from typing import Any

from baregrad.dtype import DType
from baregrad.ir.ops import ELEMENTWISE, MOVEMENT, Op

# A plain dict (weak references cost more than the rest of node creation). Nodes that nothing else refers to any
# more are swept out: the young ones often (most graph nodes of an eager op die within a few ops, and the buffers
# their leaves hold should go back to the allocator then, not after thousands of ops), all of them when the table
# doubles.
_CONSED: dict[tuple, "Node"] = {}
_SWEEP_AT = [100_000]
_YOUNG: list[tuple] = []  # keys of the nodes made since the last sweep, oldest first
_SURVIVORS: list[tuple] = []  # keys of the nodes the last young sweep kept: looked at once more by the next
YOUNG_SWEEP_EVERY = 256
# The write clock: advanced each time buffers are written in place (assign). A node is stamped with it when made or
# handed out again, and a written buffer with the tick of its write, so the engine can tell a node set up before
# a write to a buffer it reads (the values it was built from are gone: engine.realize.check_stale_reads).
_write_clock = 0  # a plain int global: Node() reads it on every call, and a list item costs two bytecodes more


def write_clock() -> int:
    return _write_clock


def tick_write_clock() -> int:
    """A write in place is about to be recorded: the tick that marks it (newer than every node's stamp)."""
    global _write_clock
    _write_clock += 1
    return _write_clock


def sweep() -> None:
    """Drop nodes that nothing but this table refers to (and with them the buffers their leaves hold)."""
    while True:
        # 2 references: the table's and getrefcount's own argument
        dead = [k for k in _CONSED if sys.getrefcount(_CONSED[k]) <= 2]
        if not dead:
            break
        for k in dead:
            del _CONSED[k]
    _YOUNG.clear()
    _SURVIVORS.clear()
    _SWEEP_AT[0] = max(100_000, 2 * len(_CONSED))


def _sweep_young() -> None:
    """Drop the dead among the nodes made since the last sweep, and among those the last sweep kept (an eager
    loop's newest result is still held when a sweep comes, and dead one op later). Newest first: a node only its
    table entry holds goes, and takes its references to older nodes with it, so a dead chain is gone in one pass.
    Nodes alive twice in a row stay in the table untracked (the full sweep looks at them when the table doubles)."""
    table, young, older = _CONSED, _YOUNG, _SURVIVORS
    kept: list[tuple] = []
    for keys, keep in ((young, kept), (older, None)):
        while keys:
            key = keys.pop()  # popped, not iterated: a key holds its node's sources, and must go with the node
            node = table.get(key)
            # 3 references: the table's, `node` here and getrefcount's argument
            if node is None:
                continue
            if sys.getrefcount(node) <= 3:
                del table[key]
            elif keep is not None:
                keep.append(key)
    kept.reverse()  # back to oldest first
    older.extend(kept)


class Node:
    __slots__ = ("op", "dtype", "src", "arg", "shape", "_range", "buffer", "memo_epoch", "leafless", "stamp",
                 "__weakref__")
    op: Op
    dtype: DType
    src: tuple["Node", ...]
    arg: Any
    shape: tuple[int, ...] | None
    leafless: bool  # no buffer below, only constants, indices and free-to-recompute ops (see _RECOMPUTABLE)

    def __new__(cls, op: Op, dtype: DType, src: tuple["Node", ...] = (), arg: Any = None) -> "Node":
        # 0.0 == -0.0 and 1 == 1.0 == True hash alike: a float constant is keyed by its exact spelling
        key = (op, dtype, src, ("f", repr(arg)) if isinstance(arg, float) else arg)
        node = _CONSED.get(key)
        if node is not None:
            node.stamp = _write_clock  # asked for again now: it stands for what its buffers hold now
            return node
        node = object.__new__(cls)
        node.stamp = _write_clock
        node.op, node.dtype, node.src, node.arg = op, dtype, src, arg
        node.shape = _infer_shape(op, src, arg)
        node._range = None
        node.buffer = None  # set once the node has been computed (the engine's memo) ...
        node.memo_epoch = -1  # ... valid while no buffer has been written in place since (engine.realize.EPOCH)
        node.leafless = op in _RECOMPUTABLE and _all_leafless(src)
        _CONSED[key] = node
        _YOUNG.append(key)
        if len(_YOUNG) >= YOUNG_SWEEP_EVERY:
            _sweep_young()  # `node` is referenced here, so it survives its first sweep
            if len(_CONSED) > _SWEEP_AT[0]:
                sweep()
        return node

    def __reduce__(self):
        raise TypeError("Nodes are not picklable")

    def __repr__(self) -> str:
        return format_node(self)

    def toposort(self, boundary: "set[Node] | dict[Node, Any] | None" = None) -> list["Node"]:
        """All nodes reachable from this one, children before parents. Nodes in `boundary` (other than this one)
        are listed but not walked below: a scheduler stops at what is already computed."""
        order: list[Node] = []
        seen: set[int] = set()
        stack: list[tuple[Node, bool]] = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            if boundary is None or node is self or node not in boundary:
                stack.extend((s, False) for s in reversed(node.src) if id(s) not in seen)
        return order


def _all_leafless(src: tuple[Node, ...]) -> bool:
    for s in src:  # a loop, not all([...]): this runs for every new node, most with one or two sources
        if not s.leafless:
            return False
    return True


# Ops a kernel recomputes for free where they are used. A graph of them over no buffer (a broadcast constant,
# an index pattern) is "leafless": the engine takes it as it is, without walking it on every realize.
_RECOMPUTABLE = ELEMENTWISE | MOVEMENT | {Op.CONST, Op.ARANGE}

# members bound once: Op.X is slow on Python 3.11 (see ir/ops.py), and every new node infers its shape
_REDUCE, _BUFFER, _CONST, _ARANGE, _GATHER, _ASSIGN = Op.REDUCE, Op.BUFFER, Op.CONST, Op.ARANGE, Op.GATHER, Op.ASSIGN
_RESHAPE, _EXPAND, _PERMUTE, _PAD, _SHRINK = Op.RESHAPE, Op.EXPAND, Op.PERMUTE, Op.PAD, Op.SHRINK
_SHAPELESS = frozenset({Op.LOAD, Op.STORE, Op.LOOP_REDUCE, Op.SINK, Op.VAR})


def _infer_shape(op: Op, src: tuple[Node, ...], arg: Any) -> tuple[int, ...] | None:
    if op in ELEMENTWISE:  # the common case first: an elementwise op keeps its first operand's shape
        return src[0].shape
    if op in MOVEMENT:
        return _movement_shape(op, src[0].shape, arg)
    if op is _REDUCE:
        axes = arg[1]
        return tuple(1 if i in axes else s for i, s in enumerate(src[0].shape))
    if op is _BUFFER:
        return arg.shape
    if op is _CONST:
        return () if src == () else None
    if op is _ARANGE:
        return (arg,)
    if op is _GATHER:
        return src[1].shape
    if op is _ASSIGN:
        return src[0].shape
    if op in _SHAPELESS:
        return None
    if not src:
        return None
    return src[0].shape


def _movement_shape(op: Op, shape: tuple[int, ...], arg: Any) -> tuple[int, ...]:
    if op is _RESHAPE or op is _EXPAND:
        return tuple(arg)
    if op is _PERMUTE:
        return tuple(shape[i] for i in arg)
    if op is _PAD:
        return tuple(s + b + a for s, (b, a) in zip(shape, arg))
    if op is _SHRINK:
        return tuple(e - b for b, e in arg)
    return shape


def numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def format_node(node: Node, depth: int = 0, limit: int = 6) -> str:
    """A compact one-node-per-line rendering, for DEBUG output and error messages."""
    arg = node.arg
    if node.op is Op.BUFFER:
        arg = f"buf{id(arg) % 10000}"
    head = f"{'  ' * depth}{node.op.name} {node.dtype.name}{list(node.shape) if node.shape is not None else ''}"
    head += f" {arg}" if arg is not None else ""
    if depth >= limit:
        return head + (" ..." if node.src else "")
    return "\n".join([head] + [format_node(s, depth + 1, limit) for s in node.src])
