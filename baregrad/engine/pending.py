"""Writes in place (assign) that were issued but have not run yet.

The tensor layer records each tensor whose latest assign is pending and forgets it once it ran; the engine side
(the JIT, a realize that must run earlier writes first) asks which are still pending. Entries are weak: a tensor
dropped with its write unrun simply disappears. Anything with a `.node` (a Tensor) can be recorded.
"""
from __future__ import annotations

import weakref
from typing import Any

from baregrad.ir.ops import Op

_PENDING: "weakref.WeakValueDictionary[int, Any]" = weakref.WeakValueDictionary()


def record_write(target: Any) -> None:
    """`target`'s node is now an ASSIGN that has not run."""
    _PENDING[id(target)] = target


def write_done(target: Any) -> None:
    _PENDING.pop(id(target), None)


def pending_writes(exclude: Any = ()) -> list[Any]:
    """The targets whose assign still has to run, in the order they were issued, minus those in `exclude`."""
    skip = {id(t) for t in exclude}
    return [t for t in list(_PENDING.values()) if t.node.op is Op.ASSIGN and id(t) not in skip]


__all__ = ["pending_writes", "record_write", "write_done"]
