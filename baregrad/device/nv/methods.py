"""Method offsets, method-header and GPFIFO-entry encodings for the host, compute and copy engines.

Offsets are identical across the Ampere/Ada/Hopper classes we drive (checked in clc56f.h/clc86f.h,
clc6c0.h/clcbc0.h, clc6b5.h/clc8b5.h of NVIDIA open-gpu-doc and open-gpu-kernel-modules), so one table serves all.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import IntEnum


class Subchannel(IntEnum):
    """Which engine object a method goes to; host methods live on every subchannel below 0x100."""
    HOST = 0
    COMPUTE = 1
    COPY = 4


class HostMethod(IntEnum):
    """*_CHANNEL_GPFIFO_A methods (clc86f.h)."""
    SET_OBJECT = 0x0000
    SEM_ADDR_LO = 0x005C
    SEM_ADDR_HI = 0x0060
    SEM_PAYLOAD_LO = 0x0064
    SEM_PAYLOAD_HI = 0x0068
    SEM_EXECUTE = 0x006C
    WFI = 0x0078


# SEM_EXECUTE fields (clc86f.h / clc56f.h)
SEM_EXECUTE_OPERATION_ACQUIRE = 0x0
SEM_EXECUTE_OPERATION_RELEASE = 0x1
SEM_EXECUTE_OPERATION_ACQ_CIRC_GEQ = 0x3   # 2:0; "wait until value >= payload" with wrap-around compare
SEM_EXECUTE_RELEASE_WFI_EN = 1 << 20        # 20:20: release only once the engine is idle
SEM_EXECUTE_PAYLOAD_SIZE_64BIT = 1 << 24    # 24:24
SEM_EXECUTE_RELEASE_TIMESTAMP_EN = 1 << 25  # 25:25: also write a 64-bit ns timestamp after the payload


class ComputeMethod(IntEnum):
    """*_COMPUTE_A/B methods (clc6c0.h, clcbc0.h)."""
    SET_OBJECT = 0x0000
    SET_SHADER_SHARED_MEMORY_WINDOW_A = 0x02A0
    SET_SHADER_SHARED_MEMORY_WINDOW_B = 0x02A4
    SEND_PCAS_A = 0x02B4
    SEND_SIGNALING_PCAS2_B = 0x02C0
    SET_SHADER_LOCAL_MEMORY_NON_THROTTLED_A = 0x02E4
    SET_SHADER_LOCAL_MEMORY_NON_THROTTLED_B = 0x02E8
    SET_SHADER_LOCAL_MEMORY_NON_THROTTLED_C = 0x02EC
    SET_SHADER_LOCAL_MEMORY_A = 0x0790
    SET_SHADER_LOCAL_MEMORY_B = 0x0794
    SET_SHADER_LOCAL_MEMORY_WINDOW_A = 0x07B0
    SET_SHADER_LOCAL_MEMORY_WINDOW_B = 0x07B4
    INVALIDATE_SHADER_CACHES_NO_WFI = 0x1698


PCAS_ACTION_INVALIDATE_COPY_SCHEDULE = 0x3  # SEND_SIGNALING_PCAS2_B_PCAS_ACTION (3:0)
PCAS_ACTION_PREFETCH_SCHEDULE = 0x9


class CopyMethod(IntEnum):
    """*_DMA_COPY_A/B methods (clc6b5.h, clc8b5.h)."""
    SET_OBJECT = 0x0000
    SET_SEMAPHORE_A = 0x0240
    SET_SEMAPHORE_B = 0x0244
    SET_SEMAPHORE_PAYLOAD = 0x0248
    LAUNCH_DMA = 0x0300
    OFFSET_IN_UPPER = 0x0400
    OFFSET_IN_LOWER = 0x0404
    OFFSET_OUT_UPPER = 0x0408
    OFFSET_OUT_LOWER = 0x040C
    LINE_LENGTH_IN = 0x0418


# LAUNCH_DMA fields (clc8b5.h)
LAUNCH_DMA_DATA_TRANSFER_TYPE_NON_PIPELINED = 0x2  # 1:0
LAUNCH_DMA_FLUSH_ENABLE_TRUE = 1 << 2               # 2:2
LAUNCH_DMA_SRC_MEMORY_LAYOUT_PITCH = 1 << 7         # 7:7
LAUNCH_DMA_DST_MEMORY_LAYOUT_PITCH = 1 << 8         # 8:8
LAUNCH_DMA_SRC_TYPE_PHYSICAL = 1 << 12              # 12:12 (0 = virtual)
LAUNCH_DMA_DST_TYPE_PHYSICAL = 1 << 13              # 13:13 (0 = virtual)
LAUNCH_DMA_MULTI_LINE_ENABLE = 1 << 9               # 9:9
LAUNCH_DMA_LINEAR_COPY = (LAUNCH_DMA_DATA_TRANSFER_TYPE_NON_PIPELINED | LAUNCH_DMA_FLUSH_ENABLE_TRUE
                          | LAUNCH_DMA_SRC_MEMORY_LAYOUT_PITCH | LAUNCH_DMA_DST_MEMORY_LAYOUT_PITCH)
COPY_LINE_MAX = 1 << 31  # LINE_LENGTH_IN is 32 bits; keep each copy well inside it

# Method header "incrementing" form (clc56f.h NVC56F_DMA_INCR_*): address 11:0 (dword index), subchannel 15:13,
# count 28:16, opcode 31:29 = 1.
DMA_INCR_OPCODE = 1
DMA_COUNT_MAX = (1 << 13) - 1


@functools.lru_cache(maxsize=256)
def method_header(subchannel: int, method: int, count: int) -> int:
    """The dword that precedes `count` data dwords written to consecutive methods starting at `method`."""
    if not 0 < count <= DMA_COUNT_MAX:
        raise ValueError(f"method count {count} out of range")
    return (DMA_INCR_OPCODE << 29) | (count << 16) | (subchannel << 13) | ((method >> 2) & 0xFFF)


@dataclass(frozen=True)
class MethodHeader:
    """A decoded method header."""
    opcode: int
    count: int
    subchannel: int
    method: int


def decode_method_header(word: int) -> MethodHeader:
    return MethodHeader(opcode=word >> 29, count=(word >> 16) & 0x1FFF, subchannel=(word >> 13) & 0x7,
                        method=(word & 0xFFF) << 2)


# GPFIFO entry (clc86f.h NVC86F_GP_ENTRY0/1): entry0 31:2 = pushbuffer address 31:2; entry1 7:0 = address 39:32,
# 9:9 level (0 main), 30:10 length in dwords, 31:31 sync.
GP_ENTRY_BYTES = 8
GP_ENTRY_LENGTH_MAX = (1 << 21) - 1
PUSHBUFFER_VA_LIMIT = 1 << 40


def gp_entry(pushbuffer_va: int, length_dwords: int) -> int:
    """One 64-bit GPFIFO entry pointing at `length_dwords` dwords of pushbuffer."""
    if pushbuffer_va % 4 or pushbuffer_va >= PUSHBUFFER_VA_LIMIT:
        raise ValueError(f"pushbuffer address 0x{pushbuffer_va:x} not dword-aligned below 2**40")
    if not 0 < length_dwords <= GP_ENTRY_LENGTH_MAX:
        raise ValueError(f"pushbuffer length {length_dwords} out of range")
    entry0 = pushbuffer_va & 0xFFFFFFFC
    entry1 = ((pushbuffer_va >> 32) & 0xFF) | (length_dwords << 10)
    return entry0 | (entry1 << 32)


def decode_gp_entry(entry: int) -> tuple[int, int]:
    """(pushbuffer address, length in dwords) of a GPFIFO entry."""
    entry0, entry1 = entry & 0xFFFFFFFF, entry >> 32
    return (entry0 & 0xFFFFFFFC) | ((entry1 & 0xFF) << 32), (entry1 >> 10) & GP_ENTRY_LENGTH_MAX


# USERD (Nvc86fControl in clc86f.h): the GPU reads GPPut from here; GPGet is what it has consumed.
USERD_GP_GET_OFFSET = 0x88
USERD_GP_PUT_OFFSET = 0x8C
USERD_BYTES = 0x200

# Usermode page (clc361.h): writing a channel's work-submit token here tells the GPU it has new work.
USERMODE_NOTIFY_CHANNEL_PENDING = 0x90
USERMODE_MAP_BYTES = 0x10000  # NVC361_NV_USERMODE__SIZE
