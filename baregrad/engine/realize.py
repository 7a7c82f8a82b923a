"""Run lazy graphs: canonicalize, fetch or build the schedule, compile its kernels (cached), launch them."""
from __future__ import annotations

import time
import weakref
from typing import Any

from baregrad import config, stats
from baregrad.device import Device
from baregrad.engine import capture
from baregrad.engine.buffer import Buffer
from baregrad.engine.schedule import KernelStep, ScheduleTemplate, build_schedule, slot_node
from baregrad.errors import StaleReadError
from baregrad.ir.node import Node, tick_write_clock, write_clock
from baregrad.ir.ops import MOVEMENT, Op
from baregrad.profile import profiler, progress
from baregrad.profile.profiler import kernel_cost

_SCHEDULES: dict[tuple, ScheduleTemplate] = {}
_PROGRAMS: dict[tuple[str, Node], tuple[Any, str]] = {}


_EPOCH = [0]
_BUFFER, _ASSIGN = Op.BUFFER, Op.ASSIGN  # bound once: Op.X is slow on Python 3.11 (see ir/ops.py)


def bump_epoch() -> None:
    """Some buffer was written in place (an assign, a JIT replay): computed values may now be stale."""
    _EPOCH[0] += 1


def _memo(node: Node, device: Device | None = None) -> Buffer | None:
    """A computed node keeps its buffer, so tensors sharing the node do not recompute it -- until an in-place
    write could have changed its inputs. A done ASSIGN stays done: it names the buffer it wrote.
    Nodes are hash-consed across devices (a constant graph is the same node everywhere): a buffer computed on
    another device is not a memo for this one."""
    # the memo holds its buffer weakly: it serves only while some tensor still holds the result, and never keeps
    # a large buffer alive by itself (nodes live on in the hash-consing table until it is swept)
    buf = node.buffer() if node.buffer is not None else None
    if buf is None or node.op is _ASSIGN:
        return buf
    if device is not None and buf.device is not device:
        return None
    # while the JIT records, everything must really run, or the replay would miss those kernels
    if node.memo_epoch == _EPOCH[0] and capture.active() is None:
        return buf
    return None


_SLOT_NODES: dict[tuple, Node] = {}
_POST = object()  # canonicalize's stack marker: the node below it has had its sources visited


def _slot_node(index: int, d: Any, shape: tuple[int, ...]) -> Node:
    """schedule.slot_node, memoized: canonicalize asks for one per input on every realize, and building the frozen
    Slot and hashing it (dataclass __hash__ and __eq__ run in Python) costs more than this lookup."""
    key = (index, d, shape)
    node = _SLOT_NODES.get(key)
    if node is None:
        if len(_SLOT_NODES) > 100_000:  # many distinct shapes (growing sequence lengths): start again
            _SLOT_NODES.clear()
        node = _SLOT_NODES[key] = slot_node(index, d, shape)
    return node


def canonicalize(targets: list[Node], assigns: list[Node] | None = None,
                 device: Device | None = None) -> tuple[tuple[Node, ...], list[Buffer]]:
    """Replace every realized buffer by a numbered slot, in first-visit order (realized subtrees are not walked).

    ASSIGN nodes met on the way are appended to `assigns`: once the schedule has run they are done, and must
    be remembered as done so that a later graph containing them does not write the same update twice.
    This walk runs on every realize (an eager op is one), so it is written for speed: the memo is consulted
    only for nodes that were ever computed, and leafless operands (a broadcast constant: Node.leafless) are
    their own canonical form, not walked and not served from the memo (a kernel recomputes them for free).
    """
    memo: dict[Node, Node] = {}
    inputs: list[Buffer] = []
    slot_index: dict[int, int] = {}
    stack: list[Any] = list(targets)
    stack.reverse()
    clock, set_up_before_a_write = write_clock(), []
    while stack:
        node = stack.pop()
        if node is _POST:  # everything below the node under this marker is canonical: rebuild it over that
            node = stack.pop()
            if node.stamp < clock:
                set_up_before_a_write.append(node)
            src = node.src
            canonical_src = tuple(map(memo.__getitem__, src))  # map: a comprehension builds a function on 3.11
            memo[node] = node if canonical_src == src else Node(node.op, node.dtype, canonical_src, node.arg)
            if node.op is _ASSIGN and assigns is not None:
                assigns.append(node)
            continue
        if node in memo:
            continue
        if node.op is _BUFFER:
            buf = node.arg
        else:
            buf = _memo(node, device) if node.buffer is not None else None
        if buf is not None:
            k = slot_index.get(id(buf))
            if k is None:
                k = slot_index[id(buf)] = len(inputs)
                inputs.append(buf)
            memo[node] = _slot_node(k, node.dtype, node.shape)
        elif not node.src:
            memo[node] = node  # a constant or an index source: nothing below it to replace
        else:
            stack.append(node)
            stack.append(_POST)
            for s in reversed(node.src):
                if s not in memo:
                    if s.leafless:  # nothing below to replace, and recomputed in the kernel rather than loaded
                        memo[s] = s
                    else:
                        stack.append(s)
    if set_up_before_a_write:
        check_stale_reads(set_up_before_a_write)
    return tuple(map(memo.__getitem__, targets)), inputs


def check_stale_reads(nodes: list[Node]) -> None:
    """Raise if one of `nodes` computes from a buffer (directly or through views of it) that was written in place
    after the node was set up: the values it stands for are gone. torch computes such a tensor at once and keeps
    the old result; a lazy graph would silently use the new values. A view alone follows its buffer, as in torch."""
    for node in nodes:
        if node.op in MOVEMENT or node.op is _ASSIGN:
            continue  # a view sees writes to its base; an ASSIGN is itself the write
        for src in node.src:
            leaf = src
            while leaf.op in MOVEMENT:
                leaf = leaf.src[0]
            if leaf.op is _BUFFER and leaf.arg.written_at > node.stamp:
                buf = leaf.arg
                raise StaleReadError(
                    f"a lazy tensor ({node.op.name} {node.dtype.name}{list(node.shape or ())}) reads a "
                    f"{buf.dtype.name}{list(buf.shape)} buffer that was written in place (assign, an optimizer "
                    "step) after the tensor was set up, so the values it was computed from are gone. Realize it "
                    "before the write (e.g. logits.realize(), or a hidden state carried to the next step, before "
                    "optimizer.step()), or compute it again after.")


def realize(targets: list[Node], device: Device) -> list[Buffer]:
    """Compute the target nodes on `device` and return their buffers (shaped like the nodes)."""
    prof = profiler.ACTIVE  # read once: a realize is recorded whole or not at all
    if prof is not None:
        prof.realize_begin(device)
    assigns: list[Node] = []
    canonical, inputs = canonicalize(targets, assigns, device)
    if prof is not None:
        prof.canonicalized()
    key = (device.name, canonical)
    template = _SCHEDULES.get(key)
    if template is None:
        template = build_schedule(canonical, len(inputs), device.kernel_options)
        _SCHEDULES[key] = template
        if prof is not None:  # before the compiles: their spans are the compile phase's, not scheduling's
            prof.scheduled(cached=False, n_kernels=len(template.steps))
        _precompile(template, device)
    elif prof is not None:
        prof.scheduled(cached=True, n_kernels=len(template.steps))
    outputs = run_schedule(template, inputs, device)
    if prof is not None:
        prof.realize_end(template, len(inputs))
    for node, canon, buf in zip(targets, canonical, outputs):
        if node.op is not _BUFFER:
            if canon.op is _BUFFER:  # served from the memo: another tensor already holds this buffer
                buf.shared = True
            node.buffer, node.memo_epoch = weakref.ref(buf), _EPOCH[0]
    if assigns:
        tick, written = tick_write_clock(), [node.src[0].arg for node in assigns]
        for node, buf in zip(assigns, written):
            node.buffer = weakref.ref(buf)
            buf.written_at = tick
        capture.record_writes(written)  # a JIT replay writes them again
        bump_epoch()  # after the targets: they may have been computed before the writes
    return outputs


def note_external_write(buffers: list[Buffer]) -> None:
    """Buffers were written in place outside a kernel (a collective wrote their host memory): stamp them as an
    assign's write is stamped, so a lazy tensor set up before the write raises StaleReadError instead of reading
    the new values, and memoized results computed from them are not handed out again."""
    tick = tick_write_clock()
    for buf in buffers:
        buf.written_at = tick
    bump_epoch()


def _precompile(template: ScheduleTemplate, device: Device) -> None:
    """A new schedule's kernels, compiled before the first launch where that helps: on several threads where the
    device compiles in separate processes (a model's first call: every kernel at once), under a progress bar when
    there are many. Rendering stays on this thread (a renderer keeps per-kernel state); only compiles overlap."""
    todo = list({s.ast: s for s in template.steps
                 if (s.program is None or s.source == "") and (device.name, s.ast) not in _PROGRAMS}.values())
    if len(todo) < 2 or (device.compile_workers <= 1 and not progress.compile_bar_wanted(len(todo))):
        return
    rendered = {s.ast: device.render(s.prog) for s in todo}
    progress.precompile(todo, lambda s: compiled(s, device, rendered[s.ast]), device.compile_workers)


def compiled(step: KernelStep, device: Device, kernel: Any = None) -> Any:
    """The step's program: from the in-process table, else rendered (unless given) and compiled (disk-cached)."""
    if step.program is None or step.source == "":
        key = (device.name, step.ast)
        cached = _PROGRAMS.get(key)
        if cached is None:
            started = profiler.ACTIVE.compile_begin() if profiler.ACTIVE is not None else None
            kernel = kernel if kernel is not None else device.render(step.prog)
            if config.DEBUG >= 4:
                print(kernel.source)
            if config.DEBUG >= 5:
                print(step.prog)
            cached = _PROGRAMS[key] = (device.compile(kernel, step.prog), kernel.source)
            if started is not None and profiler.ACTIVE is not None:
                profiler.ACTIVE.compiled(step.name, started, kernel.source)
        step.program, step.source = cached
    return step.program


def run_schedule(template: ScheduleTemplate, inputs: list[Buffer], device: Device) -> list[Buffer]:
    """Allocate the template's buffers (lazily: a Buffer gets memory at its first launch) and launch its kernels.

    Slots are list positions: inputs first, then the buffers the schedule allocates (schedule._try_schedule numbers
    them n_inputs, n_inputs + 1, ... in the order of slot_specs)."""
    buffers: list[Buffer | None] = inputs + [Buffer(device, d, shape) for d, shape in template.slot_specs.values()]
    debug = config.DEBUG
    recording = capture.active() is not None
    start = time.perf_counter() if debug else 0.0
    free_after = template.free_after
    for i, step in enumerate(template.steps):
        program = step.program
        if program is None or step.source == "":
            program = compiled(step, device)
        if debug >= 3:
            print(step.ast)
        t0 = time.perf_counter() if debug >= 2 else 0.0
        args = [buffers[s] for s in step.slots]
        if profiler.ACTIVE is None:
            program(*[b.handle for b in args])
        else:
            profiler.ACTIVE.launch(step, program, args, device)
        if recording:
            capture.record_launch(program, args, device)
        if debug >= 2:
            device.synchronize()
            _print_kernel_time(step, time.perf_counter() - t0)
        if free_after:
            for slot in free_after.get(i, ()):
                buffers[slot] = None
    stats.bump("kernels", len(template.steps))
    if profiler.ACTIVE is not None:  # also for schedules run without realize() (a model's captured step plan)
        profiler.ACTIVE.record_schedule(template, device.name)
    if debug and template.steps:
        device.synchronize()
        print(f"realize: {len(template.steps)} kernels in {(time.perf_counter() - start) * 1e3:.3f} ms")
    return [buffers[s] for s in template.target_slots]


def _print_kernel_time(step: KernelStep, seconds: float) -> None:
    cost = kernel_cost(step.prog)
    print(f"  {step.name:<30} {seconds * 1e6:9.1f} us  {cost.flops / seconds / 1e9:8.2f} GFLOP/s(est) "
          f"{cost.nbytes / seconds / 1e9:8.2f} GB/s")


def clear_caches() -> None:
    _SCHEDULES.clear()
    _PROGRAMS.clear()


# canonicalize, compiled and run_schedule serve the engine's own modules (replay); above it, replay.capture does that
__all__ = ["bump_epoch", "check_stale_reads", "clear_caches", "note_external_write", "realize"]
