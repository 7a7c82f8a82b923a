"""The profiler: `with bg.profile() as prof:` records what each realize did and how long it took.

Engine and device call the hooks below through one guarded call each (`if profiler.ACTIVE is not None:`), so
with profiling off they cost one global lookup and nothing is allocated. While a Profiler is active it records,
per realize: graph rewrites, scheduling (cache hit or miss), compiles (in-memory, disk-cache hit or miss), every
kernel launch with its time, FLOPs and bytes, buffer allocations and frees with the live total, and host-device
copies. Reports (table, trace) give each kernel's achieved GFLOP/s and GB/s also as % of its device's peak
(device/peak.py), looked up only then.

Kernel time: the wall time of the call after a synchronize (CPU, LLVM, OpenCL, WebGPU); on devices that offer
device timestamps (CUDA events via `time_ms`, NV semaphore timestamps) those are used instead (see device_seconds).
This module imports nothing above `device`: engine objects (KernelStep, Buffer) are read by their attributes.
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from baregrad import stats

ACTIVE: Profiler | None = None  # the recording profiler; engine/device hooks test this before calling in

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


MEMORY_ARGS = ("bytes", "live", "dtype", "shape", "kernel")  # the fields of an alloc/free event's args tuple


@dataclass(frozen=True)
class KernelCost:
    """What a kernel does, estimated from its linear program: FLOPs and bytes moved. Bytes: per buffer, the elements
    its loads touch and those its stores touch, each at most the buffer's size (a buffer is read, or written, once:
    caches serve the repeats) -- so a gather of one embedding row counts that row, not the table; an elementwise add
    of n floats counts 3n. A FLOP is one floating-point arithmetic instruction (ALU op or reduce update) per lane
    per loop iteration: a matmul's multiply and accumulate are 2 per k step, an add of n floats is n; index
    arithmetic (integers) is not counted. `flop_class` (device/peak.py: fp64, fp32, fp16) is the class of the dtype
    most FLOPs are done in, or "" when there are none; a kernel that reads half or bfloat16 parameters counts as
    fp16 (GPUs run such products on their half-precision tensor cores even when they accumulate in float).
    DEBUG=2 prints the same figures."""
    flops: int
    nbytes: int
    flop_class: str = ""


_FLOP_CLASS = {"float64": "fp64", "float32": "fp32", "float16": "fp16", "bfloat16": "fp16"}


def kernel_cost(prog: Any) -> KernelCost:
    """The FLOP and byte estimate of a codegen LinearProgram (its instructions weighted by loop trip counts)."""
    per_class: dict[str, int] = {}
    touched: dict[tuple[int, str], int] = {}  # (PARAM instruction, "load" or "store") -> elements, uncapped
    trips, outer = 1, []
    for ins in prog.instrs:
        kind = ins.op.value
        if kind == "range":
            outer.append(trips)
            trips *= ins.arg.size
        elif kind == "end":
            trips = outer.pop() if outer else 1
        elif kind == "alu" or kind == "update":
            d = ins.dtype.elem or ins.dtype
            cls = _FLOP_CLASS.get(d.name)
            if cls is not None:
                per_class[cls] = per_class.get(cls, 0) + trips * ins.dtype.lanes
        elif kind == "load" or kind == "store":
            key = (ins.src[0], kind)
            touched[key] = touched.get(key, 0) + trips * ins.dtype.lanes
    nbytes = 0
    for (param, _), elements in touched.items():
        info = prog.instrs[param].arg
        nbytes += min(elements, info.size) * info.dtype.itemsize
    flops = sum(per_class.values())
    cls = max(per_class, key=per_class.__getitem__) if flops else ""
    if cls and any(_FLOP_CLASS.get(p.dtype.name) == "fp16" for p in prog.params):
        cls = "fp16"
    return KernelCost(flops, nbytes, cls)


@dataclass(slots=True)
class Event:
    """One span or instant on a track. ts/dur in microseconds since the profiler started."""
    name: str
    cat: str              # realize | rewrite | schedule | compile | kernel | copy | alloc | free | jit | native
    ts: float
    dur: float = 0.0
    track: str = "host"   # host, or the device's name for device-side spans
    args: Any = field(default_factory=dict)  # a dict; alloc/free: a MEMORY_ARGS tuple (see trace.event_args)


@dataclass
class KernelRecord:
    """A kernel as the viz shows it: names, program text, generated source and the node it computes."""
    name: str
    source_hash: str
    program: str
    source: str
    reason: str


@dataclass
class ScheduleRecord:
    """A schedule (one per distinct graph): its kernels and the tensor graph it was cut from."""
    sid: int
    device: str
    kernels: list[KernelRecord]
    nodes: list[dict[str, Any]]  # {id, op, dtype, shape, kernel (index or -1), src: [ids]}


class Profiler:
    """Context manager collecting events; see prof.table(), prof.export_chrome_trace(path), prof.viz_data()."""

    def __init__(self, graphs: bool = True, record_shapes: bool = True) -> None:
        self.graphs = graphs  # also keep each schedule's tensor graph and kernel sources (for the viz page)
        self.record_shapes = record_shapes
        self.raw: list[tuple] = []  # Event fields as tuples: a tuple is several times cheaper to make per launch
        self.schedules: dict[int, ScheduleRecord] = {}  # id(template) -> record
        self._templates: list[Any] = []  # keeps recorded templates alive so their ids stay unique
        self.origin = time.perf_counter()
        self._device_clock: dict[str, float] = {}  # device -> end of its last span (device spans never overlap)
        # the realize in progress: (start, device), or None. Realizes do not nest; one that raised is replaced by
        # the next realize_begin, so a failure never leaves stale state behind
        self._realize: tuple[float, Any] | None = None
        self.current_kernel = ""
        self._lookup_us: float | None = None  # time to find a cached schedule, for the realize span
        self._canonical_at = 0.0  # when the realize in progress had its graph canonicalized
        self._rewrites = {"graph": 0.0, "kernels": 0.0}  # us of rewrite passes run while scheduling (rewrote)
        self.caller = ""  # file:line of the user's code that asked for the realize in progress
        self._step_info: dict[int, tuple[Any, dict[str, Any]]] = {}  # id(step) -> (step, its kernel_args)
        self._previous: Profiler | None = None
        self.stopped = False
        self._peaks: dict[str, Any] = {}  # device name -> its device.peak.Peak or None, looked up when reporting
        self._devices: dict[str, Any] = {}  # device name -> the Device its kernels ran on (asked for its peak)

    # ---- lifetime ----
    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Self:
        global ACTIVE
        self._previous, ACTIVE = ACTIVE, self
        self.stopped = False
        return self

    def stop(self) -> None:
        global ACTIVE
        if ACTIVE is self:
            ACTIVE = self._previous
        self.stopped = True

    def now(self) -> float:
        """Microseconds since the profiler started."""
        return (time.perf_counter() - self.origin) * 1e6

    # ---- hooks (called by engine/realize.py, engine/buffer.py, tensor_jit.py) ----
    def realize_begin(self, device: Any) -> None:
        self._realize = (t0 := self.now(), device)
        self._canonical_at = t0
        self._rewrites["graph"] = self._rewrites["kernels"] = 0.0
        self.caller = _user_frame()  # buffers this realize allocates were asked for by the same line

    def canonicalized(self) -> None:
        """The realize's graph was canonicalized (realized buffers replaced by slots: its first rewrite)."""
        self._canonical_at = self.now()

    def rewrote(self, kind: str, seconds: float) -> None:
        """Scheduling ran a rewrite pass: "graph" (split long reduces, pack SIMD operands: before fusion) or
        "kernels" (a new kernel lowered to index algebra, simplified, loop-optimized and linearized)."""
        self._rewrites[kind] += seconds * 1e6

    def realize_end(self, template: Any, n_inputs: int) -> None:
        if self._realize is None:
            return
        (t0, device), self._realize = self._realize, None
        sid = self.record_schedule(template, device.name)
        self.raw.append(("realize", "realize", t0, self.now() - t0, "host",
                         {"kernels": len(template.steps), "schedule": sid, "inputs": n_inputs,
                          "caller": self.caller, "schedule_cached_us": self._lookup_us}))
        self._lookup_us = None
        self.caller = ""

    def scheduled(self, cached: bool, n_kernels: int) -> None:
        """Rewrites and scheduling done (from the start of the realize). Every realize gets a "rewrite" span: the
        canonicalization, and on a fresh schedule the rewrite passes scheduling ran. A fresh schedule is a span of
        its own too; a cached one (every repeated op) only notes the lookup's time in the realize span's arguments.

        Scheduling calls its rewrites as it goes (a kernel is lowered when fusion has decided it), so the two phases
        interleave; the trace lays them out as two adjacent spans with the measured totals, rewrite first, so that
        phases never overlap and the table's totals are the trace's."""
        now = self.now()
        t0 = self._realize[0] if self._realize is not None else now
        canonical_at = min(max(self._canonical_at, t0), now)
        graph, kernels = self._rewrites["graph"], self._rewrites["kernels"]
        rewrite_us = min(canonical_at - t0 + graph + kernels, now - t0)
        self.raw.append(("rewrite", "rewrite", t0, rewrite_us, "host",
                         {"canonicalize_us": canonical_at - t0, "graph_us": graph, "kernels_us": kernels}))
        if cached:
            self._lookup_us = now - canonical_at
            return
        self.raw.append(("schedule", "schedule", t0 + rewrite_us, now - t0 - rewrite_us, "host",
                         {"cache_hit": False, "kernels": n_kernels}))

    def compile_begin(self) -> tuple[float, int]:
        """When a render + compile starts, and the disk cache's compile count then (it grows on a miss)."""
        return self.now(), stats.counters().get("compiles", 0)

    def compiled(self, name: str, started: tuple[float, int], source: str) -> None:
        t0, disk_compiles_before = started
        miss = stats.counters().get("compiles", 0) > disk_compiles_before
        self.raw.append((f"compile {name}", "compile", t0, self.now() - t0, "host",
                         {"kernel": name, "disk_cache": "miss" if miss else "hit",
                          "source_hash": source_hash(source)}))

    def launch(self, step: Any, program: Callable[..., Any], args: list[Any], device: Any) -> None:
        """Run one kernel and record it: host span of the call, device span of its execution."""
        self.current_kernel = step.name
        handles = [b.handle for b in args]
        t0 = self.now()
        seconds = device_seconds(device, program, handles)
        t1 = self.now()
        known = self._step_info.get(id(step))
        if known is None or known[0] is not step:  # once per kernel: a loop launches the same steps again
            known = self._step_info[id(step)] = (step, self.kernel_args(step, program, args, device))
        info = known[1]  # shared by every launch of the step; the trace adds GFLOP/s and GB/s from each duration
        # the host span (the call as Python saw it) and the device span share their arguments
        self.raw.append((step.name, "kernel", t0, t1 - t0, "host", info))
        start = max(t0, self._device_clock.get(device.name, 0.0))
        self._device_clock[device.name] = start + seconds * 1e6
        self.raw.append((step.name, "kernel", start, seconds * 1e6, device.name, info))
        self.current_kernel = ""

    def kernel_args(self, step: Any, program: Any, args: list[Any], device: Any) -> dict[str, Any]:
        """What every launch of this kernel shares: its cost estimate, source hash, buffer shapes, launch dims.
        (A step's buffer shapes are fixed: the schedule it belongs to is cached by the inputs' shapes.)"""
        cost = kernel_cost(step.prog)
        self._devices.setdefault(device.name, device)
        info: dict[str, Any] = {"flops": cost.flops, "bytes": cost.nbytes, "flop_class": cost.flop_class,
                                "source_hash": source_hash(step.source), "timing": TIMING.get(device.name, "wall")}
        if self.record_shapes:
            info.update(shapes=[b.shape for b in args], dtypes=[b.dtype.name for b in args],
                        launch=launch_dims(program))
        return info

    def timed(self, name: str, run: Callable[[], Any], device: Any) -> Any:
        """Run work launched outside the schedules (a model's hand-written native kernels) and record it as a
        "native" span on the device track (wall time after a synchronize)."""
        t0 = self.now()
        result = run()
        device.synchronize()
        self.raw.append((name, "native", t0, self.now() - t0, device.name, {}))
        return result

    def replayed(self, n_kernels: int, t0: float, device_name: str) -> None:
        """A JIT replay: its kernels run as one batch, so they are one span (their count in args)."""
        self.raw.append(("jit replay", "jit", t0, self.now() - t0, "host",
                         {"kernels": n_kernels, "device": device_name}))

    def allocated(self, buf: Any, live: int) -> None:
        """buf got device memory; `live` is its device's live total after (profile/memory.py keeps it)."""
        # a tuple, not a dict: one of these per buffer, made into a dict (MEMORY_ARGS) only when the trace is written
        self.raw.append(("alloc", "alloc", self.now(), 0.0, buf.device.name,
                         (buf.nbytes, live, buf.dtype, buf.shape, self.current_kernel)))

    def freed(self, buf: Any, live: int) -> None:
        self.raw.append(("free", "free", self.now(), 0.0, buf.device.name,
                         (buf.nbytes, live, buf.dtype, buf.shape, self.current_kernel)))

    @property
    def peak(self) -> dict[str, int]:
        """Per device, the most bytes live at any allocation while profiling."""
        peaks: dict[str, int] = {}
        for fields in self.raw:
            if fields[1] == "alloc":
                peaks[fields[4]] = max(peaks.get(fields[4], 0), fields[5][1])
        return peaks

    def current_origin(self) -> tuple[str, str]:
        """Who is making a buffer now: the kernel being launched and the user's line that asked for it (a tuple:
        formatted only if a memory report asks, see memory.describe_origin)."""
        return self.current_kernel, self.caller or _user_frame()

    def copy(self, buf: Any, direction: str, run: Callable[[], Any]) -> Any:
        """Run a host-device copy of buf and record it ("to device" or "to host")."""
        t0 = self.now()
        result = run()
        self.copied(buf, direction, t0)
        return result

    def copied(self, buf: Any, direction: str, t0: float) -> None:
        """A host->device ("to device") or device->host ("to host") copy of buf, begun at t0."""
        self.raw.append((f"copy {direction}", "copy", t0, self.now() - t0, buf.device.name,
                         {"bytes": buf.nbytes, "shape": list(buf.shape), "dtype": buf.dtype.name}))

    # ---- schedules for the viz page ----
    def record_schedule(self, template: Any, device: str) -> int:
        key = id(template)
        if key in self.schedules:
            return self.schedules[key].sid
        sid = len(self.schedules)
        kernels, nodes = ([], []) if not self.graphs else describe_schedule(template)
        self.schedules[key] = ScheduleRecord(sid, device, kernels, nodes)
        self._templates.append(template)
        return sid

    # ---- results ----
    def device_peak(self, device_name: str) -> Any:
        """The Peak (device/peak.py) of a device this profile ran kernels on, or None. Asked only when a table or
        trace is made, so a calibration (the host CPU's, once per machine) never runs inside a profiled span."""
        if device_name not in self._peaks:
            device = self._devices.get(device_name)
            try:
                self._peaks[device_name] = device.peak() if device is not None else None
            except Exception:  # noqa: BLE001 - a report without "% of peak" beats no report
                self._peaks[device_name] = None
        return self._peaks[device_name]

    @property
    def events(self) -> list[Event]:
        """Everything recorded, in order, as Events."""
        return [Event(*fields) for fields in self.raw]

    def kernel_events(self) -> list[Event]:
        return [e for e in self.events if e.cat == "kernel" and e.track != "host"]

    def key_averages(self) -> list[Row]:
        from baregrad.profile.table import key_averages
        return key_averages(self)

    def table(self, sort_by: str = "total", row_limit: int = 30) -> str:
        from baregrad.profile.table import format_table
        return format_table(self, sort_by, row_limit)

    def export_chrome_trace(self, path: str) -> None:
        from baregrad.profile.trace import write_chrome_trace
        write_chrome_trace(self, path)

    def viz_data(self) -> dict[str, Any]:
        from baregrad.profile.trace import viz_data
        return viz_data(self)


def peak_shares(gflops: float, gbps: float, peak: Any, flop_class: str) -> tuple[float | None, float | None]:
    """Achieved rates as percentages of a device's Peak: (% of its GFLOP/s for the kernel's FLOP class, % of its
    memory GB/s); None where the peak (or a FLOP class) is unknown."""
    if peak is None:
        return None, None
    top = peak.gflops.get(flop_class, 0.0) if flop_class else 0.0
    return (100 * gflops / top if top > 0 else None), (100 * gbps / peak.gbps if peak.gbps > 0 else None)


def describe_peak(peak: Any) -> str:
    """A device's Peak in one line, for the table's footer and the trace's device label."""
    flops = ", ".join(f"{k} {v:,.0f}" for k, v in peak.gflops.items())
    return f"{peak.gbps:,.1f} GB/s, GFLOP/s {flops} ({peak.source})"


TIMING: dict[str, str] = {"CUDA": "cuda events", "NV": "semaphore timestamps"}


def device_seconds(device: Any, program: Callable[..., Any], handles: list[Any]) -> float:
    """Run program(*handles) and return how long it ran on the device, in seconds.

    CUDA: CUDA events around the launch on the device's stream (CUDADevice.time_ms). NV: the driver's timed
    submit, which brackets each launch with semaphore releases that write GPU nanosecond timestamps. Elsewhere:
    the wall time of the call followed by a synchronize (a CPU kernel is a blocking call). The NV path runs on the
    driver's mock in tests/profile; neither GPU path has been measured on a real GPU yet."""
    if device.name == "NV" and hasattr(program, "launches") and hasattr(device, "drv"):
        return _nv_seconds(device, program, handles)
    time_ms = getattr(device, "time_ms", None)
    if time_ms is not None:
        return time_ms(lambda: program(*handles)) / 1e3
    t0 = time.perf_counter()
    program(*handles)
    device.synchronize()
    return time.perf_counter() - t0


def _nv_seconds(device: Any, kernel: Any, handles: list[Any]) -> float:
    """Each of an NVKernel's launches through NVDriver.submit_launch(wait=True): GPU time between the timestamps
    of a semaphore release before and after the launch."""
    kernel.register_twins()
    pointers = [h.va for h in handles]
    total = 0.0
    for program, grid, block in kernel.launches:
        cb0 = program.constant_bank0(pointers, (), grid, block)
        total += device.drv.submit_launch(program, cb0, grid, block, True) or 0.0
    return total


def launch_dims(program: Any) -> list[dict[str, Any]]:
    """Grid and block of each launch of a GPU program; [] on devices without launch dimensions (CPU)."""
    if isinstance(getattr(program, "launches", None), list):  # NVKernel: (NVProgram, grid, block)
        return [{"grid": list(grid), "block": list(block)} for _, grid, block in program.launches]
    if isinstance(getattr(program, "kernels", None), list):  # CUDAProgram: (function, codegen.gpu.Launch)
        return [{"grid": list(launch.grid), "block": list(launch.block)} for _, launch in program.kernels]
    if hasattr(program, "global_"):  # OpenCL: one 1-D NDRange
        return [{"grid": [program.global_ // max(program.local, 1)], "block": [program.local]}]
    return []


def source_hash(source: str) -> str:
    import hashlib  # here: importing it costs ~20 ms (OpenSSL), and `import baregrad` must stay fast
    return hashlib.sha256(source.encode()).hexdigest()[:12] if source else ""


_INSIDE: dict[Any, bool] = {}  # code object -> whether it is baregrad's own
_SHORT_NAME: dict[Any, str] = {}  # code object -> its file's base name


def _user_frame() -> str:
    """file:line of the first caller outside the baregrad package (who asked for this realize)."""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        inside = _INSIDE.get(code)
        if inside is None:
            inside = _INSIDE[code] = code.co_filename.startswith(_PACKAGE_DIR)
        if not inside:
            name = _SHORT_NAME.get(code)
            if name is None:
                name = _SHORT_NAME[code] = os.path.basename(code.co_filename)
            return f"{name}:{frame.f_lineno}"
        frame = frame.f_back
    return "?"


def describe_schedule(template: Any) -> tuple[list[KernelRecord], list[dict[str, Any]]]:
    """The kernels of a schedule and the graph they were cut from, for the viz page (see profile/graph.py)."""
    from baregrad.profile.graph import describe
    return describe(template)


def profile(graphs: bool = True, record_shapes: bool = True) -> Profiler:
    """`with bg.profile() as prof:` records what runs inside; then prof.table(), prof.export_chrome_trace(path)."""
    return Profiler(graphs=graphs, record_shapes=record_shapes)


Row = Any  # defined in profile/table.py (kept out of this module so the hot hooks stay small)
