"""Device memory accounting: live and peak bytes per device, `bg.memory_summary()`, and the out-of-memory message.

engine/buffer.py calls on_alloc / on_free once per buffer that gets (or gives back) device memory: two integer
updates, so the counts are always there. Who made a buffer (the kernel that first wrote it, and the user's line)
is recorded only while a profiler is active. The live buffers themselves are found on demand by walking the
garbage collector's objects: the hot path keeps no list of them.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Any

from baregrad.profile import profiler

LIVE: dict[str, int] = {}
PEAK: dict[str, int] = {}


def on_alloc(buf: Any) -> None:
    name = buf.device.name
    live = LIVE[name] = LIVE.get(name, 0) + buf.nbytes
    if live > PEAK.get(name, 0):
        PEAK[name] = live
    prof = profiler.ACTIVE
    if prof is not None:
        prof.allocated(buf, live)
        buf.origin = prof.current_origin()


def on_free(buf: Any) -> None:
    name = buf.device.name
    live = LIVE[name] = LIVE.get(name, 0) - buf.nbytes
    if profiler.ACTIVE is not None:
        profiler.ACTIVE.freed(buf, live)


def reset_peak() -> None:
    """Start peak tracking again from the bytes live now."""
    PEAK.clear()
    PEAK.update(LIVE)


@dataclass(frozen=True)
class LiveBuffer:
    device: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    origin: str


BUFFER_TYPES: list[type] = []  # the engine registers its Buffer class: profile/ sits below engine/, never imports it


def track_buffer_type(cls: type) -> None:
    """Count instances of `cls` (with .allocated, .device, .dtype, .shape, .nbytes, .origin) in live_buffers()."""
    if cls not in BUFFER_TYPES:
        BUFFER_TYPES.append(cls)


def live_buffers(device: str | None = None) -> list[LiveBuffer]:
    """Every buffer holding device memory now (optionally on one device), largest first."""
    found = []
    for obj in gc.get_objects():
        if type(obj) in BUFFER_TYPES and obj.allocated and (device is None or obj.device.name == device):
            found.append(LiveBuffer(obj.device.name, obj.dtype.name, obj.shape, obj.nbytes,
                                    describe_origin(obj.origin)))
    found.sort(key=lambda b: -b.nbytes)
    return found


def describe_origin(origin: tuple[str, str] | str) -> str:
    """Buffer.origin as text: "kernel (file:line)", or why it is unknown."""
    if not origin:
        return "unknown (made outside bg.profile())"
    kernel, caller = origin
    return f"{kernel} ({caller})" if kernel else caller


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{int(n)} B" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} TiB"


def memory_summary(top: int = 10) -> str:
    """Peak and live bytes per device since start (or reset_peak()), and the largest live buffers with who made
    them (the kernel that first wrote each and the caller's line, when it was made under bg.profile())."""
    buffers = live_buffers()
    lines = ["baregrad memory summary", f"{'device':<10} {'live':>12} {'peak':>12} {'buffers':>8}"]
    for name in sorted(set(LIVE) | set(PEAK)):
        count = sum(1 for b in buffers if b.device == name)
        lines.append(f"{name:<10} {format_bytes(LIVE.get(name, 0)):>12} {format_bytes(PEAK.get(name, 0)):>12} "
                     f"{count:>8}")
    lines.append(f"largest live buffers (of {len(buffers)}):")
    lines += [f"  {format_bytes(b.nbytes):>12}  {b.device:<7} {b.dtype}{list(b.shape)}  made by {b.origin}"
              for b in buffers[:top]] or ["  (none)"]
    return "\n".join(lines)


def oom_message(device: str, asked: int, cause: BaseException | None = None, top: int = 5) -> str:
    """The message of an out-of-memory error: what was asked, what is live, and the largest live buffers."""
    buffers = live_buffers(device)
    live = sum(b.nbytes for b in buffers)
    head = (f"out of memory on {device}: asked for {format_bytes(asked)} ({asked} bytes) with "
            f"{format_bytes(live)} live in {len(buffers)} buffers (peak {format_bytes(PEAK.get(device, 0))})")
    lines = [head]
    if cause is not None:
        lines.append(f"the device said: {cause}")
    if buffers:
        lines.append("largest live buffers:")
        lines += [f"  {format_bytes(b.nbytes):>12}  {b.dtype}{list(b.shape)}  made by {b.origin}"
                  for b in buffers[:top]]
    lines.append("free tensors you no longer need (del x), use a smaller batch, or see bg.memory_summary()")
    return "\n".join(lines)


def is_out_of_memory(error: BaseException) -> bool:
    """A MemoryError, the errors module's OutOfMemoryError where it exists, or a DeviceError about memory."""
    from baregrad import errors
    oom_type = getattr(errors, "OutOfMemoryError", None)
    if isinstance(error, MemoryError) or (oom_type is not None and isinstance(error, oom_type)):
        return True
    return isinstance(error, errors.DeviceError) and "memory" in str(error).lower()


def out_of_memory(device: str, asked: int, cause: BaseException) -> Exception:
    """The error to raise for a failed allocation: errors.OutOfMemoryError when the errors module has it (issue
    22), else DeviceError; its message comes from oom_message."""
    from baregrad import errors
    oom_type = getattr(errors, "OutOfMemoryError", errors.DeviceError)
    return oom_type(oom_message(device, asked, cause))
