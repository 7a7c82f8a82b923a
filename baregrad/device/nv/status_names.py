"""Human-readable names for the numbers the kernel driver reports: NV_STATUS codes and channel error codes.

Values from src/common/sdk/nvidia/inc/nvstatuscodes.h and nverror.h (only the ones worth naming in a message).
"""
from __future__ import annotations

NV_STATUS_NAMES: dict[int, str] = {
    0x00: "NV_OK",
    0x1A: "NV_ERR_INSUFFICIENT_RESOURCES",
    0x1B: "NV_ERR_INSUFFICIENT_PERMISSIONS",
    0x1E: "NV_ERR_INVALID_ADDRESS",
    0x1F: "NV_ERR_INVALID_ARGUMENT",
    0x22: "NV_ERR_INVALID_CLASS",
    0x24: "NV_ERR_INVALID_COMMAND",
    0x26: "NV_ERR_INVALID_DEVICE",
    0x2E: "NV_ERR_INVALID_LIMIT",
    0x33: "NV_ERR_INVALID_OBJECT_HANDLE",
    0x3A: "NV_ERR_INVALID_PARAM_STRUCT",
    0x40: "NV_ERR_INVALID_STATE",
    0x51: "NV_ERR_NO_MEMORY",
    0x56: "NV_ERR_NOT_SUPPORTED",
    0x57: "NV_ERR_OBJECT_NOT_FOUND",
    0x59: "NV_ERR_OPERATING_SYSTEM",
    0x68: "NV_ERR_UVM_ADDRESS_IN_USE",
    0xFFFF: "NV_ERR_GENERIC",
}

# nverror.h: ROBUST_CHANNEL_* codes the RM writes into a channel's error notifier (info32)
CHANNEL_ERROR_NAMES: dict[int, str] = {
    13: "ROBUST_CHANNEL_GR_EXCEPTION (graphics/compute engine exception, e.g. illegal instruction)",
    31: "ROBUST_CHANNEL_FIFO_ERROR_MMU_ERR_FLT (GPU MMU fault: access to an unmapped address)",
    32: "ROBUST_CHANNEL_PBDMA_ERROR (malformed pushbuffer or GPFIFO entry)",
    43: "ROBUST_CHANNEL_RESETCHANNEL_VERIF_ERROR",
    45: "ROBUST_CHANNEL_PREEMPTIVE_REMOVAL (channel torn down)",
    48: "ROBUST_CHANNEL_GPU_ECC_DBE",
    69: "ROBUST_CHANNEL_GR_CLASS_ERROR (bad method or method data for the engine class)",
    79: "ROBUST_CHANNEL_GPU_HAS_FALLEN_OFF_THE_BUS",
}


def nv_status_text(status: int) -> str:
    """'NV_ERR_NO_MEMORY (0x51)' for a status number."""
    return f"{NV_STATUS_NAMES.get(status, 'unknown NV_STATUS')} (0x{status:x})"


def channel_error_text(code: int) -> str:
    """A ROBUST_CHANNEL_* error code as words."""
    return f"{CHANNEL_ERROR_NAMES.get(code, 'channel error')} [code {code}]"
