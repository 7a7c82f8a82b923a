"""Named tuples of tensors that some ops return, as torch.return_types does (values/indices, min/max)."""
from __future__ import annotations

from typing import Any


class ValuesIndices(tuple):
    """(values, indices), as returned by sort, topk, cummax, median(dim), kthvalue."""

    def __new__(cls, values: Any, indices: Any) -> "ValuesIndices":
        return super().__new__(cls, (values, indices))

    @property
    def values(self) -> Any:
        return self[0]

    @property
    def indices(self) -> Any:
        return self[1]


class MinMax(tuple):
    """(min, max), as returned by aminmax."""

    def __new__(cls, lo: Any, hi: Any) -> "MinMax":
        return super().__new__(cls, (lo, hi))

    @property
    def min(self) -> Any:
        return self[0]

    @property
    def max(self) -> Any:
        return self[1]
