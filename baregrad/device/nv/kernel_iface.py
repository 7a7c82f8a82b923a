"""The kernel interface: the only door between the driver and the operating system.

The driver never calls os.open/ioctl/mmap itself; it holds one object with open, close, ioctl, mmap, munmap and
mmio_write32. `RealKernel` forwards to libc; `baregrad.device.nv.mock.MockKernel` answers the same calls with an
in-process fake of NVIDIA's kernel module. MMIO writes (the doorbell) go through here so a fake can observe them.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Protocol

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

    def mmio_write32(self, addr: int, value: int) -> None:
        ctypes.c_uint32.from_address(addr).value = value
