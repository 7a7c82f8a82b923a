"""A device buffer: dtype, element count, the logical shape it was realized with, and its memory."""
from __future__ import annotations

import math
from typing import Any

from baregrad import dtype as dt
from baregrad.device import Device
from baregrad.device.allocator import on_memory_pressure
from baregrad.errors import DeviceError
from baregrad.ir.node import sweep
from baregrad.profile import memory, profiler

# dead tensors' buffers can still be held by graph nodes in the hash-consing table: before a device asks for more
# memory, release them (into its cache)
on_memory_pressure(sweep)


class Buffer:
    __slots__ = ("device", "dtype", "shape", "size", "nbytes", "_handle", "shared", "written_at", "origin",
                 "__weakref__")

    def __init__(self, device: Device, d: dt.DType, shape: tuple[int, ...], handle: Any = None):
        self.device, self.dtype, self.shape = device, d, tuple(shape)
        self.size = math.prod(shape)
        self.nbytes = self.size * d.itemsize
        self._handle = handle
        self.shared = False  # handed to a second owner by the engine's memo: copy before writing in place
        self.written_at = 0  # write-clock tick of its last write in place (ir.node.tick_write_clock); 0: never
        self.origin: Any = ""  # who made it (kernel, user's line), recorded while a profiler runs (profile/memory.py)

    @property
    def handle(self) -> Any:
        if self._handle is None:
            try:
                self._handle = self.device.alloc(self.nbytes)
            except (MemoryError, DeviceError) as e:
                if not memory.is_out_of_memory(e):
                    raise
                raise memory.out_of_memory(self.device.name, self.nbytes, e) from e
            memory.on_alloc(self)
        return self._handle

    @property
    def allocated(self) -> bool:
        return self._handle is not None

    def copyin(self, data: bytes | memoryview) -> "Buffer":
        if profiler.ACTIVE is None:
            self.device.copyin(self.handle, data)
        else:
            profiler.ACTIVE.copy(self, "to device", lambda: self.device.copyin(self.handle, data))
        return self

    def to_bytes(self) -> bytes:
        from baregrad.engine.capture import forbid_sync
        forbid_sync("a copy to the host")
        self.device.synchronize()
        if profiler.ACTIVE is not None:
            return profiler.ACTIVE.copy(self, "to host", lambda: self.device.copyout(self.handle, self.nbytes))
        return self.device.copyout(self.handle, self.nbytes)

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            try:
                memory.on_free(self)
                self.device.free(handle, self.nbytes)
            except Exception:  # noqa: BLE001 - never raise from a finalizer (e.g. at interpreter exit)
                pass

    def __repr__(self) -> str:
        return f"<Buffer {self.device.name} {self.dtype.name}{list(self.shape)}>"


memory.track_buffer_type(Buffer)  # for bg.memory_summary()'s list of live buffers


__all__ = ["Buffer"]
