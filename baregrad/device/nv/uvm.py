"""Calls into /dev/nvidia-uvm: register the GPU and its VA space, map RM memory at chosen GPU virtual addresses."""
from __future__ import annotations

import ctypes

from ...errors import DeviceError
from . import abi_uvm as u
from .kernel_iface import KernelInterface
from .status_names import nv_status_text


class Uvm:
    """One UVM file (per process) used for external mappings of RM memory."""

    def __init__(self, kif: KernelInterface, fd: int, path: str):
        self.kif, self.fd, self.path = kif, fd, path

    def call(self, request: u.UvmIoctl, params: ctypes.Structure) -> ctypes.Structure:
        try:
            self.kif.ioctl(self.fd, request, params)
        except OSError as e:
            raise DeviceError(f"NV: {request.name} failed in the kernel driver ({self.path}): {e}") from e
        if params.rmStatus:
            raise DeviceError(f"NV: {request.name} returned {nv_status_text(params.rmStatus)}")
        return params

    def initialize(self) -> None:
        self.call(u.UvmIoctl.UVM_INITIALIZE, u.UVM_INITIALIZE_PARAMS(flags=0))

    def mm_initialize(self, second_fd: int) -> None:
        """Tie this process's address space to the UVM file (done from a second UVM fd, as the API requires)."""
        saved, self.fd = self.fd, second_fd
        try:
            self.call(u.UvmIoctl.UVM_MM_INITIALIZE, u.UVM_MM_INITIALIZE_PARAMS(uvmFd=saved))
        finally:
            self.fd = saved

    def register_gpu(self, uuid: bytes, ctl_fd: int, client: int) -> None:
        self.call(u.UvmIoctl.UVM_REGISTER_GPU, u.UVM_REGISTER_GPU_PARAMS(
            gpu_uuid=_uuid(uuid), rmCtrlFd=ctl_fd, hClient=client))

    def register_vaspace(self, uuid: bytes, ctl_fd: int, client: int, vaspace: int) -> None:
        self.call(u.UvmIoctl.UVM_REGISTER_GPU_VASPACE, u.UVM_REGISTER_GPU_VASPACE_PARAMS(
            gpuUuid=_uuid(uuid), rmCtrlFd=ctl_fd, hClient=client, hVaSpace=vaspace))

    def register_channel(self, uuid: bytes, ctl_fd: int, client: int, channel: int, base: int, length: int) -> None:
        self.call(u.UvmIoctl.UVM_REGISTER_CHANNEL, u.UVM_REGISTER_CHANNEL_PARAMS(
            gpuUuid=_uuid(uuid), rmCtrlFd=ctl_fd, hClient=client, hChannel=channel, base=base, length=length))

    def map_external(self, uuid: bytes, ctl_fd: int, client: int, memory: int, va: int, size: int) -> None:
        """Reserve [va, va+size) and map RM memory object `memory` there for this GPU."""
        self.call(u.UvmIoctl.UVM_CREATE_EXTERNAL_RANGE, u.UVM_CREATE_EXTERNAL_RANGE_PARAMS(base=va, length=size))
        params = u.UVM_MAP_EXTERNAL_ALLOCATION_PARAMS(base=va, length=size, gpuAttributesCount=1, rmCtrlFd=ctl_fd,
                                                      hClient=client, hMemory=memory)
        params.perGpuAttributes[0] = u.UvmGpuMappingAttributes(
            gpuUuid=_uuid(uuid), gpuMappingType=u.UVM_GPU_MAPPING_TYPE_READ_WRITE_ATOMIC)
        self.call(u.UvmIoctl.UVM_MAP_EXTERNAL_ALLOCATION, params)

    def free(self, va: int, size: int) -> None:
        self.call(u.UvmIoctl.UVM_FREE, u.UVM_FREE_PARAMS(base=va, length=size))


def _uuid(raw: bytes) -> u.NvProcessorUuid:
    return u.NvProcessorUuid(uuid=(ctypes.c_uint8 * 16)(*raw[:16]))
