"""Timeline semaphores: a 64-bit counter in GPU-visible memory the GPU releases and the CPU waits on (>=).

A wait checks the channels' error notifiers while it spins, so a GPU fault is raised as a DeviceError carrying
the notifier's text, and a value that never arrives raises after `timeout_s` instead of hanging.
"""
from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Callable

from ...errors import DeviceError
from .memory import Allocation

SEMAPHORE_BYTES = 16  # 64-bit payload, then the 64-bit ns timestamp a RELEASE_TIMESTAMP writes
SPIN_BEFORE_SLEEP = 2000


@dataclass
class Semaphore:
    """One 16-byte semaphore slot inside a CPU-visible allocation."""
    page: Allocation
    offset: int

    def __post_init__(self) -> None:
        self.mv = self.page.view()[self.offset:self.offset + SEMAPHORE_BYTES]

    @property
    def va(self) -> int:
        return self.page.va + self.offset

    @property
    def value(self) -> int:
        return struct.unpack_from("<Q", self.mv, 0)[0]

    @property
    def timestamp_ns(self) -> int:
        return struct.unpack_from("<Q", self.mv, 8)[0]

    def reset(self) -> None:
        self.mv[:] = bytes(SEMAPHORE_BYTES)


class Timeline:
    """The device-wide timeline: every submission releases the next value."""

    def __init__(self, sem: Semaphore, check_faults: Callable[[], None], describe: Callable[[], str],
                 timeout_s: float):
        self.sem, self.check_faults, self.describe, self.timeout_s = sem, check_faults, describe, timeout_s
        self.last = 0  # last value handed to a submission
        self.reached = 0  # a value the GPU is known to have reached (reading the semaphore costs more)

    def next(self) -> int:
        self.last += 1
        return self.last

    def done(self, value: int) -> bool:
        return self.sem.value >= value

    def wait(self, value: int, timeout_s: float | None = None) -> None:
        """Block until the timeline reaches `value`; raise DeviceError on a GPU fault or after the timeout."""
        if value <= self.reached:
            return
        self.reached = self.sem.value
        if self.reached >= value:
            return
        timeout = self.timeout_s if timeout_s is None else timeout_s
        deadline, spins = time.monotonic() + timeout, 0
        while self.sem.value < value:
            self.check_faults()
            if time.monotonic() > deadline:
                raise DeviceError(f"NV: timed out after {timeout:g} s waiting for timeline value {value} "
                                  f"(reached {self.sem.value}); {self.describe()}")
            spins += 1
            if spins > SPIN_BEFORE_SLEEP:
                time.sleep(0.0002)
