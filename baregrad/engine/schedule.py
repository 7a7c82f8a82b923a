"""Scheduling: split a lazy graph into kernels, and cache the result by the graph's structure.

A graph is first canonicalized: realized buffers become numbered slots, so two graphs of the same
structure (a repeated training step, the same op on new data) are the same hash-consed node and hit the
same cached schedule, with no rewrite or compile. Kernel boundaries are the targets, `contiguous`,
`assign`, and any reduce that the consumer would otherwise recompute (see linear.redundant_reduces); on a GPU,
a long reduce with few outputs is split in two kernels first (codegen/gpu_split.py).
Everything else fuses: elementwise chains, a reduce with its prologue and epilogue, softmax.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from baregrad import dtype as dt
from baregrad.codegen.gpu_split import split_long_reduces
from baregrad.codegen.linear import LinearProgram, linearize, param_node, redundant_reduces
from baregrad.codegen.lower import lower_kernel
from baregrad.codegen.opt import KernelOptions, optimize
from baregrad.codegen.pack import pack_simd_operands
from baregrad.ir.node import Node
from baregrad.ir.ops import ELEMENTWISE, MOVEMENT, Op
from baregrad.profile import profiler


@dataclass(frozen=True)
class Slot:
    """A numbered buffer in a canonical graph: inputs first, then the buffers the schedule creates."""
    index: int
    shape: tuple[int, ...]


@dataclass
class KernelStep:
    name: str
    ast: Node
    prog: LinearProgram
    slots: tuple[int, ...]     # the buffer slot of each kernel parameter, in order
    program: Any = None        # the compiled callable
    source: str = ""
    point: Node | None = None  # the graph node this kernel computes (the profiler's graph view reads it)


@dataclass
class ScheduleTemplate:
    n_inputs: int
    steps: list[KernelStep]
    slot_specs: dict[int, tuple[dt.DType, tuple[int, ...]]]  # slots the schedule allocates
    target_slots: list[int]
    free_after: dict[int, list[int]] = field(default_factory=dict)  # step -> intermediate slots dead after it


def slot_node(index: int, d: dt.DType, shape: tuple[int, ...]) -> Node:
    return Node(Op.BUFFER, d, (), Slot(index, shape))


def build_schedule(targets: tuple[Node, ...], n_inputs: int, opts: KernelOptions | None = None) -> ScheduleTemplate:
    opts = opts or KernelOptions()
    started = time.perf_counter() if profiler.ACTIVE is not None else 0.0
    # GPUs only: a long reduce with few outputs becomes a partial kernel and a finishing one (codegen/gpu_split.py)
    targets = split_long_reduces(targets, opts)
    # SIMD CPUs only: large matmuls read B from packed panels, convolutions a padded copy (codegen/pack.py)
    targets = pack_simd_operands(targets, opts)
    if profiler.ACTIVE is not None:  # the profiler's "rewrite" phase: graph rewrites before fusion
        profiler.ACTIVE.rewrote("graph", time.perf_counter() - started)
    forced = broadcast_recomputes(targets)
    forced |= nested_reduce_boundaries(targets, forced)
    steps: dict[tuple[Node, Node, Node], KernelStep | set[Node]] = {}  # kept across tries: most steps recur
    for _ in range(1000):
        template = _try_schedule(targets, n_inputs, forced, opts, steps)
        if isinstance(template, ScheduleTemplate):
            return template
        forced |= template
    raise RuntimeError("scheduling did not converge")


# Ops whose recomputation costs far more than a load: a reduce must not evaluate them once per broadcast copy
EXPENSIVE = frozenset({Op.EXP, Op.EXP2, Op.LOG, Op.LOG2, Op.SIN, Op.COS, Op.TANH, Op.ERF, Op.POW})
MIN_BROADCAST = 8  # a broadcast this wide (or wider) of expensive work into a reduce gets its own kernel
_FUSABLE = ELEMENTWISE | MOVEMENT


def broadcast_recomputes(targets: tuple[Node, ...]) -> set[Node]:
    """Elementwise results with an expensive op that a reduce would recompute for every copy of a broadcast.

    A matmul is a reduce over a broadcast product; when an operand is computed (a softmax gradient under a weight
    gradient: exp over batch x classes, broadcast over the hidden units), fusing it into the matmul evaluates
    the exp once per hidden unit per element. Such operands are realized first, in a kernel of their own."""
    forced: set[Node] = set()
    seen: set[Node] = set()
    for reduce in Node(Op.SINK, dt.bool_, targets).toposort():
        if reduce.op is not Op.REDUCE:
            continue
        stack = [reduce.src[0]]
        while stack:
            node = stack.pop()
            if node in seen or node.leafless or node.op not in _FUSABLE:
                continue
            seen.add(node)
            if node.op is Op.EXPAND and math.prod(node.shape) >= MIN_BROADCAST * math.prod(node.src[0].shape):
                root = _below_movement(node.src[0])
                inner = _expensive_work(root) if root.op in ELEMENTWISE and not root.leafless else None
                if inner is not None:
                    # its reduces too: the root's kernel and the graph's other users would each compute them
                    forced |= {root} | inner
                    continue
            stack.extend(node.src)
    return forced


def nested_reduce_boundaries(targets: tuple[Node, ...], realized: set[Node]) -> set[Node]:
    """Reduces that another reduce reads at an index moving with its own reduce loop: fused, they would be computed
    again on every iteration of that loop (a convolution reading the previous convolution), so each gets a kernel.

    This is decided on the tensor graph, before any lowering: for each reduce, its fused body is walked with, per
    dimension, whether the index there moves with the reduce's loop (movement ops carry that mask down). A nested
    reduce reached with a moving dimension is a boundary. A reduce that is only broadcast along the loop (softmax's
    max under its sum, layernorm's mean) is not: it is computed once per row, and stays fused. The check after
    lowering (linear.redundant_reduces) remains the exact one; this pass only spares it the common cases, which
    otherwise cost a lowering of the whole fused graph per boundary found."""
    forced: set[Node] = set()
    stop = set(realized)
    for root in Node(Op.SINK, dt.bool_, targets).toposort():  # producers first: inner boundaries end outer walks
        if root.op is not Op.REDUCE:
            continue
        axes = root.arg[1]
        start = tuple(i in axes and s > 1 for i, s in enumerate(root.src[0].shape))
        seen: set[tuple[Node, tuple[bool, ...]]] = set()
        # each entry: a node, which of its dimensions move with root's loop, and the top of the elementwise run it
        # sits in (the run's own result, through views only): the best node to realize, see _boundary_for
        stack: list[tuple[Node, tuple[bool, ...], Node | None]] = [(root.src[0], start, None)]
        while stack:
            node, moving, run_top = stack.pop()
            if (node, moving) in seen or node in stop or node.leafless or not any(moving):
                continue
            seen.add((node, moving))
            if node.op is Op.REDUCE:
                if any(m and s > 1 for m, s in zip(moving, node.shape)):
                    boundary = _boundary_for(node, run_top, stop)
                    forced.add(boundary)
                    stop.add(boundary)
                    continue
                inner = tuple(m and i not in node.arg[1] for i, m in enumerate(moving))
                stack.append((node.src[0], inner, None))
            elif node.op in MOVEMENT:
                keeps_run = node.op in _VIEW_OPS and run_top is not None
                stack.append((node.src[0], _moving_below(node, moving), run_top if keeps_run else None))
            elif node.op in ELEMENTWISE:
                top = run_top if run_top is not None else node
                stack.extend((s, moving, top) for s in node.src)
            elif node.op is Op.GATHER:  # the gathered axis moves with the data: take every dimension as moving
                stack.append((node.src[1], moving, None))
                stack.append((node.src[0], tuple(True for _ in node.src[0].shape), None))
            # buffers, constants, contiguous and assign end the walk: they are read, not recomputed
    return forced


# views that neither repeat nor drop elements: an elementwise run seen through them is still one value per element
_VIEW_OPS = frozenset({Op.RESHAPE, Op.PERMUTE, Op.FLIP})


def _boundary_for(reduce: Node, run_top: Node | None, realized_here: set[Node]) -> Node:
    """What to realize for a reduce that its consumer would recompute: the elementwise run on top of it (a conv's
    BatchNorm and ReLU, a linear layer's bias and GELU) when that run has one value per element of the reduce, so
    the epilogue is computed once, in the reduce's kernel, instead of once per read in the consumer's inner loop."""
    if run_top is not None and math.prod(run_top.shape) == math.prod(reduce.shape) and \
            reduce in run_top.toposort(boundary=realized_here):
        return run_top
    return reduce


def _moving_below(node: Node, moving: tuple[bool, ...]) -> tuple[bool, ...]:
    """Which dimensions of a movement op's source move with the loop, given which of its output's do."""
    op, in_shape = node.op, node.src[0].shape
    if op is Op.PERMUTE:
        out = [False] * len(in_shape)
        for i, axis in enumerate(node.arg):
            out[axis] = moving[i]
        return tuple(out)
    if op is Op.EXPAND:
        return tuple(m and s == o for m, s, o in zip(moving, in_shape, node.shape))
    if op is Op.RESHAPE:
        return _reshape_moving(in_shape, node.shape, moving)
    return moving  # pad, shrink, flip keep dimensions in place


def _reshape_moving(in_shape: tuple[int, ...], out_shape: tuple[int, ...],
                    moving: tuple[bool, ...]) -> tuple[bool, ...]:
    """Dimensions are matched in groups of equal size products; a group moves in full if any part of it moves."""
    out = [False] * len(in_shape)
    i = j = 0
    while i < len(in_shape) or j < len(out_shape):
        gi, gj, pi, pj = [], [], 1, 1
        while True:
            if pi <= pj and i < len(in_shape):
                gi.append(i)
                pi *= in_shape[i]
                i += 1
            elif j < len(out_shape):
                gj.append(j)
                pj *= out_shape[j]
                j += 1
            else:
                break
            if pi == pj and (i == len(in_shape) or in_shape[i] != 1) and (j == len(out_shape) or out_shape[j] != 1):
                break
        if any(moving[k] and out_shape[k] > 1 for k in gj):
            for k in gi:
                out[k] = True
    return tuple(out)


def _below_movement(node: Node) -> Node:
    while node.op in MOVEMENT:
        node = node.src[0]
    return node


def _expensive_work(node: Node) -> set[Node] | None:
    """The reduces the elementwise work computing `node` reads, if that work contains an EXPENSIVE op; else None."""
    stack, seen, reduces, expensive = [node], set(), set(), False
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if n.op is Op.REDUCE:
            reduces.add(n)
        elif n.op in _FUSABLE:
            expensive = expensive or n.op in EXPENSIVE
            stack.extend(n.src)
    return reduces if expensive else None


def _realize_points(targets: tuple[Node, ...], forced: set[Node]) -> list[Node]:
    """Nodes that get a buffer of their own, in an order where producers come first."""
    wanted = set(forced) | set(targets)
    order = Node(Op.SINK, dt.bool_, targets).toposort()
    for node in order:
        if node.op in (Op.CONTIGUOUS, Op.ASSIGN):
            wanted.add(node)
    points = [n for n in order if n in wanted and not _is_slot(n)]
    # in-place writes go as late as they can: a kernel that does not read an assign's result must see the
    # buffer as it was before the write, whatever order the targets were given in
    after_assign: set[Node] = set()
    for node in order:
        if node.op is Op.ASSIGN or any(s in after_assign for s in node.src):
            after_assign.add(node)
    before = [n for n in points if n not in after_assign]
    return before + [n for n in points if n in after_assign]


def _is_slot(node: Node) -> bool:
    return node.op is Op.BUFFER and isinstance(node.arg, Slot)


def _try_schedule(targets: tuple[Node, ...], n_inputs: int, forced: set[Node], opts: KernelOptions,
                  made: dict[tuple[Node, Node, Node], KernelStep | set[Node]]) -> ScheduleTemplate | set[Node]:
    points = _realize_points(targets, forced)
    slot_of: dict[Node, Node] = {}
    specs: dict[int, tuple[dt.DType, tuple[int, ...]]] = {}
    steps: list[KernelStep] = []
    next_slot = n_inputs
    for point in points:
        if point.op is Op.ASSIGN:
            out = point.src[0]
            value = point.src[1]
        else:
            out = slot_node(next_slot, point.dtype, point.shape)
            specs[next_slot] = (point.dtype, point.shape)
            next_slot += 1
            value = point.src[0] if point.op is Op.CONTIGUOUS else point
            if math.prod(point.shape) == 0:
                # nothing to compute: an empty buffer needs no kernel (and a 0-trip loop is not lowerable)
                slot_of[point] = out
                continue
        graph, original = _substitute(value, slot_of, point)
        key = (graph, out, point)
        step = made.get(key)
        if step is None:
            step = made[key] = _make_step(graph, out, point, opts)
        if isinstance(step, set):
            # the step names nodes of the substituted graph; forcing works on the caller's nodes
            return {original.get(n, n) for n in step}
        steps.append(step)
        slot_of[point] = out
    target_slots = [t.arg.index if _is_slot(t) else slot_of[t].arg.index for t in targets]
    template = ScheduleTemplate(n_inputs, steps, specs, target_slots)
    _plan_frees(template)
    return template


def _substitute(value: Node, slot_of: dict[Node, Node], point: Node) -> tuple[Node, dict[Node, Node]]:
    """value with already-realized nodes replaced by their slots, and a map from new nodes to the originals."""
    memo: dict[Node, Node] = {}
    for node in value.toposort(boundary=slot_of):
        if node in slot_of and node is not point:
            memo[node] = slot_of[node]
            continue
        src = tuple(memo[s] for s in node.src)
        memo[node] = node if src == node.src else Node(node.op, node.dtype, src, node.arg)
    return memo[value], {new: old for old, new in memo.items()}


# A kernel reading more buffers or running more reduce loops than this is split: past it the C compiler's time
# grows faster than the work (an unrolled RNN's input gradient, a sum of 1000 padded slices, took minutes to build).
MAX_KERNEL_PARTS = 64


def oversized_kernel_splits(nodes: list[Node]) -> set[Node]:
    """Nodes to realize so that no kernel reads more than MAX_KERNEL_PARTS buffers and reduces: walking producers
    first, a node whose operands together exceed the budget has its largest operands computed in kernels of
    their own. Counts add over operands (shared parts count twice), which only splits a little early."""
    parts: dict[Node, int] = {}
    splits: set[Node] = set()
    for node in nodes:
        own = 1 if node.op is Op.REDUCE or _is_slot(node) else 0
        sizes = sorted(((parts[s], i) for i, s in enumerate(node.src) if s in parts), reverse=True)
        total = own + sum(n for n, _ in sizes)
        for n, i in sizes:
            if total <= MAX_KERNEL_PARTS:
                break
            src = node.src[i]
            if n > 1 and src.op in _FUSABLE | {Op.REDUCE} and not src.leafless:
                splits.add(src)
                total -= n - 1
        parts[node] = total
    return splits


@dataclass(frozen=True)
class _KernelShape:
    """A kernel built for a graph whose buffers are numbered locally (0 = the output, then first use), so that every
    graph of the same structure (a network's repeated blocks, the steps of an unrolled loop) shares one lowering."""
    name: str
    ast: Node
    prog: LinearProgram
    params: tuple[int, ...]  # the local buffer number of each kernel parameter, in order


_KERNEL_SHAPES: dict[tuple, "_KernelShape | set[Node]"] = {}


def _make_step(graph: Node, out: Node, point: Node, opts: KernelOptions) -> KernelStep | set[Node]:
    local_graph, local_out, slots, original = _number_locally(graph, out)
    key = (local_graph, local_out, point.op is Op.ASSIGN, point.shape, opts)
    shape = _KERNEL_SHAPES.get(key)
    if shape is None:
        if len(_KERNEL_SHAPES) > 20_000:  # a long-running process with ever-new graphs: start again
            _KERNEL_SHAPES.clear()
        started = time.perf_counter() if profiler.ACTIVE is not None else 0.0
        shape = _KERNEL_SHAPES[key] = _make_kernel_shape(local_graph, local_out, point, opts)
        if profiler.ACTIVE is not None:  # the profiler's "rewrite" phase: lowering and simplifying a new kernel
            profiler.ACTIVE.rewrote("kernels", time.perf_counter() - started)
    if isinstance(shape, set):
        return {original.get(n, n) for n in shape}
    return KernelStep(shape.name, shape.ast, shape.prog, tuple(slots[i] for i in shape.params), point=point)


def _number_locally(graph: Node, out: Node) -> tuple[Node, Node, list[int], dict[Node, Node]]:
    """graph and out with their slots renumbered 0 (out), 1, 2, ... in order of first use; the global slot of each
    local number; and a map from the renumbered graph's nodes back to graph's."""
    local: dict[int, int] = {out.arg.index: 0}
    slots = [out.arg.index]
    memo: dict[Node, Node] = {}
    for node in graph.toposort():
        if _is_slot(node):
            i = local.get(node.arg.index)
            if i is None:
                i = local[node.arg.index] = len(slots)
                slots.append(node.arg.index)
            memo[node] = slot_node(i, node.dtype, node.shape)
            continue
        src = tuple(memo[s] for s in node.src)
        memo[node] = node if src == node.src else Node(node.op, node.dtype, src, node.arg)
    local_out = slot_node(0, out.dtype, out.shape)
    return memo[graph], local_out, slots, {new: old for old, new in memo.items()}


def _make_kernel_shape(graph: Node, out: Node, point: Node, opts: KernelOptions) -> _KernelShape | set[Node]:
    """Lower, check, optimize and linearize one kernel; or the nodes of `graph` that must be realized first."""
    nodes = graph.toposort()
    splits = oversized_kernel_splits(nodes)
    if splits:
        return splits
    params: dict[Node, Node] = {}
    out_param = param_node(0, math.prod(out.shape), out.dtype)
    if out in nodes:
        params[out] = out_param  # an assign reading the buffer it writes
    for node in nodes:
        if _is_slot(node) and node not in params:
            params[node] = param_node(node.arg.index, math.prod(node.shape), node.dtype)
    has_reduce = any(n.op is Op.REDUCE for n in nodes)
    lowered = lower_kernel(graph, out_param, params, point.shape, has_reduce)
    # the kernel's own reduce is computed where it is stored; only reduces below it can move out
    bad = {lowered.reduce_origin[r] for r in redundant_reduces(lowered.sink, lowered.global_vars)} - {graph}
    if bad:
        return bad
    if point.op is Op.ASSIGN and _assign_hazard(lowered.sink, params.get(out)):
        return {graph}  # the assigned value: computed into a buffer of its own first
    sink = optimize(lowered.sink, lowered.global_vars, opts)
    name = ("r" if has_reduce else "e") + "_" + "_".join(str(s) for s in point.shape or (1,))
    prog = linearize(sink.sink, name, sink.global_vars)
    # lowering may fold a load away (an empty buffer): launch exactly the params the program kept
    return _KernelShape(name, sink.sink, prog, tuple(p.index for p in prog.params))


def _assign_hazard(sink: Node, target_param: Node | None) -> bool:
    """True if the value reads the assigned buffer at any index other than the one it writes."""
    if target_param is None:
        return False
    store = sink.src[0]
    return any(n.op is Op.LOAD and n.src[0] is target_param and n.src[1] is not store.src[1]
               for n in sink.toposort())


def _plan_frees(template: ScheduleTemplate) -> None:
    last_use: dict[int, int] = {}
    for i, step in enumerate(template.steps):
        for s in step.slots:
            last_use[s] = i
    keep = set(template.target_slots)
    for slot, step in last_use.items():
        if slot in template.slot_specs and slot not in keep:
            template.free_after.setdefault(step, []).append(slot)


# nothing: the schedule is the engine's own business; above the engine, realize or replay a graph instead
__all__: list[str] = []
