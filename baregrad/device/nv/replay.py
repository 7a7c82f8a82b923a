"""Prebuilt launch sequences for the JIT: encode every constant bank 0, QMD and pushbuffer entry once, then replay.

A replay only patches the 64-bit buffer addresses that changed in the constant banks, copies the prebuilt
launch dwords (between a timeline acquire and release) into the compute channel and rings the doorbell once.

Two copies of the encoded launches are kept and used in turn, so the CPU patches one copy while the GPU may
still be reading the other; before reusing a copy it waits until the GPU finished that copy's last replay.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

from ...errors import ArgumentError
from .commands import Commands
from .memory import Allocation, MemKind
from .qmd import QMD_SLOT_BYTES

if TYPE_CHECKING:
    from .driver import NVBuffer, NVDriver
    from .program import NVProgram

COPIES = 2
CB_ALIGN = 256


@dataclass(frozen=True)
class ReplayLaunch:
    """One launch of a replay: the program, its grid and block, and its buffers at build time."""
    program: NVProgram
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    bufs: tuple[NVBuffer | int, ...]
    vals: tuple[int, ...] = ()


@dataclass
class _Encoded:
    """One copy of all launches in GPU memory: constant banks, QMDs, and the dwords that launch them."""
    memory: Allocation
    words: bytes
    pointer_at: list[list[int]]  # [launch][pointer argument] -> byte offset of its address in `memory`
    addresses: list[list[int]]   # the addresses written there now
    done_value: int = 0          # timeline value after which the GPU no longer reads this copy


@dataclass
class _Layout:
    cb_offsets: list[int] = field(default_factory=list)
    qmd_offsets: list[int] = field(default_factory=list)
    total: int = 0


def _address(b: NVBuffer | int) -> int:
    return b if isinstance(b, int) else b.va


def _layout(banks: list[bytes]) -> _Layout:
    out = _Layout()
    at = 0
    for cb in banks:
        size = (len(cb) + CB_ALIGN - 1) // CB_ALIGN * CB_ALIGN
        out.cb_offsets.append(at)
        out.qmd_offsets.append(at + size)
        at += size + QMD_SLOT_BYTES
    out.total = at
    return out


class NVReplay:
    """A fixed sequence of launches that can be re-issued with some buffer addresses changed."""

    def __init__(self, driver: NVDriver, launches: Sequence[ReplayLaunch]):
        if not launches:
            raise ArgumentError("NV: a replay needs at least one launch")
        self.driver, self.launches = driver, list(launches)
        self.local_bytes = driver.local_bytes_per_thread
        self.copies = [self._encode() for _ in range(COPIES)]
        self.turn = 0

    def _encode(self) -> _Encoded:
        banks = [x.program.constant_bank0(x.bufs, x.vals, x.grid, x.block) for x in self.launches]
        lay = _layout(banks)
        mem = self.driver.gpu.memory.alloc(lay.total, MemKind.VIDMEM_CPU)
        view = mem.view()
        cmds = Commands()
        pointer_at, addresses = [], []
        for x, cb, cb_at, qmd_at in zip(self.launches, banks, lay.cb_offsets, lay.qmd_offsets):
            qmd = x.program.qmd(x.grid, x.block, mem.va + cb_at, len(cb))
            view[cb_at:cb_at + len(cb)] = cb
            view[qmd_at:qmd_at + len(qmd)] = qmd
            cmds.launch(mem.va + qmd_at)
            k = x.program.kernel
            pointer_at.append([cb_at + k.param_base + p.offset for p in k.params if p.size == 8])
            addresses.append([_address(b) for b in x.bufs])
        return _Encoded(mem, cmds.words.tobytes(), pointer_at, addresses)

    def run(self, patches: Sequence[tuple[int, int, NVBuffer | int]] = ()) -> int:
        """Re-issue every launch; patches are (launch index, pointer argument index, buffer). Returns the
        timeline value that marks the replay done (the driver's synchronize waits for it)."""
        drv = self.driver
        if drv.local_bytes_per_thread != self.local_bytes:  # a later program grew local memory: QMDs are stale
            drv.synchronize()
            self.local_bytes = drv.local_bytes_per_thread
            self._release_copies()
            self.copies = [self._encode() for _ in range(COPIES)]
        enc = self.copies[self.turn]
        self.turn = (self.turn + 1) % COPIES
        self._patch(enc, patches)
        cmds = drv._begin(drv.gpu.compute)  # noqa: SLF001 - the replay is part of the driver package
        cmds.words.frombytes(enc.words)
        enc.done_value = drv._end(drv.gpu.compute, cmds)  # noqa: SLF001
        return enc.done_value

    def _patch(self, enc: _Encoded, patches: Sequence[tuple[int, int, NVBuffer | int]]) -> None:
        view = None
        for launch, arg, buf in patches:
            va = _address(buf)
            if enc.addresses[launch][arg] == va:
                continue
            if view is None:  # the GPU may still read this copy from its previous replay
                self.driver.timeline.wait(enc.done_value)
                view = enc.memory.view()
            struct.pack_into("<Q", view, enc.pointer_at[launch][arg], va)
            enc.addresses[launch][arg] = va

    def _release_copies(self) -> None:
        for enc in self.copies:
            self.driver.gpu.memory.free(enc.memory)
        self.copies = []

    def free(self) -> None:
        """Return the encoded launches' memory (waits for the GPU first)."""
        if self.copies and not self.driver.closed:
            self.driver.synchronize()
            self._release_copies()
