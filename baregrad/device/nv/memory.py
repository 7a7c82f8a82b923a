"""GPU memory objects: allocate in the kernel driver, map for the GPU (UVM) and the CPU (mmap), free.

Three kinds, chosen by what the memory is for:
- VIDMEM: video memory, GPU only (user tensors). 2 MiB pages once a buffer is that big.
- VIDMEM_CPU: video memory also mapped write-combined into the CPU (rings, pushbuffers, programs, kernel args).
- SYSMEM: RM-allocated system memory mapped into the CPU (semaphores, error notifiers: read often by the CPU).
- HOST: our own anonymous pages described to the RM (staging and host-visible buffers; cached on the CPU).
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass
from enum import Enum

from ... import config
from ...errors import DeviceError
from . import abi_rm as r
from .kernel_iface import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_SHARED,
    PROT_READ,
    PROT_WRITE,
    KernelInterface,
)
from .rm import ResourceManager
from .uvm import Uvm
from .va_plan import HUGE_PAGE, PAGE, VaPlan, round_up


class MemKind(Enum):
    VIDMEM = "vidmem"
    VIDMEM_CPU = "vidmem+cpu"
    SYSMEM = "sysmem"
    HOST = "host"

    @property
    def cpu_visible(self) -> bool:
        return self is not MemKind.VIDMEM


COMMAND_MEMORY_ENV = "BAREGRAD_NV_COMMAND_MEMORY"
_COMMAND_KINDS = {"vidmem": MemKind.VIDMEM_CPU, "sysmem": MemKind.SYSMEM}


def command_memory() -> MemKind:
    """Where the CPU writes what the GPU fetches to run work (GPFIFO ring and USERD, pushbuffer, kernel arguments):
    video memory through a write-combined BAR mapping (the default: the GPU's fetches stay on the card), or with
    BAREGRAD_NV_COMMAND_MEMORY=sysmem system memory, as libcuda places its command rings. A diagnostic switch,
    so that bench/nv_launch_parts.py can compare the two placements' cost to the CPU on a real GPU."""
    name = config.nv_command_memory()
    if name not in _COMMAND_KINDS:
        raise DeviceError(f"NV: {COMMAND_MEMORY_ENV}={name!r}: expected one of {', '.join(_COMMAND_KINDS)}")
    return _COMMAND_KINDS[name]


@dataclass
class Allocation:
    """One RM memory object mapped at `va` (and at the same CPU address when kind.cpu_visible)."""
    va: int
    size: int
    handle: int
    kind: MemKind

    def view(self) -> memoryview:
        if not self.kind.cpu_visible:
            raise DeviceError(f"NV: allocation at 0x{self.va:x} is not mapped into the CPU")
        return memoryview((ctypes.c_char * self.size).from_address(self.va)).cast("B")


@dataclass
class DeviceHandles:
    """What memory calls need to know about the GPU they allocate on."""
    device: int
    uuid: bytes
    ctl_fd: int
    dev_fd: int      # long-lived, registered /dev/nvidiaN fd: OS-descriptor memory is allocated through it
    dev_path: str
    ctl_path: str


HOST_HANDLE_BASE = 0x1000  # client-chosen handles for OS-descriptor memory start here


class GpuMemory:
    """Allocates and frees memory objects following the VA plan."""

    def __init__(self, kif: KernelInterface, rm: ResourceManager, uvm: Uvm, gpu: DeviceHandles, plan: VaPlan):
        self.kif, self.rm, self.uvm, self.gpu, self.plan = kif, rm, uvm, gpu, plan
        self.next_host_handle = HOST_HANDLE_BASE
        self.live: dict[int, Allocation] = {}  # va -> allocation, for fault reports and close()

    def alloc(self, size: int, kind: MemKind) -> Allocation:
        align = HUGE_PAGE if kind is MemKind.VIDMEM and size >= HUGE_PAGE else PAGE
        size = round_up(max(size, 1), align)
        va = self.plan.window(kind.cpu_visible).take(size, align)
        try:
            handle = self._create(kind, size, align, va)
        except BaseException:
            self.plan.window(kind.cpu_visible).give_back(va, size)
            raise
        self.uvm.map_external(self.gpu.uuid, self.gpu.ctl_fd, self.rm.client, handle, va, size)
        self.live[va] = alloc = Allocation(va, size, handle, kind)
        return alloc

    def _create(self, kind: MemKind, size: int, align: int, va: int) -> int:
        if kind is MemKind.HOST:
            return self._host(size, va)
        handle = self._vidmem(size, align) if kind in (MemKind.VIDMEM, MemKind.VIDMEM_CPU) else self._sysmem(size)
        if kind.cpu_visible:
            self._map_to_cpu(handle, size, va, sysmem=kind is MemKind.SYSMEM)
        return handle

    def _vidmem(self, size: int, align: int) -> int:
        huge = align == HUGE_PAGE
        params = r.NV_MEMORY_ALLOCATION_PARAMS(
            owner=self.rm.client, type=r.NVOS32_TYPE_IMAGE, size=size, alignment=align, limit=size - 1,
            flags=(r.NVOS32_ALLOC_FLAGS_ALIGNMENT_FORCE | r.NVOS32_ALLOC_FLAGS_PERSISTENT_VIDMEM
                   | r.NVOS32_ALLOC_FLAGS_MAP_NOT_REQUIRED | r.NVOS32_ALLOC_FLAGS_IGNORE_BANK_PLACEMENT
                   | r.NVOS32_ALLOC_FLAGS_MEMORY_HANDLE_PROVIDED),
            attr=(r.NVOS32_ATTR_PAGE_SIZE_HUGE if huge else 0) | r.NVOS32_ATTR_PHYSICALITY_ALLOW_NONCONTIGUOUS,
            attr2=(r.NVOS32_ATTR2_ZBC_PREFER_NO_ZBC | r.NVOS32_ATTR2_GPU_CACHEABLE_YES
                   | (r.NVOS32_ATTR2_PAGE_SIZE_HUGE_2MB if huge else 0)))
        return self.rm.alloc(self.gpu.device, r.RmClass.NV01_MEMORY_LOCAL_USER, params)

    def _sysmem(self, size: int) -> int:
        params = r.NV_MEMORY_ALLOCATION_PARAMS(
            owner=self.rm.client, type=r.NVOS32_TYPE_NOTIFIER, size=size, alignment=PAGE, limit=size - 1,
            flags=(r.NVOS32_ALLOC_FLAGS_IGNORE_BANK_PLACEMENT | r.NVOS32_ALLOC_FLAGS_MEMORY_HANDLE_PROVIDED
                   | r.NVOS32_ALLOC_FLAGS_MAP_NOT_REQUIRED),
            attr=r.NVOS32_ATTR_PHYSICALITY_ALLOW_NONCONTIGUOUS | r.NVOS32_ATTR_LOCATION_PCI,
            attr2=r.NVOS32_ATTR2_ZBC_PREFER_NO_ZBC | r.NVOS32_ATTR2_GPU_CACHEABLE_NO)
        return self.rm.alloc(self.gpu.device, r.RmClass.NV01_MEMORY_SYSTEM, params)

    def _host(self, size: int, va: int) -> int:
        self.kif.mmap(va, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)
        handle, self.next_host_handle = self.next_host_handle, self.next_host_handle + 1
        flags = (r.NVOS02_FLAGS_PHYSICALITY_NONCONTIGUOUS | r.NVOS02_FLAGS_COHERENCY_CACHED
                 | r.NVOS02_FLAGS_MAPPING_NO_MAP)
        try:
            return self.rm.alloc_os_descriptor(self.gpu.dev_fd, self.gpu.device, handle, va, size, flags)
        except BaseException:
            self.kif.munmap(va, size)
            raise

    def _open_dev_fd(self) -> int:
        """A fresh /dev/nvidiaN fd registered with our control fd (each CPU mapping needs its own)."""
        from . import abi_ioctl as io
        fd = self.kif.open(self.gpu.dev_path)
        arg = io.nv_ioctl_register_fd_t(ctl_fd=self.gpu.ctl_fd)
        self.kif.ioctl(fd, io.nv_ioctl_number(io.NV_ESC_REGISTER_FD, ctypes.sizeof(arg)), arg)
        return fd

    def _map_to_cpu(self, handle: int, size: int, va: int, sysmem: bool) -> None:
        # System memory is mapped through the control device, video memory through the GPU device (BAR1).
        fd = self.kif.open(self.gpu.ctl_path) if sysmem else self._open_dev_fd()
        try:
            flags = 0 if sysmem else (r.NVOS33_FLAGS_CACHING_TYPE_WRITECOMBINED | r.NVOS33_FLAGS_MAP_FIXED_ENABLE
                                      | r.NVOS33_FLAGS_RESERVE_ON_UNMAP_ENABLE | r.NVOS33_FLAGS_MAPPING_REFLECTED)
            self.rm.map_memory(self.gpu.device, handle, size, flags, fd)
            self.kif.mmap(va, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0)
        finally:
            self.kif.close(fd)

    def map_usermode(self, handle: int, size: int) -> int:
        """CPU-map the usermode (doorbell) page; it has no GPU address."""
        fd = self._open_dev_fd()
        try:
            self.rm.map_memory(self.gpu.device, handle, size, r.NVOS33_FLAGS_ACCESS_WRITE_ONLY, fd)
            return self.kif.mmap(0, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        finally:
            self.kif.close(fd)

    def free(self, alloc: Allocation) -> None:
        """Unmap from GPU and CPU and return the memory to the kernel driver."""
        self.live.pop(alloc.va, None)
        self.uvm.free(alloc.va, alloc.size)
        if alloc.kind.cpu_visible:
            self.kif.munmap(alloc.va, alloc.size)
        self.rm.free(self.gpu.device, alloc.handle)
        self.plan.window(alloc.kind.cpu_visible).give_back(alloc.va, alloc.size)

    def owner_of(self, va: int) -> Allocation | None:
        return next((a for a in self.live.values() if a.va <= va < a.va + a.size), None)
