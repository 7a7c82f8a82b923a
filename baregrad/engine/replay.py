"""Capture a lazy graph's kernels once, then replay them over persistent buffers with no graph work.

For code that computes the same graph step after step over buffers it keeps (a model's decode step writing its
KV cache and scratch buffers in place), and wants neither realize's per-call graph walk nor the JIT's
record-a-whole-call semantics:

    plan = replay.capture([step.node for step in targets], device)   # schedule (cached), bind the buffers read
    outputs = plan.run()                   # launch the kernels again; the targets' buffers
    outputs = plan.run(other_inputs)       # the same kernels over other buffers of the same dtypes and shapes

`capture` canonicalizes the targets (every realized buffer becomes a numbered input slot) and fetches their
schedule from a cache keyed by device, kernel options and graph structure, so graphs of the same structure over
different buffers (the layers of a model) share one schedule and one set of compiled kernels. Nothing runs until
`run`. A graph of other shapes is another structure: capturing it gives a new plan; binding buffers of other
shapes to an existing plan raises ShapeError.

A plan whose targets all write existing buffers (assigns) allocates nothing: its kernel arguments are fixed, so
from the second run on it only calls the compiled programs. A plan that allocates (a plain lazy target) gets fresh
output buffers on every run, as realize does. While a profiler or a JIT capture is active every run goes through
the engine's launch loop, so their records see each kernel.

Unlike realize, running a plan does not mark the buffers its assigns write as written (no StaleReadError
bookkeeping) nor memoize results on graph nodes: the caller owns the buffers and knows when they change.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from baregrad import stats
from baregrad.codegen.opt import KernelOptions
from baregrad.device import Device
from baregrad.engine import capture as jit_capture
from baregrad.engine.buffer import Buffer
from baregrad.engine.realize import canonicalize, compiled, run_schedule
from baregrad.engine.schedule import ScheduleTemplate, build_schedule
from baregrad.errors import ArgumentError, DeviceError, DTypeError, ShapeError
from baregrad.ir.node import Node
from baregrad.profile import profiler

# (device name, kernel options, canonical targets) -> schedule. The device is in the key because a template's
# steps keep the program compiled for the first device that ran them.
_TEMPLATES: dict[tuple[str, KernelOptions | None, tuple[Node, ...]], ScheduleTemplate] = {}


@dataclass
class ReplayPlan:
    """The scheduled kernels of some lazy targets, bound to the buffers they read; see the module docstring."""
    schedule: ScheduleTemplate
    device: Device
    inputs: list[Buffer]  # the buffer of each input slot, in canonical order
    # allocation-free plans, once run: each kernel's program with its fixed arguments, and the targets' buffers
    _launches: list[tuple[Any, list[Any]]] | None = field(default=None, init=False, repr=False)
    _outputs: tuple[Buffer, ...] = field(default=(), init=False, repr=False)

    @property
    def allocates(self) -> bool:
        """Whether a run makes new buffers (some target is not a write into an existing one)."""
        return bool(self.schedule.slot_specs)

    @property
    def n_kernels(self) -> int:
        return len(self.schedule.steps)

    def bind(self, inputs: Sequence[Buffer]) -> None:
        """Run over `inputs` from now on: one buffer per input slot, each of the dtype, shape and device of the
        buffer it replaces (the kernels were compiled for those)."""
        if len(inputs) != len(self.inputs):
            raise ArgumentError(f"a replay plan takes {len(self.inputs)} input buffers, got {len(inputs)}")
        for i, (new, old) in enumerate(zip(inputs, self.inputs)):
            if new.device is not old.device:
                raise DeviceError(f"replay input {i}: a buffer on {new.device.name}, the plan runs on "
                                  f"{old.device.name}")
            if new.dtype != old.dtype:
                raise DTypeError(f"replay input {i}: {new.dtype.name}{list(new.shape)} where the plan was captured "
                                 f"with {old.dtype.name}{list(old.shape)}")
            if new.shape != old.shape:
                raise ShapeError(f"replay input {i}: shape {list(new.shape)} where the plan was captured with "
                                 f"{list(old.shape)}; capture the graph of the new shapes for a new plan")
        self.inputs = list(inputs)
        self._launches = None

    def run(self, inputs: Sequence[Buffer] | None = None) -> Sequence[Buffer]:
        """Launch the kernels (over `inputs`, bound first, if given) and return the targets' buffers, in order."""
        if inputs is not None:
            self.bind(inputs)
        launches = self._launches
        if launches is None or profiler.ACTIVE is not None or jit_capture.active() is not None:
            return self._run_schedule()
        for program, handles in launches:  # the hot path of a model's step: nothing but the calls
            program(*handles)
        stats.bump("kernels", len(launches))
        return self._outputs

    def _run_schedule(self) -> Sequence[Buffer]:
        """One run through the engine's launch loop (it compiles what is not yet, and profilers and JIT captures
        see each launch); then, if the plan allocates nothing, fix its kernel arguments for later runs."""
        outputs = run_schedule(self.schedule, self.inputs, self.device)
        if not self.schedule.slot_specs and self._launches is None:
            self._launches = [(compiled(step, self.device), [self.inputs[s].handle for s in step.slots])
                              for step in self.schedule.steps]
            self._outputs = tuple(outputs)
        return outputs

def capture(targets: Sequence[Node], device: Device, options: KernelOptions | None = None) -> ReplayPlan:
    """A plan that computes `targets` (lazy graph nodes on `device`) when run; nothing runs now.

    `options` are the kernel options the schedule is built with; None: the device's own, as realize uses."""
    if not targets:
        raise ArgumentError("replay.capture needs at least one target")
    opts = device.kernel_options if options is None else options
    canonical, inputs = canonicalize(list(targets), device=device)
    key = (device.name, opts, canonical)
    template = _TEMPLATES.get(key)
    if template is None:
        template = _TEMPLATES[key] = build_schedule(canonical, len(inputs), opts)
    return ReplayPlan(template, device, inputs)


def clear_caches() -> None:
    """Forget every cached schedule (plans already captured keep theirs)."""
    _TEMPLATES.clear()


__all__ = ["ReplayPlan", "capture", "clear_caches"]
