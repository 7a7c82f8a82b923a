"""The linear program: a kernel as SSA instructions with explicit loops, the form every renderer reads.

codegen/linear.py builds it from a lowered kernel graph; render/ turns it into source text; the PYTHON device
interprets it. `loop_tree` gives its loops as a tree (a view, recomputed on demand) for the GPU kernel shapers.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any, Iterator

from baregrad import dtype as dt


class L(enum.Enum):
    PARAM = "param"        # arg: ParamInfo
    CONST = "const"        # arg: value
    RANGE = "range"        # arg: Loop
    END = "end"            # src: (range,)
    LOAD = "load"          # src: (param, index, valid?)
    STORE = "store"        # src: (param, index, value)
    ALU = "alu"            # arg: Op
    CAST = "cast"
    BITCAST = "bitcast"
    ACC = "acc"            # arg: initial value; a mutable accumulator
    UPDATE = "update"      # src: (acc, value); arg: ReduceOp


class LoopKind(enum.Enum):
    GLOBAL = "global"
    REDUCE = "reduce"


@dataclass(frozen=True)
class Loop:
    name: str
    size: int
    kind: LoopKind


@dataclass(frozen=True)
class ParamInfo:
    index: int
    dtype: dt.DType
    size: int
    writable: bool


@dataclass(frozen=True)
class Instr:
    op: L
    dtype: dt.DType
    src: tuple[int, ...] = ()
    arg: Any = None


@dataclass
class LinearProgram:
    name: str
    instrs: list[Instr]
    params: list[ParamInfo]
    work: int  # total inner-loop iterations, to decide on threading

    def __str__(self) -> str:
        lines = [f"kernel {self.name}"]
        depth = 1
        for i, ins in enumerate(self.instrs):
            if ins.op is L.END:
                depth -= 1
            lines.append(f"{'  ' * depth}%{i} = {ins.op.value} {ins.dtype.name} {list(ins.src)} {ins.arg}")
            if ins.op is L.RANGE:
                depth += 1
        return "\n".join(lines)


# ---- the loop tree of a linear program ----
@dataclass(eq=False)  # compared and hashed by identity
class LoopNode:
    start: int                                  # index of the RANGE instruction
    body: list = field(default_factory=list)   # instruction indices and nested LoopNodes, in order
    end: int = -1


def loop_tree(prog: LinearProgram) -> list:
    """The program's top level as a list of instruction indices and LoopNodes (each holding its body alike)."""
    root: list = []
    stack, opened = [root], []
    for i, ins in enumerate(prog.instrs):
        if ins.op is L.RANGE:
            node = LoopNode(i)
            stack[-1].append(node)
            stack.append(node.body)
            opened.append(node)
        elif ins.op is L.END:
            opened.pop().end = i
            stack.pop()
        else:
            stack[-1].append(i)
    return root


def loops_in(items: list) -> list[LoopNode]:
    return [x for x in items if isinstance(x, LoopNode)]


def walk_loops(items: list) -> Iterator[LoopNode]:
    """Every loop of a loop tree, each before the loops inside it (an explicit stack: no recursion limit)."""
    stack = list(reversed(loops_in(items)))
    while stack:
        x = stack.pop()
        yield x
        stack.extend(reversed(loops_in(x.body)))


def loop_kind(prog: LinearProgram, loop: LoopNode) -> LoopKind:
    """Global or reduce: the kind its RANGE instruction declares."""
    return prog.instrs[loop.start].arg.kind


def loop_size(prog: LinearProgram, loop: LoopNode) -> int:
    """The loop's trip count."""
    return prog.instrs[loop.start].arg.size


def nested_chain(prog: LinearProgram, loop: LoopNode) -> tuple[list[LoopNode], list[int], list]:
    """A perfectly nested chain of same-kind loops from `loop` (pure instructions between levels allowed):
    the chain, the instructions between its levels, and the innermost body."""
    chain, between = [loop], []
    cur = loop
    while True:
        inner = loops_in(cur.body)
        if len(inner) != 1 or cur.body[-1] is not inner[0] or loop_kind(prog, inner[0]) is not loop_kind(prog, loop):
            break
        others = [i for i in cur.body[:-1]]
        if any(prog.instrs[i].op in (L.ACC, L.STORE, L.UPDATE) for i in others):
            break
        between.extend(others)
        chain.append(inner[0])
        cur = inner[0]
    return chain, between, cur.body


def reduce_updates(prog: LinearProgram, loop: LoopNode) -> list[tuple[int, Any]]:
    """(accumulator, reduce op) of every accumulator declared before `loop` and updated inside it."""
    out = {}
    for i in range(loop.start, loop.end):
        ins = prog.instrs[i]
        if ins.op is L.UPDATE and ins.src[0] < loop.start:
            out[ins.src[0]] = ins.arg
    return list(out.items())


def global_size(prog: LinearProgram) -> int:
    """How many threads a flat GPU launch of this program needs: one per iteration of all global loops."""
    return math.prod(ins.arg.size for ins in prog.instrs if ins.op is L.RANGE and ins.arg.kind is LoopKind.GLOBAL)
