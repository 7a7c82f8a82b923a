"""A small pattern matcher and a bottom-up graph rewriter.

A rule is (Pat, fn). A Pat names an op (or a set of ops), optional source patterns, an optional
predicate, and a name under which the matched node is passed to fn. fn returns a replacement node, or
None to decline. `graph_rewrite` applies a PatternMatcher to every node, children first, until no rule
fires anywhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from baregrad.ir.node import Node
from baregrad.ir.ops import Op


@dataclass(frozen=True)
class Pat:
    op: Op | frozenset[Op] | None = None
    src: tuple["Pat", ...] | None = None
    name: str | None = None
    where: Callable[[Node], bool] | None = None
    commutative: bool = False

    def ops(self) -> frozenset[Op] | None:
        if self.op is None:
            return None
        return self.op if isinstance(self.op, frozenset) else frozenset({self.op})

    def match(self, node: Node, bound: dict[str, Node]) -> bool:
        ops = self.ops()
        if ops is not None and node.op not in ops:
            return False
        if self.where is not None and not self.where(node):
            return False
        if self.name is not None:
            if self.name in bound and bound[self.name] is not node:
                return False
            bound[self.name] = node
        if self.src is None:
            return True
        if len(self.src) != len(node.src):
            return False
        orders = [node.src, node.src[::-1]] if self.commutative and len(node.src) == 2 else [node.src]
        for srcs in orders:
            trial = dict(bound)
            if all(p.match(s, trial) for p, s in zip(self.src, srcs)):
                bound.update(trial)
                return True
        return False


def const_pat(name: str | None = None, value: Any = None) -> Pat:
    """A pattern for a scalar constant, optionally of one value."""
    if value is None:
        return Pat(Op.CONST, name=name)
    return Pat(Op.CONST, name=name, where=lambda n: not n.src and n.arg == value)


Rule = tuple[Pat, Callable[..., "Node | None"]]


class PatternMatcher:
    def __init__(self, rules: Iterable[Rule]):
        self.rules = list(rules)
        self.by_op: dict[Op, list[Rule]] = {}
        self.any_op: list[Rule] = []
        for pat, fn in self.rules:
            ops = pat.ops()
            if ops is None:
                self.any_op.append((pat, fn))
            else:
                for op in ops:
                    self.by_op.setdefault(op, []).append((pat, fn))

    def rewrite(self, node: Node) -> Node | None:
        for pat, fn in self.by_op.get(node.op, []) + self.any_op:
            bound: dict[str, Node] = {}
            if pat.match(node, bound):
                out = fn(**bound) if bound else fn(node)
                if out is not None and out is not node:
                    return out
        return None


def graph_rewrite(root: Node, pm: PatternMatcher, memo: dict[Node, Node] | None = None) -> Node:
    """Rewrite every node reachable from root, children first, to a fixed point."""
    memo = {} if memo is None else memo
    for node in root.toposort():
        if node in memo:
            continue
        src = tuple(memo[s] for s in node.src)
        current = node if src == node.src else Node(node.op, node.dtype, src, node.arg)
        result = _rewrite_fixed_point(current, pm, memo)
        memo[node] = result
        memo[result] = result
    return memo[root]


def _rewrite_fixed_point(node: Node, pm: PatternMatcher, memo: dict[Node, Node]) -> Node:
    for _ in range(1000):
        out = pm.rewrite(node)
        if out is None:
            return node
        # the replacement may contain new, unrewritten nodes below it
        node = graph_rewrite(out, pm, memo)
    raise RuntimeError(f"rewrite did not converge at {node.op}")
