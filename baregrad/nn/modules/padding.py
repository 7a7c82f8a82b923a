"""Padding layers with torch's names: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad in 1, 2
and 3 dims. `padding` is an int (every side) or torch's (left, right, top, bottom, front, back) tuple."""
from __future__ import annotations

from typing import Sequence

from baregrad.errors import ShapeError
from baregrad.nn import functional as F
from baregrad.nn.module import Module
from baregrad.tensor import Tensor


def _sides(padding: int | Sequence[int], n: int) -> tuple[int, ...]:
    """torch's _ntuple(2 * n): an int on every side; a sequence kept as it is (F.pad checks it)."""
    return (int(padding),) * (2 * n) if isinstance(padding, int) else tuple(int(p) for p in padding)


class _PadNd(Module):
    n: int = 1
    mode: str = "constant"

    def __init__(self, padding: int | Sequence[int]):
        super().__init__()
        self.padding = _sides(padding, self.n)

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return F.pad(x, self.padding, self.mode)

    def _check(self, x: Tensor) -> None:
        """torch's checks for the non-constant modes: an unbatched or batched input, and no wrap past the input."""
        n = len(self.padding) // 2
        if x.ndim not in (n + 1, n + 2):
            raise ShapeError(f"{type(self).__name__} expects a {n + 1}-d or {n + 2}-d input, got shape {x.shape}")
        for i in range(n):
            size, pads = x.shape[x.ndim - 1 - i], self.padding[2 * i: 2 * i + 2]
            if self.mode == "circular" and max(pads) > size:
                raise ShapeError(f"{type(self).__name__}: padding {self.padding} wraps around input of shape "
                                 f"{x.shape} more than once")
            if self.mode == "replicate" and size == 0:
                raise ShapeError(f"{type(self).__name__}: cannot replicate an empty dim of input shape {x.shape}")

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: int | Sequence[int], value: float):
        super().__init__(padding)
        self.value = value

    def forward(self, x: Tensor) -> Tensor:
        return F.pad(x, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    n = 1


class ConstantPad2d(_ConstantPadNd):
    n = 2


class ConstantPad3d(_ConstantPadNd):
    n = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding: int | Sequence[int]):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    n = 1


class ZeroPad2d(_ZeroPadNd):
    n = 2


class ZeroPad3d(_ZeroPadNd):
    n = 3


class ReflectionPad1d(_PadNd):
    n, mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    n, mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    n, mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    n, mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    n, mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    n, mode = 3, "replicate"


class CircularPad1d(_PadNd):
    n, mode = 1, "circular"


class CircularPad2d(_PadNd):
    n, mode = 2, "circular"


class CircularPad3d(_PadNd):
    n, mode = 3, "circular"


__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ReflectionPad1d",
           "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
           "CircularPad1d", "CircularPad2d", "CircularPad3d"]
