"""Run lazy graphs: canonicalize, fetch or build the schedule, compile its kernels (cached), launch them."""
from __future__ import annotations

import time
import weakref
from typing import Any

from baregrad import config, stats
from baregrad.device import Device
from baregrad.engine import capture
from baregrad.engine.buffer import Buffer
from baregrad.engine.schedule import KernelStep, ScheduleTemplate, Slot, build_schedule, slot_node
from baregrad.ir.node import Node
from baregrad.ir.ops import Op

_SCHEDULES: dict[tuple, ScheduleTemplate] = {}
_PROGRAMS: dict[tuple[str, Node], tuple[Any, str]] = {}


_EPOCH = [0]


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
    if buf is None or node.op is Op.ASSIGN:
        return buf
    if device is not None and buf.device is not device:
        return None
    # while the JIT records, everything must really run, or the replay would miss those kernels
    if node.memo_epoch == _EPOCH[0] and capture.active() is None:
        return buf
    return None


def canonicalize(targets: list[Node], assigns: list[Node] | None = None,
                 device: Device | None = None) -> tuple[tuple[Node, ...], list[Buffer]]:
    """Replace every realized buffer by a numbered slot, in first-visit order (realized subtrees are not walked).

    ASSIGN nodes met on the way are appended to `assigns`: once the schedule has run they are done, and must
    be remembered as done so that a later graph containing them does not write the same update twice.
    """
    memo: dict[Node, Node] = {}
    inputs: list[Buffer] = []
    slot_index: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(t, False) for t in reversed(targets)]
    while stack:
        node, children_done = stack.pop()
        if node in memo:
            continue
        buf = node.arg if node.op is Op.BUFFER else _memo(node, device)
        if buf is not None:
            k = slot_index.get(id(buf))
            if k is None:
                k = slot_index[id(buf)] = len(inputs)
                inputs.append(buf)
            memo[node] = slot_node(k, node.dtype, node.shape)
            continue
        if not children_done:
            stack.append((node, True))
            stack.extend((s, False) for s in reversed(node.src) if s not in memo)
            continue
        src = tuple(memo[s] for s in node.src)
        memo[node] = node if src == node.src else Node(node.op, node.dtype, src, node.arg)
        if node.op is Op.ASSIGN and assigns is not None:
            assigns.append(node)
    return tuple(memo[t] for t in targets), inputs


def realize(targets: list[Node], device: Device) -> list[Buffer]:
    """Compute the target nodes on `device` and return their buffers (shaped like the nodes)."""
    assigns: list[Node] = []
    canonical, inputs = canonicalize(targets, assigns, device)
    key = (device.name, canonical)
    template = _SCHEDULES.get(key)
    if template is None:
        template = build_schedule(canonical, len(inputs), device.kernel_options)
        _SCHEDULES[key] = template
    outputs = run_schedule(template, inputs, device)
    for node, canon, buf in zip(targets, canonical, outputs):
        if node.op is not Op.BUFFER:
            if canon.op is Op.BUFFER:  # served from the memo: another tensor already holds this buffer
                buf.shared = True
            node.buffer, node.memo_epoch = weakref.ref(buf), _EPOCH[0]
    for node in assigns:
        node.buffer = weakref.ref(node.src[0].arg)
    if assigns:
        bump_epoch()  # after the targets: they may have been computed before the writes
    return outputs


def compiled(step: KernelStep, device: Device) -> Any:
    if step.program is None or step.source == "":
        key = (device.name, step.ast)
        cached = _PROGRAMS.get(key)
        if cached is None:
            source = device.render(step.prog)
            if config.DEBUG >= 4:
                print(source)
            if config.DEBUG >= 5:
                print(step.prog)
            cached = _PROGRAMS[key] = (device.compile(source, step.prog), source)
        step.program, step.source = cached
    return step.program


def run_schedule(template: ScheduleTemplate, inputs: list[Buffer], device: Device) -> list[Buffer]:
    buffers: dict[int, Buffer] = dict(enumerate(inputs))
    for slot, (d, shape) in template.slot_specs.items():
        buffers[slot] = Buffer(device, d, shape)
    start = time.perf_counter() if config.DEBUG else 0.0
    for i, step in enumerate(template.steps):
        program = compiled(step, device)
        if config.DEBUG >= 3:
            print(step.ast)
        t0 = time.perf_counter()
        args = [buffers[s] for s in step.slots]
        program(*[b.handle for b in args])
        stats.bump("kernels")
        capture.record_launch(program, args, device)
        if config.DEBUG >= 2:
            device.synchronize()
            _print_kernel_time(step, time.perf_counter() - t0)
        for slot in template.free_after.get(i, ()):
            del buffers[slot]
    if config.DEBUG and template.steps:
        device.synchronize()
        print(f"realize: {len(template.steps)} kernels in {(time.perf_counter() - start) * 1e3:.3f} ms")
    return [buffers[s] for s in template.target_slots]


def _print_kernel_time(step: KernelStep, seconds: float) -> None:
    nbytes = sum(p.size * p.dtype.itemsize for p in step.prog.params)
    flops = step.prog.work
    print(f"  {step.name:<30} {seconds * 1e6:9.1f} us  {flops / seconds / 1e9:8.2f} GFLOP/s(est) "
          f"{nbytes / seconds / 1e9:8.2f} GB/s")


def clear_caches() -> None:
    _SCHEDULES.clear()
    _PROGRAMS.clear()


__all__ = ["realize", "canonicalize", "clear_caches", "Slot"]
