"""`baregrad.jit`: capture the kernels a function launches, then replay them with no Python graph work.

The first call with a given signature runs normally (it may initialize state and compile), the second is
run while every kernel launch is recorded, and later calls replay the recording: the launches are
re-issued with the new input buffers, fresh output buffers and fresh random numbers.

What makes a replay safe:
- the cache key holds every tensor argument's shape, dtype and device, and every other argument's value
  (an unhashable non-tensor argument raises), so a change retraces instead of replaying the wrong kernels;
- the random-number counters advance on every replay exactly as they would on a plain call;
- reading tensor data inside the function while it is captured (item(), numpy(), tolist()) raises, since
  a data-dependent Python decision cannot be replayed.
- the key also holds which arguments share a buffer (f(a, a) then f(b, c) must not replay one as the other),
  and an argument returned as an output is the new call's argument, not the captured one.
Known limit: Python values read from outside the arguments (globals, attributes) are frozen at capture.

How a replay launches, by device:
- a device with `build_replay` (NV) encodes the launches once; a replay patches input/output addresses;
- a device with `batch` (CUDA) captures them into one graph (one cuGraphLaunch per call). A graph bakes
  buffer addresses in, so the replay owns a staging buffer per input and output: on the device's queue it
  copies the new inputs in, launches the graph, copies back inputs the launches wrote (an assign into an
  argument) and copies the outputs into fresh buffers. The user's buffers are never baked in: a later call
  would overwrite an earlier result. Cost: one device copy per argument, so pass large state (weights) as
  closure or attribute state (fixed buffers), not as arguments;
- any other device re-issues each launch from Python.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

from baregrad import stats
from baregrad.engine import capture
from baregrad.engine.buffer import Buffer
from baregrad.engine.pending import pending_writes
from baregrad.engine.realize import bump_epoch
from baregrad.errors import ArgumentError, DeviceError
from baregrad.ir.node import Node, tick_write_clock
from baregrad.ir.ops import Op
from baregrad.profile import profiler


def _flatten(obj: Any, tensors: list) -> Any:
    """A picklable-ish skeleton of obj with each Tensor replaced by its position in `tensors`."""
    from baregrad.tensor import Tensor
    if isinstance(obj, Tensor):
        tensors.append(obj)
        return _Slot(len(tensors) - 1)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_flatten(o, tensors) for o in obj) if not hasattr(obj, "_fields") else \
            type(obj)(*(_flatten(o, tensors) for o in obj))
    if isinstance(obj, dict):
        return {k: _flatten(v, tensors) for k, v in obj.items()}
    return obj


def _unflatten(skeleton: Any, tensors: list) -> Any:
    if isinstance(skeleton, _Slot):
        return tensors[skeleton.index]
    if isinstance(skeleton, (list, tuple)):
        items = [_unflatten(s, tensors) for s in skeleton]
        return type(skeleton)(*items) if hasattr(skeleton, "_fields") else type(skeleton)(items)
    if isinstance(skeleton, dict):
        return {k: _unflatten(v, tensors) for k, v in skeleton.items()}
    return skeleton


@dataclass(frozen=True)
class _Slot:
    index: int


@dataclass
class _Param:
    """Where a replayed launch gets one argument: a fixed handle, an input, or a fresh output."""
    fixed: Any = None
    input_index: int = -1
    output_index: int = -1


@dataclass
class _Replay:
    launches: list[tuple[Callable[..., Any], list[_Param]]]
    draws: list[capture.RandomDraw]
    outputs: list[tuple[Any, Any, tuple[int, ...], bool]]  # (device, dtype, shape, fresh) per output tensor
    output_buffers: list[Buffer]
    skeleton: Any
    devices: list[str]
    alive: list[Any]  # every captured buffer: the fixed handles point into them
    graph: Any = None  # a device's prebuilt launch sequence (build_replay), called with the changed handles
    variable: list[tuple[int, int, _Param]] = field(default_factory=list)  # (launch, argument, source) to patch
    device_graph: _DeviceGraph | None = None  # all launches as one device graph (batch), over staging buffers
    returned_inputs: dict[int, int] = field(default_factory=dict)  # output position -> the argument it is
    written: list[Buffer | int] = field(default_factory=list)  # written in place: a Buffer, or an input index

    def mark_writes(self, inputs: list[Buffer]) -> None:
        """The replay wrote these buffers in place, as the captured call's assigns did (see check_stale_reads)."""
        if self.written:
            tick = tick_write_clock()
            for w in self.written:
                (inputs[w] if isinstance(w, int) else w).written_at = tick

    def run(self, inputs: list[Buffer]) -> Any:
        from baregrad.host_data import pack_values
        from baregrad.random import draw_words
        from baregrad.tensor import Tensor
        for draw in self.draws:
            draw.buffer.copyin(pack_values(draw_words(draw.count), draw.buffer.dtype))
        outs = [Buffer(dev, d, shape) if fresh else old
                for (dev, d, shape, fresh), old in zip(self.outputs, self.output_buffers)]
        for j, i in self.returned_inputs.items():
            outs[j] = inputs[i]

        def handle(p: _Param) -> Any:
            return p.fixed if p.fixed is not None else \
                (inputs[p.input_index].handle if p.input_index >= 0 else outs[p.output_index].handle)
        started = profiler.ACTIVE.now() if profiler.ACTIVE is not None else 0.0
        if self.device_graph is not None:
            self.device_graph.run(inputs, outs)
        elif self.graph is not None:
            self.graph([(launch, arg, handle(p)) for launch, arg, p in self.variable])
        else:
            for program, params in self.launches:
                program(*[handle(p) for p in params])
        stats.bump("kernels", len(self.launches))
        if profiler.ACTIVE is not None:
            profiler.ACTIVE.replayed(len(self.launches), started, outs[0].device.name if outs else "?")
        self.mark_writes(inputs)
        bump_epoch()
        tensors = [Tensor.from_node(Node(Op.BUFFER, b.dtype, (), b), name) for b, name in zip(outs, self.devices)]
        return _unflatten(self.skeleton, tensors)


class JitFunction:
    def __init__(self, fn: Callable[..., Any]):
        self.fn = fn
        self.calls: dict[Any, int] = {}
        self.replays: dict[Any, _Replay] = {}
        functools.update_wrapper(self, fn)

    def reset(self) -> None:
        self.calls.clear()
        self.replays.clear()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from baregrad.tensor import realize_all
        tensors: list = []
        skeleton = _flatten((args, kwargs), tensors)
        key = self._key(skeleton, tensors)
        realize_all(tensors)
        inputs = [t.node.arg for t in tensors]
        key = (key, _alias_pattern(inputs))
        replay = self.replays.get(key)
        if replay is not None:
            return replay.run(inputs)
        count = self.calls.get(key, 0)
        self.calls[key] = count + 1
        if count == 0:
            return self._run_plain(args, kwargs)
        rec = capture.start()
        try:
            out = self._run_plain(args, kwargs)
        finally:
            capture.stop()
        self.replays[key] = _build_replay(rec, inputs, out)
        return out

    def _run_plain(self, args: tuple, kwargs: dict) -> Any:
        from baregrad.tensor import realize_all
        out = self.fn(*args, **kwargs)
        produced: list = []
        _flatten(out, produced)
        # state written by the call (assign) must be written within the call, or a replay would miss it
        realize_all(produced + pending_writes())
        return out

    @staticmethod
    def _key(skeleton: Any, tensors: list) -> Any:
        signature = tuple((t.shape, t.dtype.name, t.device, t.requires_grad) for t in tensors)
        try:
            key = (repr_skeleton(skeleton), signature)
            hash(key)
        except TypeError as e:
            raise ArgumentError(f"jit: a non-tensor argument is not hashable, so it cannot key the cache: {e}") \
                from None
        return key


def _alias_pattern(inputs: list[Buffer]) -> tuple[int, ...]:
    """For each argument, the first argument with the same buffer: a replay assumes the captured aliasing."""
    first: dict[int, int] = {}
    return tuple(first.setdefault(id(b), i) for i, b in enumerate(inputs))


def repr_skeleton(skeleton: Any) -> Any:
    if isinstance(skeleton, dict):
        return tuple(sorted((k, repr_skeleton(v)) for k, v in skeleton.items()))
    if isinstance(skeleton, (list, tuple)):
        return (type(skeleton).__name__,) + tuple(repr_skeleton(s) for s in skeleton)
    hash(skeleton)
    return skeleton


def _build_replay(rec: capture.Recording, inputs: list[Buffer], out: Any) -> _Replay:
    produced: list = []
    skeleton = _flatten(out, produced)
    out_buffers = [t.node.arg for t in produced]
    input_pos = {id(b): i for i, b in enumerate(inputs)}
    fresh = _fresh_buffers(rec)
    output_pos = {id(b): j for j, b in enumerate(out_buffers) if id(b) in fresh and id(b) not in input_pos}
    launches = []
    for launch in rec.launches:
        params = []
        for b in launch.buffers:
            if id(b) in input_pos:
                params.append(_Param(input_index=input_pos[id(b)]))
            elif id(b) in output_pos:
                params.append(_Param(output_index=output_pos[id(b)]))
            else:
                params.append(_Param(fixed=b.handle))
        launches.append((launch.program, params))
    outputs = [(b.device, b.dtype, b.shape, id(b) in output_pos) for b in out_buffers]
    alive = [launch.buffers for launch in rec.launches]
    replay = _Replay(launches, rec.draws, outputs, out_buffers, skeleton, [t.device for t in produced], alive)
    replay.returned_inputs = {j: input_pos[id(b)] for j, b in enumerate(out_buffers) if id(b) in input_pos}
    replay.written = list({id(b): input_pos.get(id(b), b) for b in rec.written}.values())
    _prebuild(replay, rec, inputs)
    return replay


def _prebuild(replay: _Replay, rec: capture.Recording, inputs: list[Buffer]) -> None:
    """On a device that can encode a launch sequence once (NV: build_replay), replays only patch the buffer
    arguments that are inputs or fresh outputs; other devices re-issue each launch."""
    devices = {id(launch.device) for launch in rec.launches}
    device = rec.launches[0].device if rec.launches else None
    if len(devices) != 1:
        return
    if not hasattr(device, "build_replay"):
        if hasattr(device, "batch"):
            replay.device_graph = _DeviceGraph.build(device, replay, inputs)
        return
    replay.graph = device.build_replay([(launch.program, [b.handle for b in launch.buffers])
                                        for launch in rec.launches])
    replay.variable = [(i, j, p) for i, (_, params) in enumerate(replay.launches)
                       for j, p in enumerate(params) if p.fixed is None]


@dataclass
class _DeviceGraph:
    """A replay's launches as one device graph over staging buffers it owns (see the module docstring)."""
    device: Any
    graph: Any
    inputs: dict[int, Buffer]   # argument index -> its staging buffer
    outputs: dict[int, Buffer]  # fresh output index -> its staging buffer
    written: list[int]          # arguments the launches write in place: copied back after the graph

    @staticmethod
    def build(device: Any, replay: _Replay, inputs: list[Buffer]) -> _DeviceGraph | None:
        params = [p for _, ps in replay.launches for p in ps]
        staged_in = {p.input_index: Buffer(device, inputs[p.input_index].dtype, inputs[p.input_index].shape)
                     for p in params if p.input_index >= 0}
        staged_out = {p.output_index: Buffer(device, replay.output_buffers[p.output_index].dtype,
                                             replay.output_buffers[p.output_index].shape)
                      for p in params if p.output_index >= 0}

        def handle(p: _Param) -> Any:
            return p.fixed if p.fixed is not None else \
                (staged_in[p.input_index] if p.input_index >= 0 else staged_out[p.output_index]).handle
        try:
            graph = device.batch([(program, [handle(p) for p in ps]) for program, ps in replay.launches])
        except DeviceError:
            return None  # e.g. a launch that cannot be captured: the replay re-issues launches instead
        written = sorted({ps[0].input_index for _, ps in replay.launches if ps and ps[0].input_index >= 0})
        return _DeviceGraph(device, graph, staged_in, staged_out, written)

    def run(self, inputs: list[Buffer], outs: list[Buffer]) -> None:
        for i, stage in self.inputs.items():
            self._copy(stage, inputs[i])
        self.graph.replay()
        for i in self.written:
            self._copy(inputs[i], self.inputs[i])
        for j, stage in self.outputs.items():
            self._copy(outs[j], stage)

    def _copy(self, dst: Buffer, src: Buffer) -> None:
        if src.nbytes:
            self.device.copy(dst.handle, src.handle, src.nbytes)


def _fresh_buffers(rec: capture.Recording) -> set[int]:
    """Buffers whose first use in the recording is as a kernel's output: made during the call, not state."""
    seen: set[int] = set()
    fresh: set[int] = set()
    for launch in rec.launches:
        out, *ins = launch.buffers
        for b in ins:
            seen.add(id(b))
        if id(out) not in seen:
            fresh.add(id(out))
        seen.add(id(out))
    return fresh


def jit(fn: Callable[..., Any]) -> JitFunction:
    """Decorator: capture the kernels of `fn` on its second call per signature and replay them afterwards."""
    return JitFunction(fn)
