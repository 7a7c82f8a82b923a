"""The caching allocator every device has: freed buffers are kept by size for reuse, bounded by cache_limit().

A backend supplies the raw operations (alloc_raw, free_raw, copyin, copyout); `Allocator` adds the cache. When
memory grows, the allocator first calls the pressure hooks that higher layers registered (the engine registers a
sweep of unreferenced graph nodes, which may hold dead buffers), so this layer never reaches upward itself.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

from baregrad.errors import DeviceError, OutOfMemoryError

SWEEP_BYTES = 32 << 20  # new device memory between pressure-hook calls
SWEEP_MISSES = 256      # ... or this many cache misses: many small buffers (a JIT replay's outputs) add up slowly

PRESSURE_HOOKS: list[Callable[[], None]] = []


def on_memory_pressure(hook: Callable[[], None]) -> None:
    """Call `hook` (it should free what it can into the cache) before an allocator grows after much new memory."""
    if hook not in PRESSURE_HOOKS:
        PRESSURE_HOOKS.append(hook)


class Allocator:
    """Raw device memory plus a by-size cache of freed buffers. Subclasses implement the *_raw and copy methods."""

    def __init__(self) -> None:
        self._free_cache: dict[int, list[Any]] = defaultdict(list)
        self._cached_bytes = 0
        self.live_bytes = 0  # bytes this allocator holds (in use or cached): named in out-of-memory errors
        self._since_sweep = self._misses = 0  # new device memory and cache misses since the last pressure hooks

    # ---- what a backend implements ----
    def alloc_raw(self, nbytes: int) -> Any:
        raise NotImplementedError

    def free_raw(self, handle: Any, nbytes: int) -> None:
        pass

    def copyin(self, handle: Any, data: bytes | memoryview) -> None:
        raise NotImplementedError

    def copyout(self, handle: Any, nbytes: int) -> bytes:
        raise NotImplementedError

    def cache_limit(self) -> int:
        return 1 << 30

    # ---- the cache ----
    def alloc(self, nbytes: int) -> Any:
        cached = self._free_cache.get(nbytes)
        if not cached and (self._since_sweep > SWEEP_BYTES or self._misses > SWEEP_MISSES):
            for hook in PRESSURE_HOOKS:  # dead tensors' buffers may still be held: release them into the cache
                hook()
            self._since_sweep = self._misses = 0
            cached = self._free_cache.get(nbytes)
        if cached:
            self._cached_bytes -= nbytes
            handle = cached.pop()
            if not cached:
                del self._free_cache[nbytes]
            return handle
        self._since_sweep += nbytes
        self._misses += 1
        try:
            handle = self.alloc_raw(nbytes)
        except (MemoryError, DeviceError):
            self.clear_cache()  # cached free buffers may be what stands in the way
            try:
                handle = self.alloc_raw(nbytes)
            except MemoryError as e:  # OutOfMemoryError included: add the size asked and the live total
                raise self.out_of_memory(nbytes, e) from e
        self.live_bytes += nbytes
        return handle

    def out_of_memory(self, nbytes: int, cause: BaseException) -> OutOfMemoryError:
        """The error for an allocation of `nbytes` the device cannot give; the process stays usable."""
        name = getattr(self, "name", type(self).__name__)
        in_use = self.live_bytes - self._cached_bytes
        return OutOfMemoryError(f"{name} out of memory: asked for {format_bytes(nbytes)}, with "
                                f"{format_bytes(in_use)} live in baregrad buffers on {name} "
                                f"({cause or type(cause).__name__})")

    def free(self, handle: Any, nbytes: int) -> None:
        """Keep the buffer for reuse by an allocation of the same size. Over cache_limit(), the oldest cached
        sizes are returned to the device first: the buffer just freed is the likeliest to be asked for again
        (a loop realizing the same graph frees and re-allocates the same sizes every step)."""
        limit = self.cache_limit()
        if nbytes > limit:
            self.free_raw(handle, nbytes)
            self.live_bytes -= nbytes
            return
        while self._cached_bytes + nbytes > limit:
            size = next(iter(self._free_cache))  # dicts keep insertion order: the size cached longest ago
            old = self._free_cache[size]
            if old:
                self.free_raw(old.pop(0), size)
                self._cached_bytes -= size
                self.live_bytes -= size
            if not old:
                del self._free_cache[size]
        self._free_cache[nbytes].append(handle)
        self._cached_bytes += nbytes

    def clear_cache(self) -> None:
        for nbytes, handles in self._free_cache.items():
            for h in handles:
                self.free_raw(h, nbytes)
                self.live_bytes -= nbytes
        self._free_cache.clear()
        self._cached_bytes = 0


def format_bytes(n: int) -> str:
    """'4.00 GiB (4294967296 bytes)': readable, and exact for whoever compares numbers."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.2f} {unit} ({n} bytes)"
    return f"{n} bytes"
