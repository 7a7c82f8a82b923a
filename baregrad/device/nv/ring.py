"""Byte ranges handed out round-robin from a fixed buffer the GPU reads, reused once the GPU is done with them."""
from __future__ import annotations

from typing import Callable

PARTS = 16


class RingSpace:
    """Hands out [start, start+n) in order, wrapping to 0; waits (on a timeline value) before reusing bytes.

    The ring is tracked in sixteen equal parts, each with the newest timeline value of the work that started in
    it. Bytes [cursor, clear_until) hold no work in flight, so most takes only move the cursor; crossing into the
    next part first waits for that part's value from the previous lap (long done while the ring is large against
    what one submission uses). A range that runs on into the next part is covered by its first part's value:
    parts are cleared in ring order, so the wait for the first part comes before the next part is reused."""

    def __init__(self, size: int, wait: Callable[[int], None]):
        self.size, self.wait = size, wait
        self.part_bytes = -(-size // PARTS)
        self.busy = [0] * PARTS  # per part: timeline value of the newest work that started there
        self.cursor = 0
        self.clear_until = size  # a fresh ring is clear throughout

    def take(self, nbytes: int, align: int = 256) -> int:
        """Bytes [start, start + nbytes), free of work in flight (mark them with used_until once submitted)."""
        if nbytes > self.size // 2:
            raise ValueError(f"{nbytes} bytes is more than half of a {self.size}-byte ring")
        start = (self.cursor + align - 1) // align * align
        if start + nbytes > self.clear_until:
            start = self._clear_for(start, nbytes)
        self.cursor = start + nbytes
        return start

    def _clear_for(self, start: int, nbytes: int) -> int:
        """Wait for the parts [start, start + nbytes) runs into (from 0 when it does not fit before the end);
        returns where the nbytes go."""
        first = self.clear_until // self.part_bytes
        if start + nbytes > self.size:
            start, first = 0, 0  # the tail is skipped: the part it is in was cleared when the cursor entered it
        last = (start + nbytes - 1) // self.part_bytes
        done = max(self.busy[first:last + 1])
        if done:
            self.wait(done)  # the timeline is in submission order: everything up to `done` has finished
        self.clear_until = min(self.size, (last + 1) * self.part_bytes)
        return start

    def used_until(self, start: int, nbytes: int, value: int) -> None:
        """Mark [start, start+nbytes) busy until the timeline reaches `value` (values come in increasing order)."""
        self.busy[start // self.part_bytes] = value
