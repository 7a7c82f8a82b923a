"""Lower one kernel's tensor graph to a kernel AST: stores of scalar expressions over loop variables.

Movement ops become index arithmetic here: we walk from the output index down to every buffer, turning
reshape/permute/expand/pad/shrink/flip into expressions of the loop variables (simplified by
ir.symbolic as they are built). A reduce becomes a LOOP_REDUCE over fresh loop variables; gather
becomes a load whose index is itself a loaded value. Nothing is copied.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Generator

from baregrad import dtype as dt
from baregrad.errors import ShapeError
from baregrad.ir import symbolic as sym
from baregrad.ir.node import Node
from baregrad.ir.ops import ALU, Op, ReduceOp

MAX_INDEX = 2**31 - 1
INDEX_BYTES = sym.INDEX.itemsize


@dataclass(frozen=True)
class Param:
    """A kernel's buffer parameter: its position, and its element count (for the shape of BUFFER nodes)."""
    index: int
    size: int

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.size,)


@dataclass(frozen=True)
class LoopReduceArg:
    op: ReduceOp
    n_vars: int


@dataclass
class LoweredKernel:
    sink: Node
    global_vars: list[Node]
    reduce_origin: dict[Node, Node]  # LOOP_REDUCE -> the tensor-graph REDUCE it came from


@dataclass
class _Lowering:
    params: dict[Node, Node]  # BUFFER node of the tensor graph -> kernel param node
    memo: dict[tuple, Node] = field(default_factory=dict)
    n_reduce_vars: int = 0
    reduce_origin: dict[Node, Node] = field(default_factory=dict)

    def param(self, buf: Node) -> Node:
        return self.params[buf]

    def fresh_var(self, size: int) -> Node:
        self.n_reduce_vars += 1
        return sym.var(f"r{self.n_reduce_vars - 1}", size)


def strides_of(shape: tuple[int, ...]) -> tuple[int, ...]:
    out, acc = [], 1
    for s in reversed(shape):
        out.append(acc)
        acc *= s
    return tuple(reversed(out))


def flat_index(idx: tuple[Node, ...], shape: tuple[int, ...]) -> Node:
    out = sym.const(0)
    for i, stride in zip(idx, strides_of(shape)):
        out = sym.add(out, sym.mul(i, stride))
    return out


def unflatten(flat: Node, shape: tuple[int, ...]) -> tuple[Node, ...]:
    return tuple(sym.const(0) if s == 1 else sym.mod(sym.idiv(flat, st), s) for s, st in zip(shape, strides_of(shape)))


def lower_kernel(value: Node, out_param: Node, params: dict[Node, Node], out_shape: tuple[int, ...],
                 has_reduce: bool) -> LoweredKernel:
    """The kernel AST (a SINK of one STORE) computing `value` into `out_param`, laid out as out_shape."""
    if math.prod(out_shape) > MAX_INDEX:
        raise ShapeError(f"tensor of shape {out_shape} has more than 2**31-1 elements")
    state = _Lowering(params)
    if has_reduce:
        idx = tuple(sym.const(0) if s == 1 else sym.var(f"g{i}", s) for i, s in enumerate(out_shape))
    else:
        idx = unflatten(sym.var("g0", math.prod(out_shape)), out_shape) if math.prod(out_shape) > 1 \
            else tuple(sym.const(0) for _ in out_shape)
    body = _lower(state, value, idx, sym.TRUE)
    store = Node(Op.STORE, value.dtype, (out_param, flat_index(idx, out_shape), body))
    global_vars = [v for v in dict.fromkeys(n for i in idx for n in i.toposort() if n.op is Op.VAR)]
    global_vars.sort(key=lambda v: int(v.arg[0][1:]))
    return LoweredKernel(Node(Op.SINK, dt.bool_, (store,)), global_vars, state.reduce_origin)


def _lower(state: _Lowering, node: Node, idx: tuple[Node, ...], valid: Node) -> Node:
    """The kernel expression of `node` at index `idx` (zero where `valid` is false), memoized per (node, idx, valid).

    Iterative: each node's lowering is a generator that yields the (node, idx, valid) of a source it needs and
    receives its lowered value, and this loop runs them on an explicit stack, so a 10,000-op chain needs no
    Python recursion."""
    memo = state.memo
    root = (node, idx, valid)
    if root in memo:
        return memo[root]
    stack = [(root, _lower_steps(state, *root))]
    sent: Node | None = None
    while stack:
        key, steps = stack[-1]
        try:
            need = steps.send(sent)
        except StopIteration as done:
            memo[key] = sent = done.value
            stack.pop()
            continue
        sent = memo.get(need)
        if sent is None:
            stack.append((need, _lower_steps(state, *need)))
    return memo[root]


Lowering = Generator[tuple[Node, tuple[Node, ...], Node], Node, Node]


def _lower_steps(state: _Lowering, node: Node, idx: tuple[Node, ...], valid: Node) -> Lowering:
    op = node.op
    if op is Op.BUFFER:
        if sym.is_const(valid, False):
            return Node(Op.CONST, node.dtype, (), _zero(node.dtype))
        return Node(Op.LOAD, node.dtype, (state.param(node), flat_index(idx, node.shape), valid))
    if op is Op.CONST:
        return node
    if op is Op.ARANGE:
        return _cast(idx[0], node.dtype)
    if op in ALU or op in (Op.CAST, Op.BITCAST):
        src = []
        for s in node.src:
            src.append((yield (s, idx, valid)))
        return Node(op, node.dtype, tuple(src), node.arg)
    if op is Op.REDUCE:
        return (yield from _lower_reduce(state, node, idx, valid))
    if op is Op.GATHER:
        return (yield from _lower_gather(node, idx, valid))
    if op is Op.PAD:
        return (yield from _lower_pad(node, idx, valid))
    return (yield (node.src[0], _movement_index(node, idx), valid))


def _zero(d: dt.DType):
    return False if d is dt.bool_ else (0.0 if d.is_float else 0)


def _cast(x: Node, d: dt.DType) -> Node:
    return x if x.dtype is d else Node(Op.CAST, d, (x,))


def _movement_index(node: Node, idx: tuple[Node, ...]) -> tuple[Node, ...]:
    """The index into node.src[0] that output index `idx` of a movement node reads."""
    in_shape = node.src[0].shape
    if node.op is Op.RESHAPE:
        return unflatten(flat_index(idx, node.shape), in_shape)
    if node.op is Op.PERMUTE:
        out: list[Node] = [sym.const(0)] * len(idx)
        for i, axis in enumerate(node.arg):
            out[axis] = idx[i]
        return tuple(out)
    if node.op is Op.EXPAND:
        return tuple(sym.const(0) if s == 1 else i for i, s in zip(idx, in_shape))
    if node.op is Op.SHRINK:
        return tuple(sym.add(i, start) for i, (start, _) in zip(idx, node.arg))
    if node.op is Op.FLIP:
        return tuple(sym.add(sym.mul(i, -1), s - 1) if flip else i for i, s, flip in zip(idx, in_shape, node.arg))
    raise NotImplementedError(node.op)


def _lower_pad(node: Node, idx: tuple[Node, ...], valid: Node) -> Lowering:
    in_shape = node.src[0].shape
    inner_idx, inside = [], sym.TRUE
    for i, s, (before, _) in zip(idx, in_shape, node.arg):
        inner_idx.append(sym.add(i, -before))
        if before:
            inside = sym.and_(inside, sym.ge(i, before))
        if sym.vmax(i) >= before + s:
            inside = sym.and_(inside, sym.lt(i, before + s))
    value = yield (node.src[0], tuple(inner_idx), sym.and_(valid, inside))
    if sym.is_const(inside, True):
        return value
    return Node(Op.WHERE, node.dtype, (inside, value, Node(Op.CONST, node.dtype, (), _zero(node.dtype))))


def _lower_reduce(state: _Lowering, node: Node, idx: tuple[Node, ...], valid: Node) -> Lowering:
    reduce_op, axes = node.arg
    in_shape = node.src[0].shape
    new_idx, loop_vars = list(idx), []
    for axis in sorted(axes):
        if in_shape[axis] == 1:
            new_idx[axis] = sym.const(0)
            continue
        v = state.fresh_var(in_shape[axis])
        loop_vars.append(v)
        new_idx[axis] = v
    body = yield (node.src[0], tuple(new_idx), valid)
    if not loop_vars:
        return body
    out = Node(Op.LOOP_REDUCE, node.dtype, (body, *loop_vars), LoopReduceArg(reduce_op, len(loop_vars)))
    state.reduce_origin[out] = node
    return out


def _lower_gather(node: Node, idx: tuple[Node, ...], valid: Node) -> Lowering:
    src, index_tensor = node.src
    axis = node.arg
    size = src.shape[axis]
    raw = yield (index_tensor, idx, valid)
    # the range check runs in the index's own dtype when INDEX cannot hold all its values: narrowing first would
    # turn 2**32 + 1 into 1 (int64) or 2**32 - 1 into -1 (uint32), both in range
    d = raw.dtype if raw.dtype.itemsize > INDEX_BYTES or raw.dtype is dt.uint32 else sym.INDEX
    raw = _cast(raw, d)
    # negative indices count from the end, as in torch; anything still out of range reads zero, never memory
    if d.is_unsigned:
        wrapped = raw
        in_range = Node(Op.CMPLT, dt.bool_, (raw, sym.const(size, d)))
    else:
        wrapped = Node(Op.WHERE, d, (Node(Op.CMPLT, dt.bool_, (raw, sym.const(0, d))),
                                     Node(Op.ADD, d, (raw, sym.const(size, d))), raw))
        in_range = Node(Op.AND, dt.bool_, (Node(Op.CMPLT, dt.bool_, (wrapped, sym.const(size, d))),
                                           Node(Op.CMPLT, dt.bool_, (sym.const(-1, d), wrapped))))
    wrapped = _cast(wrapped, sym.INDEX)  # exact wherever in_range holds, and unused where it does not
    src_idx = tuple(wrapped if i == axis else (sym.const(0) if src.shape[i] == 1 else j)
                    for i, j in enumerate(idx))
    value = yield (src, src_idx, sym.and_(valid, in_range))
    if value.op is Op.LOAD or sym.is_const(value, _zero(node.dtype)):
        return value  # a load masked by in_range already reads zero there: no select needed
    # a computed source (arange, a constant, an expand of one, arithmetic on loads) has a value even where the
    # index is out of range: mask it like padding
    return Node(Op.WHERE, node.dtype, (in_range, value, Node(Op.CONST, node.dtype, (), _zero(node.dtype))))
