"""Named counters since start (kernels launched, compiles, ...): `baregrad.counters()`."""
from __future__ import annotations

from collections import Counter

_COUNTS: Counter = Counter()


def bump(name: str, n: int = 1) -> None:
    _COUNTS[name] += n


def counters(reset: bool = False) -> dict[str, int]:
    """A snapshot of the counters; with reset=True they start again from zero."""
    snapshot = {"kernels": 0, "compiles": 0, **_COUNTS}
    if reset:
        _COUNTS.clear()
    return snapshot


def reset_counters() -> None:
    _COUNTS.clear()
