"""ioctl ABI of /dev/nvidia-uvm: the GPU VA space registration and external mappings we use.

Written by us after kernel-open/nvidia-uvm/uvm_ioctl.h, uvm_linux_ioctl.h and uvm_types.h (driver 580).
UVM request numbers on Linux are the bare integers (UVM_IOCTL_BASE(i) == i); no size is encoded.
"""
from __future__ import annotations

import ctypes
from enum import IntEnum

from .abi_ioctl import NvHandle, NvU8, NvU32, NvU64

UVM_MAX_GPUS = 32 * 8  # NV_MAX_DEVICES * UVM_PARENT_ID_MAX_SUB_PROCESSORS (uvm_types.h)


class UvmIoctl(IntEnum):
    """Request numbers (uvm_linux_ioctl.h, uvm_ioctl.h)."""
    UVM_INITIALIZE = 0x30000001
    UVM_REGISTER_GPU_VASPACE = 25
    UVM_REGISTER_CHANNEL = 27
    UVM_MAP_EXTERNAL_ALLOCATION = 33
    UVM_FREE = 34
    UVM_REGISTER_GPU = 37
    UVM_CREATE_EXTERNAL_RANGE = 73
    UVM_MM_INITIALIZE = 75


class NvProcessorUuid(ctypes.Structure):
    """NvUuid (kernel-open/common/inc/nvCpuUuid.h)."""
    _fields_ = [("uuid", NvU8 * 16)]


class UVM_INITIALIZE_PARAMS(ctypes.Structure):
    _fields_ = [("flags", NvU64), ("rmStatus", NvU32)]


class UVM_MM_INITIALIZE_PARAMS(ctypes.Structure):
    _fields_ = [("uvmFd", ctypes.c_int32), ("rmStatus", NvU32)]


class UVM_REGISTER_GPU_PARAMS(ctypes.Structure):
    _fields_ = [("gpu_uuid", NvProcessorUuid), ("numaEnabled", NvU8), ("numaNodeId", ctypes.c_int32),
                ("rmCtrlFd", ctypes.c_int32), ("hClient", NvHandle), ("hSmcPartRef", NvHandle), ("rmStatus", NvU32)]


class UVM_REGISTER_GPU_VASPACE_PARAMS(ctypes.Structure):
    _fields_ = [("gpuUuid", NvProcessorUuid), ("rmCtrlFd", ctypes.c_int32), ("hClient", NvHandle),
                ("hVaSpace", NvHandle), ("rmStatus", NvU32)]


class UVM_REGISTER_CHANNEL_PARAMS(ctypes.Structure):
    _fields_ = [("gpuUuid", NvProcessorUuid), ("rmCtrlFd", ctypes.c_int32), ("hClient", NvHandle),
                ("hChannel", NvHandle), ("base", NvU64), ("length", NvU64), ("rmStatus", NvU32)]


class UVM_CREATE_EXTERNAL_RANGE_PARAMS(ctypes.Structure):
    _fields_ = [("base", NvU64), ("length", NvU64), ("rmStatus", NvU32)]


class UvmGpuMappingAttributes(ctypes.Structure):
    """uvm_types.h; gpuMappingType values from nv_uvm_user_types.h (1 = ReadWriteAtomic)."""
    _fields_ = [("gpuUuid", NvProcessorUuid), ("gpuMappingType", NvU32), ("gpuCachingType", NvU32),
                ("gpuFormatType", NvU32), ("gpuElementBits", NvU32), ("gpuCompressionType", NvU32)]


UVM_GPU_MAPPING_TYPE_READ_WRITE_ATOMIC = 1


class UVM_MAP_EXTERNAL_ALLOCATION_PARAMS(ctypes.Structure):
    _fields_ = [("base", NvU64), ("length", NvU64), ("offset", NvU64),
                ("perGpuAttributes", UvmGpuMappingAttributes * UVM_MAX_GPUS), ("gpuAttributesCount", NvU64),
                ("rmCtrlFd", ctypes.c_int32), ("hClient", NvU32), ("hMemory", NvU32), ("rmStatus", NvU32)]


class UVM_FREE_PARAMS(ctypes.Structure):
    _fields_ = [("base", NvU64), ("length", NvU64), ("rmStatus", NvU32)]
