"""NVDriver: baregrad's public entry to its own NVIDIA driver (allocate, copy, load, launch, synchronize).

Ordering model: one device-wide timeline. Every submission, on the compute or the copy channel, releases the next
timeline value when its work is done; a submission on a different channel than the previous one first makes its
channel wait for the previous value. So work runs in the order it was issued, like a single CUDA stream.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ... import config
from ...errors import ArgumentError, DeviceError
from .abi_rm import NvNotification
from .channel import Channel
from .classes import class_name
from .commands import Commands
from .eager import EagerLaunch
from .gpu import DevicePaths, GpuContext
from .kernel_iface import KernelInterface, RealKernel, traced
from .memory import Allocation, MemKind, command_memory
from .program import NVProgram
from .qmd import QMD_SLOT_BYTES
from .ring import RingSpace
from .status_names import channel_error_text
from .suballoc import MAX_BLOCK, SlabAllocator, SlabBlock
from .timeline import Semaphore, Timeline
from .va_plan import PAGE

DEFAULT_TIMEOUT_S = 10.0
STAGING_BYTES = 4 << 20      # two halves, so one copies while the CPU fills the other
KERNARGS_BYTES = 4 << 20
DEFAULT_CACHE_BYTES = 256 << 20
# Generic-address windows of shared and local memory, above every address the VA plan hands out. Both must be
# 4 GiB aligned: sm_90 code builds a shared address from SR_SWINHI (the window's upper 32 bits) and the CTA's
# rank in its cluster, and Hopper's compute class rejects an unaligned window (seen on an H200 as
# ROBUST_CHANNEL_GR_CLASS_ERROR on the first submission with 0xFE000000; 4 GiB-aligned windows fixed it).
SHARED_WINDOW, LOCAL_WINDOW = 0xFE_0000_0000, 0xFD_0000_0000
MAX_WARPS_PER_SM, SMS_PER_TPC, MAX_TPCS = 64, 2, 128   # local-memory sizing, generous for H100/H200


@dataclass(eq=False, slots=True)
class NVBuffer:
    """GPU memory: `va` is its GPU virtual address (also its CPU address when host_visible)."""
    va: int
    nbytes: int
    host_visible: bool
    alloc: Allocation | SlabBlock = field(repr=False)  # its own RM memory object, or a block of a shared slab


class BufferCache:
    """Freed buffers kept for reuse, keyed by (allocation size, host_visible); bounded in bytes."""

    def __init__(self, limit: int):
        self.limit, self.bytes = limit, 0
        self.free: dict[tuple[int, bool], list[Allocation]] = {}
        self.order: list[Allocation] = []  # oldest first, for eviction

    def take(self, size: int, host: bool) -> Allocation | None:
        bucket = self.free.get((size, host))
        if not bucket:
            return None
        alloc = bucket.pop()
        self.order.remove(alloc)
        self.bytes -= alloc.size
        return alloc

    def put(self, alloc: Allocation, host: bool) -> list[Allocation]:
        """Keep `alloc`; returns the allocations evicted to stay under the limit (to be freed for real)."""
        self.free.setdefault((alloc.size, host), []).append(alloc)
        self.order.append(alloc)
        self.bytes += alloc.size
        evicted = []
        while self.bytes > self.limit and self.order:
            old = self.order.pop(0)
            self.free[(old.size, old.kind is MemKind.HOST)].remove(old)
            self.bytes -= old.size
            evicted.append(old)
        return evicted


def mock_requested(mock: bool | None) -> bool:
    """`mock`, or when None, whether BAREGRAD_NV_MOCK=1 asks for the mock kernel module."""
    return config.nv_mock() if mock is None else mock


class NVDriver:
    """One NVIDIA GPU driven through the kernel module (or its in-process mock)."""

    def __init__(self, device_index: int = 0, mock: bool | None = None, *, dev_root: str = "/dev",
                 timeout_s: float = DEFAULT_TIMEOUT_S, kernel: KernelInterface | None = None,
                 cache_bytes: int = DEFAULT_CACHE_BYTES):
        if kernel is None:
            if mock_requested(mock):
                from .mock import MockKernel
                kernel = MockKernel(dev_root=dev_root)
            else:
                kernel = RealKernel()
            kernel = traced(kernel)
        self.kif = kernel
        self.closed = False
        self.gpu = GpuContext(kernel, device_index, DevicePaths(dev_root))
        try:
            self._set_up(timeout_s, cache_bytes)
        except BaseException:
            self.gpu.close()
            raise

    def _set_up(self, timeout_s: float, cache_bytes: int) -> None:
        self.shared_window, self.local_window = SHARED_WINDOW, LOCAL_WINDOW
        self.local_bytes_per_thread, self.local_memory = 0, None
        mem = self.gpu.memory
        signals = mem.alloc(PAGE, MemKind.SYSMEM)
        self.timeline = Timeline(Semaphore(signals, 0), self._check_faults, self._describe, timeout_s)
        self.sem_va = self.timeline.sem.va
        self.stamp_start, self.stamp_end = Semaphore(signals, 16), Semaphore(signals, 32)
        self.compute = self.gpu.compute
        self.channels = (self.compute, self.gpu.copy)
        for ch in self.channels:
            ch.wait_value = self.timeline.wait
        self.last_channel: Channel | None = None
        self._bind_engines()
        self.staging = mem.alloc(STAGING_BYTES, MemKind.HOST)
        self.staging_view = self.staging.view()
        self.staging_busy = [0, 0]
        self.kernargs = mem.alloc(KERNARGS_BYTES, command_memory())
        self.kernargs_view = self.kernargs.view()
        self.kernargs_space = RingSpace(KERNARGS_BYTES, self.timeline.wait)
        self.cache = BufferCache(cache_bytes)
        self.slabs = SlabAllocator(mem)
        self.launch_slots = SlabAllocator(mem, command_memory())  # EagerLaunch slots
        self.retired_slots: list[tuple[SlabBlock, int]] = []

    # --- facts ---------------------------------------------------------------------------------------------
    @property
    def arch(self) -> str:
        """SM architecture, e.g. 'sm_90'."""
        return self.gpu.gr.arch

    @property
    def class_names(self) -> dict[str, str]:
        """The engine classes in use, by role."""
        c = self.gpu.classes
        return {"compute": class_name(c.compute), "copy": class_name(c.copy), "gpfifo": class_name(c.gpfifo),
                "usermode": class_name(c.usermode), "qmd": f"v{c.qmd.major}"}

    # --- submission ----------------------------------------------------------------------------------------
    def _begin(self, channel: Channel) -> Commands:
        cmds = Commands()
        if self.last_channel is not None and self.last_channel is not channel and self.timeline.last:
            cmds.acquire(self.timeline.sem.va, self.timeline.last)
        return cmds

    def _end(self, channel: Channel, cmds: Commands) -> int:
        value = self.timeline.next()
        cmds.release(self.timeline.sem.va, value)
        channel.submit(cmds, value)
        self.last_channel = channel
        return value

    def _bind_engines(self) -> None:
        c = self.gpu.classes
        compute = self._begin(self.gpu.compute).bind(1, c.compute)
        self._end(self.gpu.compute, compute.compute_windows(self.local_window, self.shared_window))
        self._end(self.gpu.copy, self._begin(self.gpu.copy).bind(4, c.copy))

    def ensure_local_memory(self, bytes_per_thread: int) -> None:
        """Give every thread at least `bytes_per_thread` of local memory (stack, spills)."""
        if bytes_per_thread <= self.local_bytes_per_thread:
            return
        self.synchronize()
        per_thread = (bytes_per_thread + 31) // 32 * 32
        per_warp = (per_thread * 32 + 0x1FF) // 0x200 * 0x200
        per_tpc = (per_warp * MAX_WARPS_PER_SM * SMS_PER_TPC + 0x7FFF) // 0x8000 * 0x8000
        new = self.gpu.memory.alloc(per_tpc * MAX_TPCS, MemKind.VIDMEM)
        self._end(self.gpu.compute, self._begin(self.gpu.compute).local_memory(new.va, per_tpc, 0xFF))
        self.synchronize()
        if self.local_memory is not None:
            self.gpu.memory.free(self.local_memory)
        self.local_memory, self.local_bytes_per_thread = new, per_thread

    def submit_launch(self, prg: NVProgram, cb0: bytes, grid: tuple[int, int, int], block: tuple[int, int, int],
                      wait: bool) -> float | None:
        """The general launch: any channel before it, optionally timed (GPU seconds) and waited for."""
        cb_size = (len(cb0) + 255) // 256 * 256
        start = self.kernargs_space.take(cb_size + QMD_SLOT_BYTES)
        cb_va, qmd_va = self.kernargs.va + start, self.kernargs.va + start + cb_size
        qmd = prg.qmd(grid, block, cb_va, len(cb0))
        view = self.kernargs_view
        view[start:start + len(cb0)] = cb0
        view[start + cb_size:start + cb_size + len(qmd)] = qmd
        cmds = self._begin(self.gpu.compute)
        if wait:
            self.stamp_start.reset()
            self.stamp_end.reset()
            cmds.release(self.stamp_start.va, 1, timestamp=True)
        cmds.launch(qmd_va)
        if wait:
            cmds.release(self.stamp_end.va, 1, timestamp=True)
        value = self._end(self.gpu.compute, cmds)
        self.kernargs_space.used_until(start, cb_size + QMD_SLOT_BYTES, value)
        if not wait:
            return None
        self.timeline.wait(value)
        return (self.stamp_end.timestamp_ns - self.stamp_start.timestamp_ns) / 1e9

    def launch_eager(self, launch: EagerLaunch, pointers: list[int]) -> None:
        """Queue `launch` with these buffer addresses (the common eager op: no timing, nothing to wait for) from
        the next of its prebuilt slots: the GPFIFO entry points at the slot's dwords (no pushbuffer ring, no
        Commands object)."""
        if self.last_channel is not self.compute:  # the compute channel must first wait for the copy channel
            prg = launch.program
            cb0 = prg.constant_bank0(pointers, (), launch.grid, launch.block)
            self.submit_launch(prg, cb0, launch.grid, launch.block, False)
            return
        timeline = self.timeline
        value = timeline.last + 1  # Timeline.next(), inlined (every eager op comes here), once the slot is had
        entry = launch.prepare(pointers, value, timeline)
        timeline.last = value
        self.compute.submit_entry(entry, value)

    def take_launch_slots(self, nbytes: int) -> SlabBlock:
        """Command memory for an EagerLaunch's slots (ones retired since are reused once the GPU is done)."""
        if self.retired_slots:
            reached = self.timeline.sem.value
            still_read = []
            for block, value in self.retired_slots:
                if value <= reached:
                    self.launch_slots.give(block)
                else:
                    still_read.append((block, value))
            self.retired_slots = still_read
        return self.launch_slots.take(nbytes)

    def retire_launch_slots(self, block: SlabBlock, busy_until: int) -> None:
        """An EagerLaunch's slots are no longer used; the GPU may read them until the timeline reaches busy_until."""
        if not self.closed:
            self.retired_slots.append((block, busy_until))

    # --- public API ----------------------------------------------------------------------------------------
    def alloc(self, nbytes: int, host_visible: bool = False) -> NVBuffer:
        """Allocate `nbytes` of GPU memory (video memory, or CPU-visible pinned host memory)."""
        if nbytes <= 0:
            raise ArgumentError(f"NV: cannot allocate {nbytes} bytes")
        if not host_visible and nbytes <= MAX_BLOCK:
            block = self.slabs.take(nbytes)
            return NVBuffer(block.va, nbytes, False, block)
        kind = MemKind.HOST if host_visible else MemKind.VIDMEM
        size = (nbytes + PAGE - 1) // PAGE * PAGE
        if kind is MemKind.VIDMEM and size >= 0x200000:
            size = (size + 0x1FFFFF) // 0x200000 * 0x200000
        alloc = self.cache.take(size, host_visible) or self.gpu.memory.alloc(size, kind)
        return NVBuffer(alloc.va, nbytes, host_visible, alloc)

    def free(self, buf: NVBuffer) -> None:
        """Release `buf`. Its memory is kept for reuse up to the cache limit, then returned to the kernel driver.

        Reuse needs no wait: work runs in issue order, so whoever gets the memory next writes it only after the
        work already queued has read it. Giving memory back to the kernel driver waits for the GPU first."""
        if isinstance(buf.alloc, SlabBlock):
            self.slabs.give(buf.alloc)
            return
        evicted = self.cache.put(buf.alloc, buf.host_visible)
        if evicted:
            self.synchronize()
        for old in evicted:
            self.gpu.memory.free(old)

    def trim(self) -> None:
        """Return every cached free buffer to the kernel driver (small-buffer slabs stay until close)."""
        self.synchronize()
        for alloc in list(self.cache.order):
            self.cache.take(alloc.size, alloc.kind is MemKind.HOST)
            self.gpu.memory.free(alloc)

    def copyin(self, buf: NVBuffer, src: memoryview) -> None:
        """Copy host bytes `src` into the start of `buf`."""
        src = memoryview(src).cast("B")
        self._check_size(buf, src.nbytes)
        if buf.host_visible:
            self.synchronize()
            buf.alloc.view()[:src.nbytes] = src
            return
        half = STAGING_BYTES // 2
        for i, off in enumerate(range(0, src.nbytes, half)):
            n, slot = min(half, src.nbytes - off), i % 2
            self.timeline.wait(self.staging_busy[slot])
            stage = self.staging.va + slot * half
            self.staging_view[slot * half:slot * half + n] = src[off:off + n]
            self.staging_busy[slot] = self._end(self.gpu.copy, self._begin(self.gpu.copy).copy(buf.va + off, stage, n))

    def copyout(self, dst: memoryview, buf: NVBuffer) -> None:
        """Copy the start of `buf` into host memory `dst`; returns once the bytes are there."""
        dst = memoryview(dst).cast("B")
        self._check_size(buf, dst.nbytes)
        if dst.readonly:
            raise ArgumentError("NV: copyout destination is read-only")
        if buf.host_visible:
            self.synchronize()
            dst[:] = buf.alloc.view()[:dst.nbytes]
            return
        half = STAGING_BYTES // 2
        for off in range(0, dst.nbytes, half):
            n = min(half, dst.nbytes - off)
            value = self._end(self.gpu.copy, self._begin(self.gpu.copy).copy(self.staging.va, buf.va + off, n))
            self.timeline.wait(value)
            dst[off:off + n] = self.staging_view[:n]

    def load_program(self, name: str, cubin: bytes, dynamic_shared: int = 0) -> NVProgram:
        """Load kernel `name` (an extern "C" __global__ function) from an nvcc cubin; `dynamic_shared` bytes of
        shared memory are added to what the cubin declares (`extern __shared__` arrays)."""
        return NVProgram(self, name, cubin, dynamic_shared)

    def synchronize(self) -> None:
        """Wait until all issued work is done (DeviceError on a GPU fault or timeout)."""
        self.timeline.wait(self.timeline.last)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.synchronize()
        except DeviceError:
            pass  # a faulted or hung GPU was already reported; closing abandons its work
        finally:
            self.gpu.close()

    def __enter__(self) -> NVDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- diagnostics ---------------------------------------------------------------------------------------
    def _check_size(self, buf: NVBuffer, nbytes: int) -> None:
        if nbytes > buf.nbytes:
            raise ArgumentError(f"NV: {nbytes} bytes do not fit a {buf.nbytes}-byte buffer")

    def _check_faults(self) -> None:
        """Raise if a channel's error notifier says the RM tore it down."""
        for ch in self.channels:
            note = NvNotification.from_buffer(ch.error_notifier.view())
            if note.info32 or note.status:
                raise DeviceError(f"NV: GPU fault on the {ch.name} channel: {channel_error_text(note.info32)}; "
                                  f"engine {note.info16}, notifier status 0x{note.status:x}. {self._describe()}")

    def _describe(self) -> str:
        parts = [f"{ch.name}: GPPut {ch.put % ch.rings.entries} GPGet {ch.gp_get}" for ch in self.channels]
        return "channel state " + "; ".join(parts)

