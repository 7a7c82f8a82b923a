"""Plain host memory for devices that run on the CPU (CPU, LLVM): ctypes arrays, copied with memmove."""
from __future__ import annotations

import ctypes
from typing import Any

from baregrad.errors import DeviceError


class HostMemory:
    """Allocator methods for a Device whose buffers are ordinary process memory."""

    def alloc_raw(self, nbytes: int) -> Any:
        try:
            return (ctypes.c_char * max(nbytes, 1))()
        except MemoryError as e:
            raise DeviceError(f"{self.name} out of memory allocating {nbytes} bytes") from e

    def copyin(self, handle: Any, data: bytes | memoryview) -> None:
        # ctypes takes bytes but not memoryviews; a read-only mmap view has no address we may use, so copy
        raw = data if isinstance(data, bytes) else bytes(data)
        ctypes.memmove(handle, raw, len(raw))

    def copyout(self, handle: Any, nbytes: int) -> bytes:
        return ctypes.string_at(handle, nbytes)
