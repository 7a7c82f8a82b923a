"""Recording of kernel launches for the JIT: the engine reports each launch here while a capture is active."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from baregrad.errors import ArgumentError


@dataclass
class Launch:
    program: Callable[..., Any]
    buffers: list[Any]  # engine Buffers, one per kernel parameter
    device: Any


@dataclass
class RandomDraw:
    """A buffer of RNG words (seed, counter) written at trace time; replay must write fresh ones."""
    buffer: Any
    count: int


@dataclass
class Recording:
    launches: list[Launch] = field(default_factory=list)
    draws: list[RandomDraw] = field(default_factory=list)
    written: list[Any] = field(default_factory=list)  # engine Buffers written in place (assign targets)


_ACTIVE: list[Recording] = []


def active() -> Recording | None:
    return _ACTIVE[-1] if _ACTIVE else None


def record_launch(program: Callable[..., Any], buffers: list[Any], device: Any) -> None:
    if _ACTIVE:
        _ACTIVE[-1].launches.append(Launch(program, buffers, device))


def record_writes(buffers: list[Any]) -> None:
    if _ACTIVE:
        _ACTIVE[-1].written.extend(buffers)


def record_random_draw(buffer: Any, count: int) -> None:
    if _ACTIVE:
        _ACTIVE[-1].draws.append(RandomDraw(buffer, count))


def forbid_sync(what: str) -> None:
    """Reading tensor data while capturing would freeze a data-dependent decision into the replay."""
    if _ACTIVE:
        raise ArgumentError(f"a jitted function cannot read tensor values ({what}) while it is captured: the "
                            "replay would not see the new values; move the read outside the function")


def start() -> Recording:
    rec = Recording()
    _ACTIVE.append(rec)
    return rec


def stop() -> None:
    _ACTIVE.pop()


__all__ = ["Launch", "RandomDraw", "Recording", "active", "forbid_sync", "record_launch", "record_random_draw",
           "record_writes", "start", "stop"]
