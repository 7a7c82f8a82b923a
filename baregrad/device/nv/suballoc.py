"""Small device buffers carved out of 2 MiB slabs, so that allocating one costs no kernel-driver call.

A fresh RM memory object costs several ioctls (allocate, map into the GPU's address space through UVM), about a
hundred microseconds; small tensors come and go once per op. Buffers up to `MAX_BLOCK` bytes are rounded up to
a power-of-two size class and taken from that class's free list, or carved from the current slab of video
memory. Freed blocks go back to their list at once: all work runs in issue order on one timeline, so a block
reused by later work is only written after earlier work that read it. Slabs are returned to the kernel driver
when the GPU context closes.

The same allocator, over CPU-visible command memory, holds the prebuilt launches of nv/eager.py; those blocks
are written by the CPU, not by queued work, so the driver hands them back only once the GPU is done with them.
"""
from __future__ import annotations

from dataclasses import dataclass

from .memory import Allocation, GpuMemory, MemKind

SLAB_BYTES = 2 << 20
MIN_BLOCK = 256          # also the alignment every block keeps (vector loads want 16 bytes; cp.async 16)
MAX_BLOCK = 256 << 10


@dataclass(eq=False, slots=True)
class SlabBlock:
    """A block of `size` bytes at `va` inside one slab."""
    va: int
    size: int


class SlabAllocator:
    """Per-size-class free lists over bump-allocated slabs of memory of one kind (video memory for buffers)."""

    def __init__(self, memory: GpuMemory, kind: MemKind = MemKind.VIDMEM):
        self.memory, self.kind = memory, kind
        self.slabs: list[Allocation] = []
        self.free: dict[int, list[SlabBlock]] = {}
        self.bump = SLAB_BYTES  # offset of the next unused byte in the newest slab; full until one exists

    def take(self, nbytes: int) -> SlabBlock:
        size = 1 << (nbytes - 1).bit_length() if nbytes > MIN_BLOCK else MIN_BLOCK  # its size class
        blocks = self.free.get(size)
        if blocks:
            return blocks.pop()
        if self.bump + size > SLAB_BYTES:
            self.slabs.append(self.memory.alloc(SLAB_BYTES, self.kind))
            self.bump = 0
        block = SlabBlock(self.slabs[-1].va + self.bump, size)
        self.bump += size
        return block

    def give(self, block: SlabBlock) -> None:
        self.free.setdefault(block.size, []).append(block)

    @property
    def reserved_bytes(self) -> int:
        return len(self.slabs) * SLAB_BYTES
