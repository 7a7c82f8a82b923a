"""Eager launches from prebuilt slots: constant bank 0, QMD and launch dwords of one (program, grid, block), built
once in GPU-readable memory and reused in turn.

An eager op is one small launch, and its CPU cost is the op's latency. Everything in a launch is fixed by the
program, its shape and where the launch lies in memory, except the buffer addresses in the constant bank and the
timeline value the launch releases. So each (program, grid, block) gets SLOTS complete launches at fixed
addresses in command memory, written once (`EagerLaunch`); a launch takes the next slot, waits (rarely) until the
GPU finished the slot's previous launch, stores the addresses (only when they changed) and the release value, and
queues the slot's GPFIFO entry, which is also precomputed. About thirty bytes are written where a whole
launch (a kilobyte and more) used to be. The GPU reads constant bank and QMD afresh at each launch: the QMD
invalidates the constant caches, as the JIT replay's patched launches rely on too (nv/replay.py).
"""
from __future__ import annotations

import ctypes
import struct
from array import array
from typing import TYPE_CHECKING

from .commands import launch_then_release
from .methods import gp_entry
from .qmd import QMD_SLOT_BYTES

if TYPE_CHECKING:
    from .program import NVProgram
    from .timeline import Timeline

CB_ALIGN = 256
WORDS_BYTES = 64                      # room for the launch and release dwords after the QMD
QMD_ADDRESS_WORD, VALUE_WORD = 1, 7   # in launch_then_release: SEND_PCAS_A's data, then the release payload
SLOTS = 8                             # launches of one shape in flight before the CPU waits for the oldest


def pointers_contiguous(program: NVProgram) -> bool:
    """True when every parameter is a pointer and they follow each other from offset 0 in declaration order."""
    params = program.kernel.params
    return all(p.size == 8 and p.offset == 8 * i for i, p in enumerate(params))


class EagerLaunch:
    """One program launched with one grid and block, as SLOTS prebuilt launches in the driver's command memory.

    `write` lays out the bytes of one launch for given addresses (as one struct whose fixed stretches are constant
    strings); the slots are written with it once, and `prepare` then changes only what differs between launches."""

    def __init__(self, program: NVProgram, grid: tuple[int, int, int], block: tuple[int, int, int], sem_va: int):
        self.program, self.grid, self.block = program, grid, block
        driver = program.driver
        self.local_bytes = driver.local_bytes_per_thread  # baked into the QMD: a change means rebuild
        n = program.n_pointers
        cb0 = program.constant_bank0([0] * n, (), grid, block)
        self.cb_size = (len(cb0) + CB_ALIGN - 1) // CB_ALIGN * CB_ALIGN
        self.words_at = self.cb_size + QMD_SLOT_BYTES
        self.size = self.words_at + WORDS_BYTES
        self.stride = (self.size + CB_ALIGN - 1) // CB_ALIGN * CB_ALIGN  # slots start 256-byte aligned, as QMDs must
        self._build_struct(program, grid, block, cb0, sem_va)
        self.slots = driver.take_launch_slots(SLOTS * self.stride)
        self.driver = driver
        self._write_slots(n)

    def _build_struct(self, program: NVProgram, grid: tuple[int, int, int], block: tuple[int, int, int],
                      cb0: bytes, sem_va: int) -> None:
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
        params, n = program.kernel.param_base, program.n_pointers
        first, second = self.cb_size + 4 * min(lo, hi), self.cb_size + 4 * max(lo, hi)
        qmd_address, value = self.words_at + 4 * QMD_ADDRESS_WORD, self.words_at + 4 * VALUE_WORD
        fields = [(params, 8 * n), (first, 4), (second, 4), (qmd_address, 4), (value, 8)]
        ends = [0] + [at + size for at, size in fields]
        self.chunks = tuple(bytes(blob[end:at]) for end, (at, _) in zip(ends, fields)) + (bytes(blob[ends[-1]:]),)
        self.struct = struct.Struct(f"<{len(self.chunks[0])}s{n}Q" + "".join(
            f"{len(c)}s{'Q' if size == 8 else 'I'}" for c, (_, size) in zip(self.chunks[1:], fields[1:]))
            + f"{len(self.chunks[-1])}s")

    def _write_slots(self, n_pointers: int) -> None:
        """Each slot a complete launch at its own address; per slot, handles on what a launch changes."""
        base = self.slots.va
        view = memoryview((ctypes.c_char * (SLOTS * self.stride)).from_address(base)).cast("B")
        params = self.program.kernel.param_base
        self.pointer_words, self.value_words, self.entries = [], [], []
        for i in range(SLOTS):
            at = base + i * self.stride
            self.write(view, i * self.stride, at, [0] * n_pointers, 0)
            self.pointer_words.append((ctypes.c_uint64 * n_pointers).from_address(at + params))
            self.value_words.append(ctypes.c_uint64.from_address(at + self.words_at + 4 * VALUE_WORD))
            self.entries.append(gp_entry(at + self.words_at, self.n_words))
        self.busy = [0] * SLOTS  # per slot: the timeline value its last launch releases
        self.written: list[list[int] | None] = [None] * SLOTS  # per slot: the addresses its constant bank holds
        self.turn = 0

    def write(self, view: memoryview, start: int, base_va: int, pointers: list[int], value: int) -> None:
        """Write the launch at view[start:], which the GPU sees at `base_va` (256-byte aligned)."""
        addr = base_va >> self.addr_shift
        lo, hi = self.lo_bits | (addr & 0xFFFFFFFF), self.hi_bits | (addr >> 32) << self.hi_shift
        c = self.chunks
        first, second = (lo, hi) if self.lo_first else (hi, lo)
        self.struct.pack_into(view, start, c[0], *pointers, c[1], first, c[2], second, c[3],
                              (base_va + self.cb_size) >> 8, c[4], value, c[5])

    def prepare(self, pointers: list[int], value: int, timeline: Timeline) -> int:
        """Make the next slot launch with these buffer addresses and release timeline `value`, once the GPU is done
        with the slot's previous launch; returns the slot's GPFIFO entry. The list is kept, to skip the store when
        the slot's next launch has the same addresses: callers pass a list they do not change afterwards."""
        slot = self.turn
        self.turn = (slot + 1) % SLOTS
        busy = self.busy
        if busy[slot] > timeline.reached:
            timeline.wait(busy[slot])
        if self.written[slot] != pointers:
            self.pointer_words[slot][:] = pointers
            self.written[slot] = pointers
        self.value_words[slot].value = value
        busy[slot] = value
        return self.entries[slot]

    def __del__(self) -> None:
        try:
            self.driver.retire_launch_slots(self.slots, max(self.busy))
        except Exception:  # noqa: BLE001 - never raise from a finalizer (e.g. a driver closed at exit)
            pass
