"""A GPFIFO channel as the CPU drives it: pushbuffer space, the GPFIFO ring, GPPut in USERD, and the doorbell.

Submitting = copy the command dwords into the pushbuffer ring, write one GPFIFO entry pointing at them, publish
the new GPPut in USERD, then write the channel's work-submit token to the usermode doorbell.
"""
from __future__ import annotations

import ctypes
import struct
from dataclasses import dataclass
from typing import Callable

from ...errors import DeviceError
from . import methods as m
from .commands import Commands
from .kernel_iface import KernelInterface
from .memory import Allocation
from .ring import RingSpace


@dataclass
class ChannelRings:
    """Where a channel's rings live: GPFIFO entries then USERD in `area`; pushbuffer dwords in `pushbuf`."""
    area: Allocation
    entries: int
    pushbuf: Allocation

    @property
    def userd_offset(self) -> int:
        return self.entries * m.GP_ENTRY_BYTES


@dataclass
class Channel:
    """One GPFIFO channel bound to one engine object (compute or copy)."""
    name: str
    kif: KernelInterface
    rings: ChannelRings
    token: int
    doorbell_addr: int
    handle: int = 0
    error_notifier: Allocation | None = None
    wait_value: Callable[[int], None] | None = None  # set by the owner: waits until the timeline reaches a value
    put: int = 0
    last_value: int = 0
    known_consumed: int = 0  # GPFIFO entries the GPU had fetched when we last looked (a lower bound)

    def __post_init__(self) -> None:
        self.ring = self.rings.area.view()[:self.rings.userd_offset].cast("Q")
        self.userd = self.rings.area.view()[self.rings.userd_offset:self.rings.userd_offset + m.USERD_BYTES]
        # GPPut is written on every submission: a ctypes word over it costs a tenth of a struct.pack_into
        self.gp_put_word = ctypes.c_uint32.from_address(self.rings.area.va + self.rings.userd_offset
                                                        + m.USERD_GP_PUT_OFFSET)
        self.entries = self.rings.entries
        self.doorbell = self.kif.mmio_register(self.doorbell_addr)
        self.pb = self.rings.pushbuf.view()
        self.space = RingSpace(len(self.pb), self._wait)

    @property
    def gp_get(self) -> int:
        return struct.unpack_from("<I", self.userd, m.USERD_GP_GET_OFFSET)[0]

    def submit(self, cmds: Commands, value: int) -> None:
        """Queue `cmds` (which end by releasing timeline `value`) and ring the doorbell."""
        nbytes = len(cmds.words) * 4
        start = self.space.take(nbytes, align=4)
        self.pb[start:start + nbytes] = cmds.words.tobytes()
        self.space.used_until(start, nbytes, value)
        self.submit_at(self.rings.pushbuf.va + start, len(cmds.words), value)

    def submit_at(self, va: int, n_words: int, value: int) -> None:
        """Queue `n_words` dwords already written at GPU address `va` (ending by releasing timeline `value`)."""
        self.submit_entry(m.gp_entry(va, n_words), value)

    def submit_entry(self, entry: int, value: int) -> None:
        """Queue one GPFIFO entry (m.gp_entry) whose dwords end by releasing timeline `value`; ring the doorbell."""
        put, entries = self.put, self.entries
        # GPGet lives in GPU memory: reading it crosses the bus, so it is read only when the ring may be full
        if put - self.known_consumed >= entries - 1:
            self._wait_for_ring_slot()
        self.ring[put % entries] = entry
        put += 1
        self.put = put
        self.last_value = value
        self.gp_put_word.value = put % entries
        self.doorbell.value = self.token

    def _wait_for_ring_slot(self) -> None:
        self.known_consumed = self._consumed()
        if self.put - self.known_consumed >= self.rings.entries - 1:
            self._wait(self.last_value)  # everything submitted before is then fetched
            self.known_consumed = self._consumed()

    def _consumed(self) -> int:
        """GPFIFO entries the GPU has fetched, as an absolute count."""
        get = self.gp_get
        return self.put - ((self.put - get) % self.rings.entries)

    def _wait(self, value: int) -> None:
        if self.wait_value is None:
            raise DeviceError(f"NV: {self.name} channel has no way to wait for the GPU")
        self.wait_value(value)
