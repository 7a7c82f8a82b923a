"""Resource manager calls: allocate, control, free and CPU-map RM objects through /dev/nvidiactl.

Turns ioctl failures and non-zero NV_STATUS into DeviceError messages that name the call, class and status.
"""
from __future__ import annotations

import ctypes
from enum import IntEnum

from ...errors import DeviceError, OutOfMemoryError
from . import abi_ioctl as io
from .abi_rm import RmClass, RmControl
from .kernel_iface import KernelInterface
from .status_names import nv_status_text

# the RM's answers that mean "not enough memory" (NV_ERR_NO_MEMORY, NV_ERR_INSUFFICIENT_RESOURCES)
NO_MEMORY_STATUSES = frozenset({0x51, 0x1A})


def _name(enum: type[IntEnum], value: int) -> str:
    try:
        return f"{enum(value).name} (0x{value:x})"
    except ValueError:
        return f"0x{value:x}"


def _addr(params: ctypes.Structure | ctypes.Array | None) -> int:
    return ctypes.addressof(params) if params is not None else 0


class ResourceManager:
    """RM calls for one client on one control fd."""

    def __init__(self, kif: KernelInterface, ctl_fd: int, ctl_path: str):
        self.kif, self.ctl_fd, self.ctl_path = kif, ctl_fd, ctl_path
        self.client = 0
        self.client = self.alloc(0, RmClass.NV01_ROOT_CLIENT)

    def _ioctl(self, nr: int, arg: ctypes.Structure, what: str, fd: int | None = None) -> None:
        try:
            self.kif.ioctl(self.ctl_fd if fd is None else fd, io.nv_ioctl_number(nr, ctypes.sizeof(arg)), arg)
        except OSError as e:
            raise DeviceError(f"NV: {what} failed in the kernel driver ({self.ctl_path}): {e}") from e

    def alloc(self, parent: int, cls: int, params: ctypes.Structure | None = None, handle: int = 0) -> int:
        """Allocate an object of class `cls` under `parent`; returns its handle."""
        arg = io.NVOS21_PARAMETERS(hRoot=self.client, hObjectParent=parent, hObjectNew=handle, hClass=cls,
                                   pAllocParms=_addr(params), paramsSize=ctypes.sizeof(params) if params else 0)
        what = f"RM alloc of {_name(RmClass, cls)} under 0x{parent:x}"
        self._ioctl(io.NV_ESC_RM_ALLOC, arg, what)
        if arg.status:
            error = OutOfMemoryError if arg.status in NO_MEMORY_STATUSES else DeviceError
            raise error(f"NV: {what} returned {nv_status_text(arg.status)}")
        return arg.hObjectNew

    def control(self, obj: int, cmd: int, params: ctypes.Structure) -> ctypes.Structure:
        """Run control command `cmd` on `obj`; `params` is filled in place and returned."""
        arg = io.NVOS54_PARAMETERS(hClient=self.client, hObject=obj, cmd=cmd, params=_addr(params),
                                   paramsSize=ctypes.sizeof(params))
        what = f"RM control {_name(RmControl, cmd)} on 0x{obj:x}"
        self._ioctl(io.NV_ESC_RM_CONTROL, arg, what)
        if arg.status:
            raise DeviceError(f"NV: {what} returned {nv_status_text(arg.status)}")
        return params

    def free(self, parent: int, handle: int) -> None:
        arg = io.NVOS00_PARAMETERS(hRoot=self.client, hObjectParent=parent, hObjectOld=handle)
        self._ioctl(io.NV_ESC_RM_FREE, arg, f"RM free of 0x{handle:x}")
        if arg.status:
            raise DeviceError(f"NV: RM free of 0x{handle:x} returned {nv_status_text(arg.status)}")

    def alloc_os_descriptor(self, dev_fd: int, parent: int, handle: int, cpu_addr: int, size: int, flags: int) -> int:
        """Describe already-mapped CPU memory [cpu_addr, +size) to the RM as a memory object."""
        arg = io.nv_ioctl_nvos02_parameters_with_fd(fd=-1, params=io.NVOS02_PARAMETERS(
            hRoot=self.client, hObjectParent=parent, hObjectNew=handle, hClass=RmClass.NV01_MEMORY_SYSTEM_OS_DESCRIPTOR,
            flags=flags, pMemory=cpu_addr, limit=size - 1))
        what = f"RM alloc of host memory 0x{cpu_addr:x}+0x{size:x}"
        self._ioctl(io.NV_ESC_RM_ALLOC_MEMORY, arg, what, fd=dev_fd)
        if arg.params.status:
            error = OutOfMemoryError if arg.params.status in NO_MEMORY_STATUSES else DeviceError
            raise error(f"NV: {what} returned {nv_status_text(arg.params.status)}")
        return arg.params.hObjectNew

    def map_memory(self, device: int, memory: int, size: int, flags: int, map_fd: int) -> None:
        """Prepare `map_fd` so that mmap(map_fd, size) maps RM memory object `memory` into the CPU."""
        arg = io.nv_ioctl_nvos33_parameters_with_fd(fd=map_fd, params=io.NVOS33_PARAMETERS(
            hClient=self.client, hDevice=device, hMemory=memory, length=size, flags=flags))
        what = f"RM CPU map of memory 0x{memory:x} (0x{size:x} bytes)"
        self._ioctl(io.NV_ESC_RM_MAP_MEMORY, arg, what)
        if arg.params.status:
            raise DeviceError(f"NV: {what} returned {nv_status_text(arg.params.status)}")
