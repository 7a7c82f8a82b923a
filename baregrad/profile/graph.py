"""A schedule as data for the viz page: its kernels (program, source, why the scheduler cut there) and the
tensor graph they were cut from, each node tagged with the kernel that computes it.

The scheduler records on each KernelStep the graph node it computes (`step.point`); the nodes of a kernel are
those below its point down to the points of earlier kernels and the input buffers. Walks use explicit stacks.
Why a kernel ends where it does is read from its point (a target, contiguous, assign, a reduce, or expensive
elementwise work); a scheduler that records its own reason per forced node (e.g. a `reason` on KernelStep) would
make this exact, including the GPU split of long reduces and the CPU's packed matmul operands.
"""
from __future__ import annotations

from typing import Any

from baregrad.profile.profiler import KernelRecord, source_hash

MAX_NODES = 20000  # a schedule larger than this shows its kernels only (the graph view would not be readable)

REASONS = {
    "target": "an output of this realize (a tensor the caller asked for)",
    "CONTIGUOUS": "contiguous(): the graph asks for a buffer here",
    "ASSIGN": "assign: an in-place write (optimizer step, KV cache) ends a kernel",
    "reduce": "a reduce whose result a later kernel reads: fused there, it would be recomputed for every element "
              "that reads it",
    "broadcast": "expensive elementwise work (exp, log, ...) that a later reduce reads through a broadcast: computed "
                 "once here instead of once per broadcast copy",
    "unknown": "the scheduler did not record the node this kernel computes",
}


def boundary_reason(step: Any, targets: set[int]) -> str:
    point = getattr(step, "point", None)
    if point is None:
        return REASONS["unknown"]
    if point.op.name in ("CONTIGUOUS", "ASSIGN"):
        return REASONS[point.op.name]
    if step.slots and step.slots[0] in targets:
        return REASONS["target"]
    # the scheduler forces a buffer for two reasons (schedule.broadcast_recomputes, linear.redundant_reduces);
    # which one is told by the node itself until the scheduler records it (see the module docstring)
    return REASONS["reduce"] if point.op.name == "REDUCE" else REASONS["broadcast"]


def describe(template: Any) -> tuple[list[KernelRecord], list[dict[str, Any]]]:
    targets = set(template.target_slots)
    kernels = [KernelRecord(step.name, source_hash(step.source), str(step.prog), step.source,
                            boundary_reason(step, targets)) for step in template.steps]
    points = {step.point: i for i, step in enumerate(template.steps) if getattr(step, "point", None) is not None}
    if len(points) != len(template.steps):
        return kernels, []
    return kernels, _nodes(template.steps, points)


def _nodes(steps: list[Any], points: dict[Any, int]) -> list[dict[str, Any]]:
    ids: dict[Any, int] = {}
    nodes: list[dict[str, Any]] = []

    def node_id(node: Any, kernel: int) -> int:
        if node not in ids:
            ids[node] = len(nodes)
            nodes.append({"id": len(nodes), "op": node.op.name, "dtype": node.dtype.name,
                          "shape": list(node.shape or ()), "kernel": kernel, "src": [], "arg": _arg(node),
                          "point": node in points})
        return ids[node]

    for i, step in enumerate(steps):
        stack = [step.point]
        seen: set[Any] = set()
        while stack and len(nodes) < MAX_NODES:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            node_id(node, i)
            for src in node.src:
                if src.leafless and src.op.name == "CONST":
                    continue  # a broadcast constant: folded into the kernel, only clutter in the picture
                owner = points.get(src)
                if owner is not None and src is not step.point:
                    node_id(src, owner)  # the edge from another kernel's output
                elif src.op.name == "BUFFER":
                    node_id(src, -1)  # an input buffer
                else:
                    stack.append(src)
        for node in seen:  # edges once every node of this kernel has its id
            nodes[ids[node]]["src"] = [ids[s] for s in node.src if s in ids]
    return nodes


def _arg(node: Any) -> str:
    text = "" if node.arg is None else str(node.arg)
    return text if len(text) <= 60 else text[:57] + "..."
