"""Eager launches from prebuilt bytes: constant bank 0, QMD and launch dwords of one (program, grid, block).

An eager op is one small launch, and its CPU cost is the op's latency. Everything in a launch is fixed by the
program and its shape except five things: the buffer addresses in the constant bank, the constant bank's address
in the QMD (two words), the QMD's address in the launch dwords, and the timeline value they release. So the bytes
are built once per shape (`EagerLaunch`), and a launch packs them with those five into kernel-argument memory
-- one C call instead of building a constant bank, a QMD and a command list in Python.
"""
from __future__ import annotations

import struct
from array import array
from typing import TYPE_CHECKING

from .commands import launch_then_release
from .qmd import QMD_SLOT_BYTES

if TYPE_CHECKING:
    from .program import NVProgram

CB_ALIGN = 256
WORDS_BYTES = 64                      # room for the launch and release dwords after the QMD
QMD_ADDRESS_WORD, VALUE_WORD = 1, 7   # in launch_then_release: SEND_PCAS_A's data, then the release payload


def pointers_contiguous(program: NVProgram) -> bool:
    """True when every parameter is a pointer and they follow each other from offset 0 in declaration order."""
    params = program.kernel.params
    return all(p.size == 8 and p.offset == 8 * i for i, p in enumerate(params))


class EagerLaunch:
    """One program launched with one grid and block: the bytes of a launch as one struct whose fixed stretches
    are constant strings, so a launch is one Struct.pack_into (a pack_into per field costs more than the whole
    struct: each call acquires the destination's buffer anew)."""

    def __init__(self, program: NVProgram, grid: tuple[int, int, int], block: tuple[int, int, int], sem_va: int):
        self.program, self.grid, self.block = program, grid, block
        self.local_bytes = program.driver.local_bytes_per_thread  # baked into the QMD: a change means rebuild
        n = program.n_pointers
        cb0 = program.constant_bank0([0] * n, (), grid, block)
        self.cb_size = (len(cb0) + CB_ALIGN - 1) // CB_ALIGN * CB_ALIGN
        self.words_at = self.cb_size + QMD_SLOT_BYTES
        self.size = self.words_at + WORDS_BYTES
        template = program.qmd_template()
        qmd = template.shaped(grid, block, len(cb0))
        (lo, _), (hi, self.hi_shift) = template.cb0_address_slots
        self.addr_shift = template.layout.cbuf_addr_shift
        self.lo_bits, self.hi_bits, self.lo_first = qmd[lo], qmd[hi], lo < hi
        blob = bytearray(self.size)
        blob[:len(cb0)] = cb0
        blob[self.cb_size:self.cb_size + 4 * len(qmd)] = qmd.tobytes()
        words = array("I", launch_then_release(0, sem_va, 0)).tobytes()
        blob[self.words_at:self.words_at + len(words)] = words
        self.n_words = len(words) // 4
        # the variable fields in address order: pointers, the two QMD words, the QMD address, the release value
        params = program.kernel.param_base
        first, second = self.cb_size + 4 * min(lo, hi), self.cb_size + 4 * max(lo, hi)
        qmd_address, value = self.words_at + 4 * QMD_ADDRESS_WORD, self.words_at + 4 * VALUE_WORD
        fields = [(params, 8 * n), (first, 4), (second, 4), (qmd_address, 4), (value, 8)]
        ends = [0] + [at + size for at, size in fields]
        self.chunks = tuple(bytes(blob[end:at]) for end, (at, _) in zip(ends, fields)) + (bytes(blob[ends[-1]:]),)
        self.struct = struct.Struct(f"<{len(self.chunks[0])}s{n}Q" + "".join(
            f"{len(c)}s{'Q' if size == 8 else 'I'}" for c, (_, size) in zip(self.chunks[1:], fields[1:]))
            + f"{len(self.chunks[-1])}s")

    def write(self, view: memoryview, start: int, base_va: int, pointers: list[int], value: int) -> None:
        """Write the launch at view[start:], which the GPU sees at `base_va` (256-byte aligned). One pack_into
        straight into the mapping: packing to bytes first and copying those costs twice as much."""
        addr = base_va >> self.addr_shift
        lo, hi = self.lo_bits | (addr & 0xFFFFFFFF), self.hi_bits | (addr >> 32) << self.hi_shift
        c = self.chunks
        first, second = (lo, hi) if self.lo_first else (hi, lo)
        self.struct.pack_into(view, start, c[0], *pointers, c[1], first, c[2], second, c[3],
                              (base_va + self.cb_size) >> 8, c[4], value, c[5])
