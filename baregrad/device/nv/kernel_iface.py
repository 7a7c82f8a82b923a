"""The kernel interface: the only door between the driver and the operating system.

The driver never calls os.open/ioctl/mmap itself; it holds one object with open, close, ioctl, mmap, munmap,
mmio_write32 and mmio_register. `RealKernel` forwards to libc; `baregrad.device.nv.mock.MockKernel` answers the
same calls with an in-process fake of NVIDIA's kernel module. MMIO writes (the doorbell) go through here so a fake
can observe them.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Protocol, TextIO

from ... import config

PROT_READ, PROT_WRITE = 0x1, 0x2
MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x10, 0x20
MAP_NORESERVE, MAP_FIXED_NOREPLACE = 0x4000, 0x100000
MAP_FAILED = ctypes.c_void_p(-1).value


class KernelInterface(Protocol):
    """What the driver needs from the OS; every method raises OSError on failure, like the syscall would."""

    def open(self, path: str) -> int: ...
    def close(self, fd: int) -> None: ...
    def ioctl(self, fd: int, request: int, arg: ctypes.Structure | ctypes.Array) -> None: ...
    def mmap(self, addr: int, length: int, prot: int, flags: int, fd: int, offset: int = 0) -> int: ...
    def munmap(self, addr: int, length: int) -> None: ...
    def mmio_write32(self, addr: int, value: int) -> None: ...
    def mmio_register(self, addr: int) -> ctypes.c_uint32: ...  # assigning its .value writes the register


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
    return libc


LIBC = _libc()


def _raise_errno(what: str) -> None:
    err = ctypes.get_errno()
    raise OSError(err, f"{what}: {os.strerror(err)}")


def sys_mmap(addr: int, length: int, prot: int, flags: int, fd: int, offset: int = 0) -> int:
    """mmap(2); with MAP_FIXED_NOREPLACE a kernel that ignores the flag is caught by comparing the address."""
    got = LIBC.mmap(addr or None, length, prot, flags, fd, offset)
    if got in (None, MAP_FAILED):
        _raise_errno(f"mmap(0x{addr:x}, 0x{length:x})")
    if addr and flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) and got != addr:
        LIBC.munmap(got, length)
        raise OSError(17, f"mmap landed at 0x{got:x}, not the planned 0x{addr:x}")
    return got


def sys_munmap(addr: int, length: int) -> None:
    if LIBC.munmap(addr, length) != 0:
        _raise_errno(f"munmap(0x{addr:x}, 0x{length:x})")


class RealKernel:
    """Forwards to the real NVIDIA kernel module through libc."""

    def open(self, path: str) -> int:
        return os.open(path, os.O_RDWR | os.O_CLOEXEC)

    def close(self, fd: int) -> None:
        os.close(fd)

    def ioctl(self, fd: int, request: int, arg: ctypes.Structure | ctypes.Array) -> None:
        if LIBC.ioctl(fd, request, ctypes.addressof(arg)) != 0:
            _raise_errno(f"ioctl(fd {fd}, 0x{request:x})")

    def mmap(self, addr: int, length: int, prot: int, flags: int, fd: int, offset: int = 0) -> int:
        return sys_mmap(addr, length, prot, flags, fd, offset)

    def munmap(self, addr: int, length: int) -> None:
        sys_munmap(addr, length)

    def __init__(self) -> None:
        self.mmio: dict[int, ctypes.c_uint32] = {}  # one ctypes view per register address (the doorbell)

    def mmio_write32(self, addr: int, value: int) -> None:
        self.mmio_register(addr).value = value

    def mmio_register(self, addr: int) -> ctypes.c_uint32:
        reg = self.mmio.get(addr)
        if reg is None:
            reg = self.mmio[addr] = ctypes.c_uint32.from_address(addr)
        return reg


NV_MAGIC, RM_CONTROL, RM_ALLOC, RM_FREE = ord("F"), 0x2A, 0x2B, 0x29
TRACE_PARAM_BYTES, TRACE_UVM_BYTES = 1024, 64


class _RmCall(ctypes.Structure):
    """The leading fields NVOS21 (alloc) and NVOS54 (control) share in layout: 4 words, a pointer, size, status."""
    _fields_ = [("w0", ctypes.c_uint32), ("w1", ctypes.c_uint32), ("w2", ctypes.c_uint32), ("w3", ctypes.c_uint32),
                ("params", ctypes.c_uint64), ("size", ctypes.c_uint32), ("status", ctypes.c_uint32)]


class TracingKernel:
    """Wraps a kernel interface and logs every ioctl and mmap in the format of bench/ioctl_trace.c.

    Set BAREGRAD_NV_TRACE=path to trace the driver; diffing the log against the shim's log of libcuda shows where
    our calls differ from NVIDIA's user-mode driver (classes, parameter bytes, statuses).
    """

    def __init__(self, inner: KernelInterface, out: TextIO):
        self.inner, self.out = inner, out
        self.paths: dict[int, str] = {}

    def open(self, path: str) -> int:
        fd = self.inner.open(path)
        self.paths[fd] = path
        self.out.write(f"OPEN {path} -> fd={fd}\n")
        return fd

    def close(self, fd: int) -> None:
        self.inner.close(fd)

    def ioctl(self, fd: int, request: int, arg: ctypes.Structure | ctypes.Array) -> None:
        size = (request >> 16) & 0x3FFF
        is_uvm = (request >> 8) & 0xFF != NV_MAGIC
        before = bytes(memoryview(arg).cast("B"))[:TRACE_UVM_BYTES if is_uvm else 256]
        params = self._params(request, arg) if not is_uvm else b""
        try:
            self.inner.ioctl(fd, request, arg)
            ret = 0
        except OSError as e:
            ret = -(e.errno or 1)
            raise
        finally:
            self.out.write(f"fd={fd} ret={ret} {self._describe(request, arg, before, size, params, is_uvm)}\n")
            self.out.flush()

    @staticmethod
    def _params(request: int, arg: ctypes.Structure | ctypes.Array) -> bytes:
        if request & 0xFF not in (RM_ALLOC, RM_CONTROL):
            return b""
        call = _RmCall.from_buffer_copy(bytes(memoryview(arg).cast("B"))[:ctypes.sizeof(_RmCall)])
        n = min(call.size, TRACE_PARAM_BYTES)
        return ctypes.string_at(call.params, n) if call.params and n else b""

    @staticmethod
    def _describe(request: int, arg: ctypes.Structure | ctypes.Array, before: bytes, size: int, params: bytes,
                  is_uvm: bool) -> str:
        after = bytes(memoryview(arg).cast("B"))
        if is_uvm:
            return f"UVM cmd=0x{request:x} in={before.hex()} out={after[:len(before)].hex()}"
        nr = request & 0xFF
        if nr in (RM_ALLOC, RM_CONTROL):
            c = _RmCall.from_buffer_copy(after[:ctypes.sizeof(_RmCall)])
            if nr == RM_ALLOC:
                text = f"ALLOC parent=0x{c.w1:x} new=0x{c.w2:x} class=0x{c.w3:x} psize={c.size} status=0x{c.status:x}"
                return text + (f" params={params.hex()}" if params else "")
            text = f"CTRL obj=0x{c.w1:x} cmd=0x{c.w2:x} psize={c.size} status=0x{c.status:x}"
            return text + (f" in={params.hex()}" if params else "")
        if nr == RM_FREE:
            words = [int.from_bytes(after[i:i + 4], "little") for i in range(0, 16, 4)]
            return f"FREE parent=0x{words[1]:x} handle=0x{words[2]:x} status=0x{words[3]:x}"
        return f"ESC nr=0x{nr:x} size={size} in={before.hex()} out={after[:len(before)].hex()}"

    def mmap(self, addr: int, length: int, prot: int, flags: int, fd: int, offset: int = 0) -> int:
        got = self.inner.mmap(addr, length, prot, flags, fd, offset)
        if fd >= 0:
            self.out.write(f"MMAP fd={fd} addr=0x{addr:x} len=0x{length:x} prot={prot} flags=0x{flags:x} "
                           f"off=0x{offset:x} -> 0x{got:x}\n")
        return got

    def munmap(self, addr: int, length: int) -> None:
        self.inner.munmap(addr, length)

    def mmio_write32(self, addr: int, value: int) -> None:
        self.inner.mmio_write32(addr, value)

    def mmio_register(self, addr: int) -> ctypes.c_uint32:
        return self.inner.mmio_register(addr)

    def __getattr__(self, name: str) -> object:  # the mock's extras (twins, inspection) stay reachable
        return getattr(self.inner, name)


def traced(kernel: KernelInterface) -> KernelInterface:
    """`kernel`, wrapped in a TracingKernel when BAREGRAD_NV_TRACE names a file."""
    path = config.nv_trace_path()
    return TracingKernel(kernel, open(path, "a")) if path else kernel
