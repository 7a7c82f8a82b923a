"""Byte ranges handed out round-robin from a fixed buffer the GPU reads, reused once the GPU is done with them."""
from __future__ import annotations

from collections import deque
from typing import Callable


class RingSpace:
    """Hands out [start, start+n) in order, wrapping to 0; waits (on a timeline value) before reusing bytes."""

    def __init__(self, size: int, wait: Callable[[int], None]):
        self.size, self.wait = size, wait
        self.cursor = 0
        self.in_flight: deque[tuple[int, int, int]] = deque()  # (start, end, timeline value), oldest first

    def take(self, nbytes: int, align: int = 256, busy_until: int = 0) -> int:
        """Bytes [start, start + nbytes); with `busy_until`, also marked busy until the timeline reaches it (as
        used_until does, in the same call: an eager launch makes one)."""
        if nbytes > self.size // 2:
            raise ValueError(f"{nbytes} bytes is more than half of a {self.size}-byte ring")
        start = (self.cursor + align - 1) // align * align
        tail = None
        if start + nbytes > self.size:
            tail, start = self.cursor, 0  # skip the tail and wrap
        end = start + nbytes
        # In-flight ranges are in ring order, oldest first; the ones we overwrite (or skip) are the oldest.
        done = 0
        while self.in_flight:
            s, e, value = self.in_flight[0]
            if not ((tail is not None and s >= tail) or (s < end and start < e)):
                break
            done = value
            self.in_flight.popleft()
        if done:
            self.wait(done)  # the timeline is in submission order: everything up to `done` has finished
        self.cursor = end
        if busy_until:
            self.in_flight.append((start, end, busy_until))
        return start

    def used_until(self, start: int, nbytes: int, value: int) -> None:
        """Mark [start, start+nbytes) busy until the timeline reaches `value`."""
        self.in_flight.append((start, start + nbytes, value))
