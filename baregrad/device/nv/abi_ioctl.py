"""ioctl ABI of NVIDIA's kernel module (/dev/nvidiactl, /dev/nvidiaN): escape codes and NVOS structs.

Every struct here is written by us, field by field, after the header named in its comment
(NVIDIA open-gpu-kernel-modules, branch 580). Only what baregrad's driver uses is bound.
"""
from __future__ import annotations

import ctypes

NvHandle = ctypes.c_uint32
NvU8, NvU16, NvU32, NvU64 = ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint64
NvP64 = ctypes.c_uint64  # NvP64 is a 64-bit user pointer, 8-byte aligned on every ABI

# kernel-open/common/inc/nv-ioctl-numbers.h
NV_IOCTL_MAGIC = ord("F")
NV_IOCTL_BASE = 200
NV_ESC_CARD_INFO = NV_IOCTL_BASE + 0
NV_ESC_REGISTER_FD = NV_IOCTL_BASE + 1
NV_ESC_CHECK_VERSION_STR = NV_IOCTL_BASE + 10

# src/nvidia/arch/nvalloc/unix/include/nv_escape.h
NV_ESC_RM_ALLOC_MEMORY = 0x27
NV_ESC_RM_FREE = 0x29
NV_ESC_RM_CONTROL = 0x2A
NV_ESC_RM_ALLOC = 0x2B
NV_ESC_RM_MAP_MEMORY = 0x4E
NV_ESC_RM_UNMAP_MEMORY = 0x4F

# Linux <asm-generic/ioctl.h>: dir (2 bits) | size (14 bits) | type (8 bits) | nr (8 bits)
_IOC_READ_WRITE = 3
IOC_SIZE_MAX = (1 << 14) - 1


def nv_ioctl_number(nr: int, size: int) -> int:
    """_IOWR('F', nr, size): the request number the nvidia module decodes nr and size from."""
    if size > IOC_SIZE_MAX:
        raise ValueError(f"ioctl argument of {size} bytes does not fit _IOC_SIZE")
    return (_IOC_READ_WRITE << 30) | (size << 16) | (NV_IOCTL_MAGIC << 8) | nr


class NVOS21_PARAMETERS(ctypes.Structure):
    """NV_ESC_RM_ALLOC argument (src/common/sdk/nvidia/inc/nvos.h)."""
    _fields_ = [("hRoot", NvHandle), ("hObjectParent", NvHandle), ("hObjectNew", NvHandle), ("hClass", NvU32),
                ("pAllocParms", NvP64), ("paramsSize", NvU32), ("status", NvU32)]


class NVOS54_PARAMETERS(ctypes.Structure):
    """NV_ESC_RM_CONTROL argument (nvos.h)."""
    _fields_ = [("hClient", NvHandle), ("hObject", NvHandle), ("cmd", NvU32), ("flags", NvU32),
                ("params", NvP64), ("paramsSize", NvU32), ("status", NvU32)]


class NVOS00_PARAMETERS(ctypes.Structure):
    """NV_ESC_RM_FREE argument (nvos.h)."""
    _fields_ = [("hRoot", NvHandle), ("hObjectParent", NvHandle), ("hObjectOld", NvHandle), ("status", NvU32)]


class NVOS33_PARAMETERS(ctypes.Structure):
    """NV_ESC_RM_MAP_MEMORY payload (nvos.h)."""
    _fields_ = [("hClient", NvHandle), ("hDevice", NvHandle), ("hMemory", NvHandle), ("offset", NvU64),
                ("length", NvU64), ("pLinearAddress", NvP64), ("status", NvU32), ("flags", NvU32)]


class NVOS34_PARAMETERS(ctypes.Structure):
    """NV_ESC_RM_UNMAP_MEMORY argument (nvos.h)."""
    _fields_ = [("hClient", NvHandle), ("hDevice", NvHandle), ("hMemory", NvHandle), ("pLinearAddress", NvP64),
                ("status", NvU32), ("flags", NvU32)]


class NVOS02_PARAMETERS(ctypes.Structure):
    """NV_ESC_RM_ALLOC_MEMORY payload (nvos.h)."""
    _fields_ = [("hRoot", NvHandle), ("hObjectParent", NvHandle), ("hObjectNew", NvHandle), ("hClass", NvU32),
                ("flags", NvU32), ("pMemory", NvP64), ("limit", NvU64), ("status", NvU32)]


class nv_ioctl_nvos33_parameters_with_fd(ctypes.Structure):
    """NV_ESC_RM_MAP_MEMORY argument: the fd that will be mmap()ed (nv-unix-nvos-params-wrappers.h)."""
    _fields_ = [("params", NVOS33_PARAMETERS), ("fd", ctypes.c_int)]


class nv_ioctl_nvos02_parameters_with_fd(ctypes.Structure):
    """NV_ESC_RM_ALLOC_MEMORY argument (nv-unix-nvos-params-wrappers.h)."""
    _fields_ = [("params", NVOS02_PARAMETERS), ("fd", ctypes.c_int)]


class nv_pci_info_t(ctypes.Structure):
    """PCI location of a GPU (kernel-open/common/inc/nv-ioctl.h)."""
    _fields_ = [("domain", NvU32), ("bus", NvU8), ("slot", NvU8), ("function", NvU8),
                ("vendor_id", NvU16), ("device_id", NvU16)]


class nv_ioctl_card_info_t(ctypes.Structure):
    """One entry of the NV_ESC_CARD_INFO array (nv-ioctl.h)."""
    _fields_ = [("valid", NvU8), ("pci_info", nv_pci_info_t), ("gpu_id", NvU32), ("interrupt_line", NvU16),
                ("reg_address", NvU64), ("reg_size", NvU64), ("fb_address", NvU64), ("fb_size", NvU64),
                ("minor_number", NvU32), ("dev_name", NvU8 * 10)]


class nv_ioctl_register_fd_t(ctypes.Structure):
    """NV_ESC_REGISTER_FD argument: ties a /dev/nvidiaN fd to the control fd (nv-ioctl.h)."""
    _fields_ = [("ctl_fd", ctypes.c_int)]


NV_RM_API_VERSION_STRING_LENGTH = 64
NV_RM_API_VERSION_CMD_QUERY = ord("2")


class nv_ioctl_rm_api_version_t(ctypes.Structure):
    """NV_ESC_CHECK_VERSION_STR argument; cmd QUERY returns the module's version (nv-ioctl.h)."""
    _fields_ = [("cmd", NvU32), ("reply", NvU32), ("versionString", ctypes.c_char * NV_RM_API_VERSION_STRING_LENGTH)]


MAX_CARDS = 32  # NV_MAX_DEVICES (src/common/sdk/nvidia/inc/nvlimits.h)
