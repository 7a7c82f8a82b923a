"""Memory objects of the mock kernel module: RM-allocated ones live in a memfd (so CPU mmaps alias the mock's own
view), OS-descriptor ones are the caller's pages."""
from __future__ import annotations

import ctypes
import os

from ..kernel_iface import MAP_SHARED, PROT_READ, PROT_WRITE, sys_mmap, sys_munmap


class MockMemory:
    """One memory object; `view(offset, n)` is the mock GPU's window onto its bytes."""

    def __init__(self, size: int, host_addr: int | None = None, usermode: bool = False):
        self.size, self.usermode, self.fd = size, usermode, -1
        if host_addr is None:
            self.fd = os.memfd_create("baregrad-mock-nv", os.MFD_CLOEXEC)
            os.ftruncate(self.fd, size)
            self.addr = sys_mmap(0, size, PROT_READ | PROT_WRITE, MAP_SHARED, self.fd, 0)
        else:
            self.addr = host_addr

    def view(self, offset: int, n: int) -> memoryview:
        if offset < 0 or offset + n > self.size:
            raise LookupError(f"0x{offset:x}+0x{n:x} outside a 0x{self.size:x}-byte memory object")
        return memoryview((ctypes.c_char * n).from_address(self.addr + offset)).cast("B")

    def release(self) -> None:
        if self.fd >= 0:
            sys_munmap(self.addr, self.size)
            os.close(self.fd)
            self.fd = -1
