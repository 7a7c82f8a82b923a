"""The Device base class's caching allocator: reuse by size, bounded, evicting the oldest sizes first."""
from __future__ import annotations

from baregrad.device import Device


class FakeDevice(Device):
    """Hands out numbered handles and records which ones were really freed."""
    name = "FAKE"

    def __init__(self, limit: int):
        super().__init__()
        self.limit, self.next_handle, self.really_freed = limit, 0, []

    def cache_limit(self) -> int:
        return self.limit

    def alloc_raw(self, nbytes: int) -> int:
        self.next_handle += 1
        return self.next_handle

    def free_raw(self, handle: int, nbytes: int) -> None:
        self.really_freed.append(handle)


def test_freed_buffer_is_reused_for_the_same_size():
    dev = FakeDevice(limit=100)
    h = dev.alloc(40)
    dev.free(h, 40)
    assert dev.alloc(40) == h and dev.alloc(40) != h and dev.really_freed == []


def test_over_the_limit_the_oldest_cached_size_goes_first():
    dev = FakeDevice(limit=100)
    a, b, c = dev.alloc(30), dev.alloc(40), dev.alloc(60)
    dev.free(a, 30)
    dev.free(b, 40)
    dev.free(c, 60)   # 30 + 40 + 60 > 100: the 30-byte buffer (cached first) is returned, then fits
    assert dev.really_freed == [a]
    assert dev.alloc(60) == c and dev.alloc(40) == b


def test_a_buffer_bigger_than_the_whole_cache_is_freed_at_once():
    dev = FakeDevice(limit=100)
    small, big = dev.alloc(10), dev.alloc(200)
    dev.free(small, 10)
    dev.free(big, 200)
    assert dev.really_freed == [big] and dev.alloc(10) == small


def test_a_loop_freeing_the_limit_size_keeps_reusing_it():
    """The GPU benchmark's case: other sizes are cached, then a buffer of exactly the limit cycles."""
    dev = FakeDevice(limit=100)
    others = [dev.alloc(20) for _ in range(3)]
    for h in others:
        dev.free(h, 20)
    first = dev.alloc(100)
    dev.free(first, 100)
    assert dev.alloc(100) == first and sorted(dev.really_freed) == sorted(others)
