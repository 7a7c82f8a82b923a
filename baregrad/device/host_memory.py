"""Plain host memory for devices that run on the CPU (CPU, LLVM): ctypes arrays, copied with memmove.

Before a large allocation the free host memory is checked (MemAvailable, the address-space and data rlimits, the
cgroup's memory.max): Linux overcommits, so asking for more than is there would succeed and get the process killed
later, when the pages are first written. A request that cannot fit raises OutOfMemoryError instead.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

from baregrad.errors import OutOfMemoryError

try:
    import resource
except ImportError:  # not a POSIX system: no rlimits to read
    resource = None  # type: ignore[assignment]

CHECK_FROM = 1 << 24  # smaller requests skip the check: reading /proc costs more than they can risk


@dataclass(frozen=True)
class HostRoom:
    """How many bytes the process can still get, and which limit says so."""
    nbytes: int
    limit: str


def _proc_fields(path: str, names: tuple[str, ...]) -> dict[str, int]:
    """'Name:  123 kB' lines of a /proc file, in bytes."""
    found: dict[str, int] = {}
    try:
        with open(path) as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in names and rest.split():
                    found[key] = int(rest.split()[0]) * (1024 if rest.strip().endswith("kB") else 1)
    except (OSError, ValueError):
        pass
    return found


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            text = f.read().strip()
        return int(text) if text.isdigit() else None
    except (OSError, ValueError):
        return None


def host_room() -> HostRoom | None:
    """The tightest of the limits on new host memory that this process can know, or None when none is known."""
    rooms = []
    mem = _proc_fields("/proc/meminfo", ("MemAvailable",))
    if "MemAvailable" in mem:
        rooms.append(HostRoom(mem["MemAvailable"], "MemAvailable in /proc/meminfo"))
    status = _proc_fields("/proc/self/status", ("VmSize", "VmData"))
    limits = (("RLIMIT_AS", "VmSize"), ("RLIMIT_DATA", "VmData")) if resource is not None else ()
    for name, used in limits:
        soft = resource.getrlimit(getattr(resource, name))[0]
        if soft != resource.RLIM_INFINITY and used in status:
            rooms.append(HostRoom(max(soft - status[used], 0), f"{name} of {soft} bytes, {status[used]} in use"))
    cg_max, cg_now = _read_int("/sys/fs/cgroup/memory.max"), _read_int("/sys/fs/cgroup/memory.current")
    if cg_max is not None and cg_now is not None:
        rooms.append(HostRoom(max(cg_max - cg_now, 0), f"cgroup memory.max of {cg_max} bytes, {cg_now} in use"))
    return min(rooms, key=lambda r: r.nbytes) if rooms else None


def check_host_room(nbytes: int) -> None:
    """Raise OutOfMemoryError when a request of `nbytes` cannot fit in the host memory left."""
    if nbytes < CHECK_FROM:
        return
    room = host_room()
    if room is not None and nbytes > room.nbytes:
        raise OutOfMemoryError(f"{room.nbytes} bytes of host memory left ({room.limit})")


class HostMemory:
    """Allocator methods for a Device whose buffers are ordinary process memory."""

    def alloc_raw(self, nbytes: int) -> Any:
        check_host_room(nbytes)
        try:
            return (ctypes.c_char * max(nbytes, 1))()
        except MemoryError as e:
            raise OutOfMemoryError("the C allocator refused it") from e

    def copyin(self, handle: Any, data: bytes | memoryview) -> None:
        # ctypes takes bytes but not memoryviews; a read-only mmap view has no address we may use, so copy
        raw = data if isinstance(data, bytes) else bytes(data)
        ctypes.memmove(handle, raw, len(raw))

    def copyout(self, handle: Any, nbytes: int) -> bytes:
        return ctypes.string_at(handle, nbytes)
