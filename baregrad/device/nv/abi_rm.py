"""Resource-manager classes, allocation parameters and control calls that the driver uses.

Bindings written by us after NVIDIA's headers (open-gpu-kernel-modules 580; each struct names its header).
"""
from __future__ import annotations

import ctypes
from enum import IntEnum

from .abi_ioctl import NvHandle, NvP64, NvU8, NvU32, NvU64


class RmClass(IntEnum):
    """Class ids (src/nvidia/generated/g_allclasses.h)."""
    NV01_ROOT_CLIENT = 0x0041
    NV01_DEVICE_0 = 0x0080
    NV20_SUBDEVICE_0 = 0x2080
    NV01_MEMORY_SYSTEM = 0x003E
    NV01_MEMORY_LOCAL_USER = 0x0040
    NV01_MEMORY_SYSTEM_OS_DESCRIPTOR = 0x0071
    FERMI_VASPACE_A = 0x90F1
    FERMI_CONTEXT_SHARE_A = 0x9067
    KEPLER_CHANNEL_GROUP_A = 0xA06C
    TURING_USERMODE_A = 0xC461
    AMPERE_USERMODE_A = 0xC561
    HOPPER_USERMODE_A = 0xC661
    BLACKWELL_USERMODE_A = 0xC761
    AMPERE_CHANNEL_GPFIFO_A = 0xC56F
    HOPPER_CHANNEL_GPFIFO_A = 0xC86F
    BLACKWELL_CHANNEL_GPFIFO_A = 0xC96F
    AMPERE_DMA_COPY_A = 0xC6B5
    AMPERE_DMA_COPY_B = 0xC7B5
    HOPPER_DMA_COPY_A = 0xC8B5
    BLACKWELL_DMA_COPY_A = 0xC9B5
    AMPERE_COMPUTE_A = 0xC6C0
    AMPERE_COMPUTE_B = 0xC7C0
    ADA_COMPUTE_A = 0xC9C0
    HOPPER_COMPUTE_A = 0xCBC0


# --- allocation parameters ---------------------------------------------------------------------------------

class NV0080_ALLOC_PARAMETERS(ctypes.Structure):
    """NV01_DEVICE_0 (src/common/sdk/nvidia/inc/class/cl0080.h)."""
    _fields_ = [("deviceId", NvU32), ("hClientShare", NvHandle), ("hTargetClient", NvHandle),
                ("hTargetDevice", NvHandle), ("flags", NvU32), ("vaSpaceSize", NvU64),
                ("vaStartInternal", NvU64), ("vaLimitInternal", NvU64), ("vaMode", NvU32)]


NV_DEVICE_ALLOCATION_VAMODE_MULTIPLE_VASPACES = 0x2  # nvos.h


class NV2080_ALLOC_PARAMETERS(ctypes.Structure):
    """NV20_SUBDEVICE_0 (class/cl2080.h)."""
    _fields_ = [("subDeviceId", NvU32)]


class NV_VASPACE_ALLOCATION_PARAMETERS(ctypes.Structure):
    """FERMI_VASPACE_A (nvos.h)."""
    _fields_ = [("index", NvU32), ("flags", NvU32), ("vaSize", NvU64), ("vaStartInternal", NvU64),
                ("vaLimitInternal", NvU64), ("bigPageSize", NvU32), ("vaBase", NvU64), ("pasid", NvU32)]


NV_VASPACE_ALLOCATION_FLAGS_IS_EXTERNALLY_OWNED = 1 << 3  # nvos.h: UVM owns the page tables
NV_VASPACE_ALLOCATION_FLAGS_ENABLE_PAGE_FAULTING = 1 << 6  # nvos.h: faults go to UVM, not a silent hang


class NV_CHANNEL_GROUP_ALLOCATION_PARAMETERS(ctypes.Structure):
    """KEPLER_CHANNEL_GROUP_A (nvos.h)."""
    _fields_ = [("hObjectError", NvHandle), ("hObjectEccError", NvHandle), ("hVASpace", NvHandle),
                ("engineType", NvU32), ("bIsCallingContextVgpuPlugin", NvU8)]


NV2080_ENGINE_TYPE_GRAPHICS = 0x1  # class/cl2080_notification.h


class NV_CTXSHARE_ALLOCATION_PARAMETERS(ctypes.Structure):
    """FERMI_CONTEXT_SHARE_A (nvos.h)."""
    _fields_ = [("hVASpace", NvHandle), ("flags", NvU32), ("subctxId", NvU32)]


NV_CTXSHARE_ALLOCATION_FLAGS_SUBCONTEXT_ASYNC = 0x1  # nvos.h, field 1:0


class NV_MEMORY_DESC_PARAMS(ctypes.Structure):
    """alloc/alloc_channel.h."""
    _fields_ = [("base", NvU64), ("size", NvU64), ("addressSpace", NvU32), ("cacheAttrib", NvU32)]


NV_MAX_SUBDEVICES = 8  # nvlimits.h
CC_CHAN_ALLOC_IV_SIZE_DWORD = 3  # alloc/alloc_channel.h
CC_CHAN_ALLOC_NONCE_SIZE_DWORD = 8  # alloc/alloc_channel.h


class NV_CHANNEL_ALLOC_PARAMS(ctypes.Structure):
    """*_CHANNEL_GPFIFO_A (alloc/alloc_channel.h)."""
    _fields_ = [("hObjectError", NvHandle), ("hObjectBuffer", NvHandle), ("gpFifoOffset", NvU64),
                ("gpFifoEntries", NvU32), ("flags", NvU32), ("hContextShare", NvHandle), ("hVASpace", NvHandle),
                ("hUserdMemory", NvHandle * NV_MAX_SUBDEVICES), ("userdOffset", NvU64 * NV_MAX_SUBDEVICES),
                ("engineType", NvU32), ("cid", NvU32), ("subDeviceId", NvU32), ("hObjectEccError", NvHandle),
                ("instanceMem", NV_MEMORY_DESC_PARAMS), ("userdMem", NV_MEMORY_DESC_PARAMS),
                ("ramfcMem", NV_MEMORY_DESC_PARAMS), ("mthdbufMem", NV_MEMORY_DESC_PARAMS),
                ("hPhysChannelGroup", NvHandle), ("internalFlags", NvU32),
                ("errorNotifierMem", NV_MEMORY_DESC_PARAMS), ("eccErrorNotifierMem", NV_MEMORY_DESC_PARAMS),
                ("ProcessID", NvU32), ("SubProcessID", NvU32),
                ("encryptIv", NvU32 * CC_CHAN_ALLOC_IV_SIZE_DWORD), ("decryptIv", NvU32 * CC_CHAN_ALLOC_IV_SIZE_DWORD),
                ("hmacNonce", NvU32 * CC_CHAN_ALLOC_NONCE_SIZE_DWORD), ("tpcConfigID", NvU32)]


class NV_MEMORY_ALLOCATION_PARAMS(ctypes.Structure):
    """NV01_MEMORY_LOCAL_USER / NV01_MEMORY_SYSTEM (nvos.h)."""
    _fields_ = [("owner", NvU32), ("type", NvU32), ("flags", NvU32), ("width", NvU32), ("height", NvU32),
                ("pitch", ctypes.c_int32), ("attr", NvU32), ("attr2", NvU32), ("format", NvU32),
                ("comprCovg", NvU32), ("zcullCovg", NvU32), ("rangeLo", NvU64), ("rangeHi", NvU64),
                ("size", NvU64), ("alignment", NvU64), ("offset", NvU64), ("limit", NvU64), ("address", NvP64),
                ("ctagOffset", NvU32), ("hVASpace", NvHandle), ("internalflags", NvU32), ("tag", NvU32),
                ("numaNode", ctypes.c_int32)]


# nvos.h: NVOS32_* (memory allocation), NVOS02_* (OS descriptor), NVOS33_* (CPU mapping). Values shifted into
# their bit ranges here so callers OR names together instead of shifting numbers.
NVOS32_TYPE_IMAGE = 0
NVOS32_TYPE_NOTIFIER = 13
NVOS32_ATTR_PAGE_SIZE_4KB = 1 << 23          # 24:23 = 1
NVOS32_ATTR_PAGE_SIZE_HUGE = 3 << 23         # 24:23 = 3
NVOS32_ATTR_LOCATION_PCI = 1 << 25           # 26:25 = 1
NVOS32_ATTR_PHYSICALITY_CONTIGUOUS = 2 << 27           # 28:27 = 2
NVOS32_ATTR_PHYSICALITY_ALLOW_NONCONTIGUOUS = 3 << 27  # 28:27 = 3
NVOS32_ATTR_PHYSICALITY_NONCONTIGUOUS = 1 << 27        # 28:27 = 1
NVOS32_ATTR2_ZBC_PREFER_NO_ZBC = 1 << 0      # 1:0 = 1
NVOS32_ATTR2_GPU_CACHEABLE_YES = 1 << 2      # 3:2 = 1
NVOS32_ATTR2_GPU_CACHEABLE_NO = 2 << 2       # 3:2 = 2
NVOS32_ATTR2_PAGE_SIZE_HUGE_2MB = 1 << 20    # 21:20 = 1
NVOS32_ALLOC_FLAGS_IGNORE_BANK_PLACEMENT = 0x00000001
NVOS32_ALLOC_FLAGS_ALIGNMENT_FORCE = 0x00000100
NVOS32_ALLOC_FLAGS_MEMORY_HANDLE_PROVIDED = 0x00004000
NVOS32_ALLOC_FLAGS_MAP_NOT_REQUIRED = 0x00008000
NVOS32_ALLOC_FLAGS_PERSISTENT_VIDMEM = 0x00010000
NVOS02_FLAGS_PHYSICALITY_NONCONTIGUOUS = 1 << 4   # 7:4 = 1
NVOS02_FLAGS_COHERENCY_CACHED = 1 << 12           # 15:12 = 1
NVOS02_FLAGS_MAPPING_NO_MAP = 1 << 30             # 31:30 = 1
NVOS33_FLAGS_ACCESS_WRITE_ONLY = 2                # 1:0 = 2
NVOS33_FLAGS_MAPPING_REFLECTED = 2 << 15          # 16:15 = 2
NVOS33_FLAGS_MAP_FIXED_ENABLE = 1 << 18           # 18:18
NVOS33_FLAGS_RESERVE_ON_UNMAP_ENABLE = 1 << 19    # 19:19
NVOS33_FLAGS_CACHING_TYPE_WRITECOMBINED = 2 << 23  # 25:23 = 2


# --- controls ----------------------------------------------------------------------------------------------

class RmControl(IntEnum):
    """Control command ids (src/common/sdk/nvidia/inc/ctrl/...)."""
    NV0000_CTRL_CMD_GPU_GET_ID_INFO_V2 = 0x205          # ctrl0000/ctrl0000gpu.h
    NV0080_CTRL_CMD_GPU_GET_CLASSLIST_V2 = 0x800292     # ctrl0080/ctrl0080gpu.h
    NV2080_CTRL_CMD_GPU_GET_GID_INFO = 0x2080014A       # ctrl2080/ctrl2080gpu.h
    NV2080_CTRL_CMD_GR_GET_INFO = 0x20801201            # ctrl2080/ctrl2080gr.h
    NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN = 0xC36F0108  # ctrlc36f.h
    NVA06C_CTRL_CMD_GPFIFO_SCHEDULE = 0xA06C0101        # ctrla06c.h


class NV0000_CTRL_GPU_GET_ID_INFO_V2_PARAMS(ctypes.Structure):
    """ctrl0000/ctrl0000gpu.h."""
    _fields_ = [("gpuId", NvU32), ("gpuFlags", NvU32), ("deviceInstance", NvU32), ("subDeviceInstance", NvU32),
                ("sliStatus", NvU32), ("boardId", NvU32), ("gpuInstance", NvU32), ("numaId", ctypes.c_int32)]


NV0080_CTRL_GPU_CLASSLIST_MAX_SIZE = 200  # ctrl0080/ctrl0080gpu.h


class NV0080_CTRL_GPU_GET_CLASSLIST_V2_PARAMS(ctypes.Structure):
    """ctrl0080/ctrl0080gpu.h."""
    _fields_ = [("numClasses", NvU32), ("classList", NvU32 * NV0080_CTRL_GPU_CLASSLIST_MAX_SIZE)]


NV2080_GPU_MAX_GID_LENGTH = 0x100  # ctrl2080/ctrl2080gpu.h
NV2080_GPU_CMD_GPU_GET_GID_FLAGS_FORMAT_BINARY = 0x2


class NV2080_CTRL_GPU_GET_GID_INFO_PARAMS(ctypes.Structure):
    """ctrl2080/ctrl2080gpu.h."""
    _fields_ = [("index", NvU32), ("flags", NvU32), ("length", NvU32), ("data", NvU8 * NV2080_GPU_MAX_GID_LENGTH)]


class NV2080_CTRL_GR_INFO(ctypes.Structure):
    """NVXXXX_CTRL_XXX_INFO (ctrl/ctrlxxxx.h), aliased by ctrl2080gr.h."""
    _fields_ = [("index", NvU32), ("data", NvU32)]


class NV2080_CTRL_GR_ROUTE_INFO(ctypes.Structure):
    """NV0080_CTRL_GR_ROUTE_INFO (ctrl0080/ctrl0080gr.h)."""
    _fields_ = [("flags", NvU32), ("route", NvU64)]


class NV2080_CTRL_GR_GET_INFO_PARAMS(ctypes.Structure):
    """ctrl2080/ctrl2080gr.h; grInfoList points at an array of NV2080_CTRL_GR_INFO."""
    _fields_ = [("grInfoListSize", NvU32), ("grInfoList", NvP64), ("grRouteInfo", NV2080_CTRL_GR_ROUTE_INFO)]


NV2080_CTRL_GR_INFO_INDEX_SM_VERSION = 0x0C  # ctrl0080/ctrl0080gr.h; data = major << 8 | minor


class NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN_PARAMS(ctypes.Structure):
    """ctrlc36f.h."""
    _fields_ = [("workSubmitToken", NvU32)]


class NVA06C_CTRL_GPFIFO_SCHEDULE_PARAMS(ctypes.Structure):
    """NVA06F_CTRL_GPFIFO_SCHEDULE_PARAMS (ctrla06f/ctrla06fgpfifo.h)."""
    _fields_ = [("bEnable", NvU8), ("bSkipSubmit", NvU8), ("bSkipEnable", NvU8)]


class NvNotification(ctypes.Structure):
    """Channel error notifier entry (src/common/sdk/nvidia/inc/nvgputypes.h)."""
    _fields_ = [("timeStamp", NvU32 * 2), ("info32", NvU32), ("info16", ctypes.c_uint16), ("status", ctypes.c_uint16)]
