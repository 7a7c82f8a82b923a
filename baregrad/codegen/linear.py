"""Linearize a kernel AST into a linear program (ir/linear.py): SSA instructions with explicit loops.

Placement is by dependence: every expression is emitted in the innermost loop whose variable it uses,
so a reduce that only depends on the outer loops (the row max and row sum in softmax) is computed once
per row, not once per element. Reduces over the same loop variables share one loop.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from baregrad import dtype as dt
from baregrad.codegen.lower import LoopReduceArg, Param
from baregrad.ir.linear import Instr, L, LinearProgram, Loop, LoopKind, ParamInfo
from baregrad.ir.node import Node
from baregrad.ir.ops import ALU, Op, ReduceOp


def reduce_identity(op: ReduceOp, d: dt.DType) -> Any:
    if op is ReduceOp.SUM:
        return False if d is dt.bool_ else (0.0 if d.is_float else 0)
    if op is ReduceOp.PROD:
        return True if d is dt.bool_ else (1.0 if d.is_float else 1)
    if d.is_float:
        return float("-inf")
    return False if d is dt.bool_ else dt.min_max_values(d)[0]


@dataclass
class _Linearizer:
    nodes: list[Node]
    instrs: list[Instr] = field(default_factory=list)
    emitted: dict[Node, int] = field(default_factory=dict)
    free: dict[Node, frozenset[Node]] = field(default_factory=dict)
    var_depth: dict[Node, int] = field(default_factory=dict)
    scope: dict[Node, Node | None] = field(default_factory=dict)
    by_scope: dict[Node | None, list[Node]] = field(default_factory=dict)
    groups: dict[tuple[Node, ...], list[Node]] = field(default_factory=dict)
    params: dict[int, ParamInfo] = field(default_factory=dict)

    def add(self, ins: Instr) -> int:
        self.instrs.append(ins)
        return len(self.instrs) - 1


def _reduce_vars(node: Node) -> tuple[Node, ...]:
    return node.src[1:]


def linearize(sink: Node, name: str, global_vars: list[Node]) -> LinearProgram:
    state = _Linearizer(sink.toposort())
    _analyse(state, global_vars)
    for node in state.nodes:
        if node.op is Op.STORE:
            param = node.src[0].arg
            state.params[param.index] = ParamInfo(param.index, node.dtype.scalar, param.size, True)
        elif node.op is Op.LOAD and node.src[0].arg.index not in state.params:
            param = node.src[0].arg
            state.params[param.index] = ParamInfo(param.index, node.dtype.scalar, param.size, False)
    params = [state.params[i] for i in sorted(state.params)]
    param_index = {p.index: state.add(Instr(L.PARAM, p.dtype, (), p)) for p in params}
    for node in state.nodes:
        if node.op is Op.BUFFER:
            state.emitted[node] = param_index[node.arg.index]
    _emit_scope(state, None)
    _emit_loop_chain(state, global_vars)
    return LinearProgram(name, state.instrs, params, _loop_iterations(state.instrs))


def _loop_iterations(instrs: list[Instr]) -> int:
    """Iterations of every loop together: nested loops multiply, sibling loops add (a norm's reduce and its
    elementwise loop are 2n, not n * n), so a small kernel is not mistaken for one worth threading."""
    total, sizes = 0, [1]
    for ins in instrs:
        if ins.op is L.RANGE:
            sizes.append(sizes[-1] * ins.arg.size)
            total += sizes[-1]
        elif ins.op is L.END:
            sizes.pop()
    return max(total, 1)


def _free_variables(state: _Linearizer) -> None:
    """state.free[node]: the loop variables a node's value depends on (a reduce's own variables excluded).

    Reduces over the same variables share one loop, so each member of such a group takes the free variables of
    them all: a member whose own body does not use an outer loop variable must still wait until that loop is open
    for the others (otherwise the shared loop opens outside it). Sets only grow, so the repetition ends."""
    group_free: dict[tuple[Node, ...], frozenset[Node]] = {}
    while True:
        for node in state.nodes:
            if node.op is Op.VAR:
                state.free[node] = frozenset({node})
            elif node.op is Op.LOOP_REDUCE:
                vars_ = _reduce_vars(node)
                state.free[node] = state.free[node.src[0]].difference(vars_) | group_free.get(vars_, frozenset())
            else:
                acc: set[Node] = set()
                for s in node.src:
                    acc |= state.free[s]
                state.free[node] = frozenset(acc)
        merged: dict[tuple[Node, ...], frozenset[Node]] = {}
        for node in state.nodes:
            if node.op is Op.LOOP_REDUCE:
                vars_ = _reduce_vars(node)
                merged[vars_] = merged.get(vars_, frozenset()) | state.free[node]
        if merged == group_free:
            return
        group_free = merged


def _analyse(state: _Linearizer, global_vars: list[Node]) -> None:
    _free_variables(state)
    for i, v in enumerate(global_vars):
        state.var_depth[v] = i + 1
    # outer reduces first, so an inner reduce's loop depth sees its enclosing loops
    for node in reversed(state.nodes):
        if node.op is not Op.LOOP_REDUCE:
            continue
        vars_ = _reduce_vars(node)
        state.groups.setdefault(vars_, []).append(node)
        if vars_[0] in state.var_depth:
            continue
        base = max((state.var_depth[v] for v in state.free[node]), default=0)
        for j, v in enumerate(vars_):
            state.var_depth[v] = base + 1 + j
    for node in state.nodes:
        deepest = max(state.free[node], key=lambda v: state.var_depth[v], default=None)
        state.scope[node] = deepest
        state.by_scope.setdefault(deepest, []).append(node)


def _emit_loop_chain(state: _Linearizer, loop_vars: list[Node] | tuple[Node, ...], group: list[Node] | None = None,
                     accs: list[int] | None = None) -> None:
    if not loop_vars:
        return
    var = loop_vars[0]
    kind = LoopKind.GLOBAL if group is None else LoopKind.REDUCE
    rng = state.add(Instr(L.RANGE, dt.int32, (), Loop(var.arg[0], var.arg[1], kind)))
    state.emitted[var] = rng
    _emit_scope(state, var)
    if len(loop_vars) > 1:
        _emit_loop_chain(state, loop_vars[1:], group, accs)
    elif group is not None and accs is not None:
        for member, acc in zip(group, accs):
            value = _emit(state, member.src[0])
            state.add(Instr(L.UPDATE, member.dtype, (acc, value), member.arg.op))
    state.add(Instr(L.END, dt.int32, (rng,)))


def _emit_scope(state: _Linearizer, scope: Node | None) -> None:
    for node in state.by_scope.get(scope, ()):
        _emit(state, node)


def _emit(state: _Linearizer, node: Node) -> int:
    """Emit node after its sources, depth first in source order, with an explicit stack (no recursion)."""
    emitted = state.emitted
    stack = [node]
    while stack:
        top = stack[-1]
        if top in emitted:
            stack.pop()
        elif top.op is Op.LOOP_REDUCE:
            _emit_group(state, state.groups[_reduce_vars(top)])
            stack.pop()
        else:
            missing = [s for s in top.src if s not in emitted]
            if missing:
                stack.extend(reversed(missing))
            else:
                emitted[top] = state.add(_instr_for(top, tuple(emitted[s] for s in top.src)))
                stack.pop()
    return emitted[node]


def _emit_group(state: _Linearizer, group: list[Node]) -> None:
    scope = state.scope[group[0]]
    # everything the bodies need from this scope or outside must exist before the loop opens
    walked: set[Node] = set()
    for member in group:
        _emit_frontier(state, member.src[0], set(_reduce_vars(group[0])), scope, walked)
    accs = []
    for member in group:
        arg: LoopReduceArg = member.arg
        acc = state.add(Instr(L.ACC, member.dtype, (), reduce_identity(arg.op, member.dtype)))
        accs.append(acc)
        state.emitted[member] = acc
    _emit_loop_chain(state, _reduce_vars(group[0]), group, accs)


def _emit_frontier(state: _Linearizer, node: Node, inner_vars: set[Node], scope: Node | None,
                   walked: set[Node]) -> None:
    """Emit the loop-invariant parts of a reduce body (before its loop opens). `walked` holds the body nodes already
    looked through: bodies share subexpressions, and walking each path again is exponential in the sharing."""
    stack = [node]
    while stack:
        node = stack.pop()
        if node in state.emitted or node in walked:
            continue
        if state.free[node] & inner_vars:
            walked.add(node)
            if node.op is not Op.LOOP_REDUCE:  # a nested reduce hoists its own invariants when its loop is emitted
                stack.extend(reversed(node.src))
            continue
        _emit(state, node)


def _instr_for(node: Node, src: tuple[int, ...]) -> Instr:
    op = node.op
    if op is Op.CONST:
        return Instr(L.CONST, node.dtype, (), node.arg)
    if op is Op.BUFFER:
        raise AssertionError("params are emitted up front")
    if op is Op.LOAD:  # arg: a vector access's stride between lanes (None: contiguous)
        return Instr(L.LOAD, node.dtype, src, node.arg)
    if op is Op.STORE:
        return Instr(L.STORE, node.dtype, src, node.arg)
    if op in ALU:
        return Instr(L.ALU, node.dtype, src, op)
    if op is Op.CAST:
        return Instr(L.CAST, node.dtype, src, None)
    if op is Op.BITCAST:
        return Instr(L.BITCAST, node.dtype, src, None)
    if op is Op.SINK:
        return Instr(L.CONST, dt.bool_, (), True)
    raise NotImplementedError(f"cannot linearize {op}")


def param_node(index: int, size: int, d: dt.DType) -> Node:
    return Node(Op.BUFFER, d, (), Param(index, size))


def redundant_reduces(sink: Node, global_vars: list[Node]) -> list[Node]:
    """Reduces that would sit inside a loop whose variable they do not use, i.e. be recomputed per iteration.

    The scheduler gives each of them a kernel (and a buffer) of its own instead.
    """
    state = _Linearizer(sink.toposort())
    _analyse(state, global_vars)
    chain: dict[Node, frozenset[Node]] = {g: frozenset(global_vars[:i + 1]) for i, g in enumerate(global_vars)}
    out = []
    for node in reversed(state.nodes):
        if node.op is not Op.LOOP_REDUCE:
            continue
        scope = state.scope[node]
        base = chain[scope] if scope is not None else frozenset()
        if not base <= state.free[node]:
            out.append(node)
        vars_ = _reduce_vars(node)
        for j, v in enumerate(vars_):
            chain.setdefault(v, base | frozenset(vars_[:j + 1]))
    return out


__all__ = ["Instr", "L", "LinearProgram", "Loop", "LoopKind", "ParamInfo", "linearize", "param_node",
           "redundant_reduces", "reduce_identity"]
