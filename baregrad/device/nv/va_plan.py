"""The shared CPU/GPU virtual-address plan: which addresses the driver hands out, and for what.

Everything the CPU touches (host buffers, staging, rings, signals, programs) lives in the HOST window, where the GPU
virtual address equals the CPU virtual address, so one number names a byte on both sides. Device-only buffers
live in the DEVICE window, which is never mapped into the CPU. Both windows sit below 2**40 because a GPFIFO entry
holds 40 address bits, and far from where Linux places ordinary mappings.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import OutOfMemoryError

HOST_WINDOW = (0x10_0000_0000, 0x20_0000_0000)    # 64 GiB of CPU+GPU visible addresses
DEVICE_WINDOW = (0x20_0000_0000, 0xF0_0000_0000)  # GPU-only addresses
PAGE = 0x1000
HUGE_PAGE = 0x20_0000


def round_up(x: int, a: int) -> int:
    return (x + a - 1) // a * a


@dataclass
class VaWindow:
    """A first-fit allocator of aligned address ranges inside [lo, hi), with freed ranges merged back."""
    lo: int
    hi: int
    free_ranges: list[tuple[int, int]] = field(default_factory=list)  # sorted (start, end)

    def __post_init__(self) -> None:
        self.free_ranges = [(self.lo, self.hi)]

    def take(self, size: int, align: int) -> int:
        for i, (start, end) in enumerate(self.free_ranges):
            va = round_up(start, align)
            if va + size <= end:
                pieces = [(start, va)] if va > start else []
                pieces += [(va + size, end)] if va + size < end else []
                self.free_ranges[i:i + 1] = pieces
                return va
        raise OutOfMemoryError(f"NV: out of GPU virtual address space for 0x{size:x} bytes "
                          f"in window 0x{self.lo:x}-0x{self.hi:x}")

    def give_back(self, va: int, size: int) -> None:
        ranges = sorted(self.free_ranges + [(va, va + size)])
        merged = [ranges[0]]
        for start, end in ranges[1:]:
            if start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        self.free_ranges = merged


@dataclass
class VaPlan:
    host: VaWindow = field(default_factory=lambda: VaWindow(*HOST_WINDOW))
    device: VaWindow = field(default_factory=lambda: VaWindow(*DEVICE_WINDOW))

    def window(self, cpu_visible: bool) -> VaWindow:
        return self.host if cpu_visible else self.device


# One plan per process: every GPU of the process shares the CPU's address space, so host-window addresses must
# never be handed out twice, whichever driver asks.
PROCESS_VA_PLAN = VaPlan()
