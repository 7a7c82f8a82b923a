"""Default loop optimizations, chosen by heuristics (no search): upcasting (register tiling) of output loops.

Upcasting a loop variable g by f rewrites g -> g'*f + c for c in 0..f-1 and duplicates the store, so one
iteration computes an f-wide strip. For a matmul, upcasting both output loops gives a register tile whose
loads are shared between accumulators; reduces over the same loop variable share one loop.
"""
from __future__ import annotations

from dataclasses import dataclass

from baregrad import dtype as dt
from baregrad.ir import symbolic as sym
from baregrad.ir.node import Node
from baregrad.ir.ops import Op


@dataclass
class OptimizedKernel:
    sink: Node
    global_vars: list[Node]


def optimize(sink: Node, global_vars: list[Node]) -> OptimizedKernel:
    return OptimizedKernel(sink, global_vars)


def substitute(root: Node, mapping: dict[Node, Node]) -> Node:
    """Replace nodes (usually loop variables) and rebuild everything above them, re-simplifying index math."""
    memo: dict[Node, Node] = dict(mapping)
    for node in root.toposort():
        if node in memo:
            continue
        src = tuple(memo[s] for s in node.src)
        if src == node.src:
            memo[node] = node
        elif node.dtype is sym.INDEX and node.op in _INDEX_BUILDERS:
            memo[node] = _INDEX_BUILDERS[node.op](*src)
        elif node.dtype is dt.bool_ and node.op in (Op.CMPLT, Op.AND) and src[0].dtype in (sym.INDEX, dt.bool_):
            memo[node] = sym.lt(*src) if node.op is Op.CMPLT else sym.and_(*src)
        else:
            memo[node] = Node(node.op, node.dtype, src, node.arg)
    return memo[root]


_INDEX_BUILDERS = {Op.ADD: sym.add, Op.MUL: sym.mul, Op.IDIV: lambda a, b: sym.idiv(a, b.arg) if sym.is_const(b)
                   else Node(Op.IDIV, sym.INDEX, (a, b)),
                   Op.MOD: lambda a, b: sym.mod(a, b.arg) if sym.is_const(b) else Node(Op.MOD, sym.INDEX, (a, b))}
