"""A GPFIFO channel as the CPU drives it: pushbuffer space, the GPFIFO ring, GPPut in USERD, and the doorbell.

Submitting = copy the command dwords into the pushbuffer ring, write one GPFIFO entry pointing at them, publish
the new GPPut in USERD, then write the channel's work-submit token to the usermode doorbell.
"""
from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from ...errors import DeviceError
from . import methods as m
from .commands import Commands
from .kernel_iface import KernelInterface
from .memory import Allocation


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
    pb_cursor: int = 0
    in_flight: deque = field(default_factory=deque)  # (pushbuffer start, end, timeline value) oldest first

    def __post_init__(self) -> None:
        self.ring = self.rings.area.view()[:self.rings.userd_offset].cast("Q")
        self.userd = self.rings.area.view()[self.rings.userd_offset:self.rings.userd_offset + m.USERD_BYTES]
        self.pb = self.rings.pushbuf.view()

    @property
    def gp_get(self) -> int:
        return struct.unpack_from("<I", self.userd, m.USERD_GP_GET_OFFSET)[0]

    def submit(self, cmds: Commands, value: int) -> None:
        """Queue `cmds` (which end by releasing timeline `value`) and ring the doorbell."""
        nbytes = len(cmds.words) * 4
        if nbytes > len(self.pb) // 2:
            raise DeviceError(f"NV: command stream of {nbytes} bytes exceeds half the {self.name} pushbuffer")
        start = self._reserve(nbytes)
        self.pb[start:start + nbytes] = cmds.words.tobytes()
        self.in_flight.append((start, start + nbytes, value))
        self._wait_for_ring_slot()
        self.ring[self.put % self.rings.entries] = m.gp_entry(self.rings.pushbuf.va + start, len(cmds.words))
        self.put += 1
        struct.pack_into("<I", self.userd, m.USERD_GP_PUT_OFFSET, self.put % self.rings.entries)
        self.kif.mmio_write32(self.doorbell_addr, self.token)

    def _reserve(self, nbytes: int) -> int:
        """Pushbuffer bytes [start, start+nbytes), first waiting for the GPU to finish commands stored there."""
        start = self.pb_cursor if self.pb_cursor + nbytes <= len(self.pb) else 0
        end = start + nbytes
        overlapping = [value for s, e, value in self.in_flight if s < end and start < e]
        if overlapping:
            done = max(overlapping)
            self._wait(done)  # the timeline is in submission order, so everything up to `done` is finished
            while self.in_flight and self.in_flight[0][2] <= done:
                self.in_flight.popleft()
        self.pb_cursor = end
        return start

    def _wait_for_ring_slot(self) -> None:
        if self.put - self._consumed() >= self.rings.entries - 1 and self.in_flight:
            self._wait(self.in_flight[0][2])

    def _consumed(self) -> int:
        """GPFIFO entries the GPU has fetched, as an absolute count."""
        get = self.gp_get
        return self.put - ((self.put - get) % self.rings.entries)

    def _wait(self, value: int) -> None:
        if self.wait_value is None:
            raise DeviceError(f"NV: {self.name} channel has no way to wait for the GPU")
        self.wait_value(value)
