"""Tensors split over several devices of one process: `t.shard(devices, axis)` and `t.to(devices)`.

A MultiTensor holds one Tensor per device: a slice along `axis` (sharded), or a full copy (axis None,
replicated). Elementwise ops run shard by shard; matmul follows the usual layouts of data and tensor parallelism
(batch-sharded x replicated weight, column-parallel, row-parallel); a reduction over the sharded axis sums the
partial results with an all-reduce, lowered here to copies between the devices. Each shard is made by Tensor.to,
so gradients flow back to the tensor that was sharded, and `gather()` brings the whole value to one device.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from baregrad.errors import ArgumentError, DeviceError, ShapeError

if TYPE_CHECKING:
    from baregrad.tensor import Tensor

_ELEMENTWISE = ("relu", "exp", "log", "tanh", "sigmoid", "gelu", "silu", "sqrt", "abs", "neg", "square", "float",
                "half", "detach", "contiguous", "realize")


def _tensor_class() -> type:
    from baregrad.tensor import Tensor
    return Tensor


class MultiTensor:
    """One tensor per device; `axis` is the dimension it is split along (None: every device holds all of it)."""

    def __init__(self, shards: Sequence[Tensor], axis: int | None) -> None:
        if not shards:
            raise ArgumentError("a MultiTensor needs at least one shard")
        self.shards, self.axis = list(shards), axis

    @property
    def devices(self) -> tuple[str, ...]:
        return tuple(s.device for s in self.shards)

    @property
    def dtype(self) -> Any:
        return self.shards[0].dtype

    @property
    def shape(self) -> tuple[int, ...]:
        first = self.shards[0].shape
        if self.axis is None:
            return first
        return (*first[:self.axis], sum(s.shape[self.axis] for s in self.shards), *first[self.axis + 1:])

    @property
    def grad(self) -> MultiTensor | None:
        grads = [s.grad for s in self.shards]
        return None if any(g is None for g in grads) else MultiTensor(grads, self.axis)

    def __repr__(self) -> str:
        return f"<MultiTensor {self.dtype.name}{list(self.shape)} axis={self.axis} on {', '.join(self.devices)}>"

    # ---- moving ----
    def gather(self, device: str | None = None) -> Tensor:
        """The whole value as one Tensor on `device` (default: the first shard's), differentiable."""
        target = device or self.devices[0]
        moved = [s.to(target) for s in self.shards]
        if self.axis is None:
            return moved[0]
        return _tensor_class().cat(moved, dim=self.axis)

    def numpy(self) -> Any:
        return self.gather().numpy()

    def all_reduce(self) -> MultiTensor:
        """Every device gets the sum of all shards (each a partial sum of the same shape): copies, then adds."""
        out = []
        for device in self.devices:
            total = None
            for s in self.shards:
                moved = s.to(device)
                total = moved if total is None else total + moved
            out.append(total)
        return MultiTensor(out, None)

    # ---- ops ----
    def _map(self, fn: Callable[[Tensor], Tensor]) -> MultiTensor:
        return MultiTensor([fn(s) for s in self.shards], self.axis)

    def _zip(self, other: Any, fn: Callable[[Tensor, Any], Tensor]) -> MultiTensor:
        if not isinstance(other, MultiTensor):
            if isinstance(other, _tensor_class()):
                raise DeviceError(f"cannot combine a MultiTensor on {self.devices} with a Tensor on {other.device}: "
                                  "shard it or .to(devices) it first")
            return self._map(lambda s: fn(s, other))
        if other.devices != self.devices:
            raise DeviceError(f"MultiTensors on different devices: {self.devices} and {other.devices}")
        if other.axis != self.axis:
            other = other._resharded(self.axis)
        return MultiTensor([fn(a, b) for a, b in zip(self.shards, other.shards)], self.axis)

    def _resharded(self, axis: int | None) -> MultiTensor:
        """The same value laid out along axis (from replicated: each device keeps its own slice)."""
        if self.axis is not None:
            whole = [self.gather(d) for d in self.devices]
            return MultiTensor(whole, None)._resharded(axis)
        if axis is None:
            return self
        sizes = _split_sizes(self.shape[axis], len(self.shards), axis)
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        return MultiTensor([s.narrow(axis, a, n) for s, a, n in zip(self.shards, starts, sizes)], axis)

    def __add__(self, other: Any) -> MultiTensor:
        return self._zip(other, lambda a, b: a + b)

    def __sub__(self, other: Any) -> MultiTensor:
        return self._zip(other, lambda a, b: a - b)

    def __mul__(self, other: Any) -> MultiTensor:
        return self._zip(other, lambda a, b: a * b)

    def __truediv__(self, other: Any) -> MultiTensor:
        return self._zip(other, lambda a, b: a / b)

    __radd__, __rmul__ = __add__, __mul__

    def __getattr__(self, name: str) -> Any:
        if name in _ELEMENTWISE:
            return lambda *a, **k: self._map(lambda s: getattr(s, name)(*a, **k))
        raise AttributeError(f"MultiTensor has no method {name!r} (elementwise: {', '.join(_ELEMENTWISE)}; also "
                             "matmul, sum, mean, gather, all_reduce)")

    def matmul(self, other: MultiTensor) -> MultiTensor:
        """x @ w for the layouts of data and tensor parallelism; anything else is gathered and replicated first."""
        if not isinstance(other, MultiTensor) or other.devices != self.devices:
            raise DeviceError("matmul of a MultiTensor needs another MultiTensor on the same devices")
        last, w_rows = len(self.shape) - 1, len(other.shape) - 2
        a, b = self.axis, other.axis
        if b is None and (a is None or a < last):   # data parallel (batch-sharded x) or replicated
            return MultiTensor([x @ w for x, w in zip(self.shards, other.shards)], a)
        if a is None and b == len(other.shape) - 1:  # column parallel: output split along its last dim
            return MultiTensor([x @ w for x, w in zip(self.shards, other.shards)], last)
        if a == last and b == w_rows:                # row parallel: partial products, summed across devices
            return MultiTensor([x @ w for x, w in zip(self.shards, other.shards)], None).all_reduce()
        return self._resharded(None).matmul(other._resharded(None))

    __matmul__ = matmul

    def sum(self, dim: int | None = None, keepdim: bool = False) -> MultiTensor:
        if self.axis is None:
            return self._map(lambda s: s.sum(dim, keepdim))
        ndim = len(self.shape)
        dims = None if dim is None else {d % ndim for d in ((dim,) if isinstance(dim, int) else dim)}
        if dims is not None and self.axis not in dims:  # the split axis survives: still sharded
            axis = self.axis if keepdim else self.axis - sum(1 for d in dims if d < self.axis)
            return MultiTensor([s.sum(dim, keepdim) for s in self.shards], axis)
        return MultiTensor([s.sum(dim, keepdim) for s in self.shards], None).all_reduce()

    def mean(self, dim: int | None = None, keepdim: bool = False) -> MultiTensor:
        total = self.sum(dim, keepdim)
        ndim = len(self.shape)
        dims = range(ndim) if dim is None else [d % ndim for d in ((dim,) if isinstance(dim, int) else dim)]
        count = 1
        for d in dims:
            count *= self.shape[d]
        return total * (1.0 / count)


def _split_sizes(n: int, parts: int, axis: int) -> list[int]:
    if n < parts:
        raise ShapeError(f"cannot shard a dimension of size {n} (axis {axis}) over {parts} devices")
    base, extra = divmod(n, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def shard(t: Tensor, devices: Sequence[str], axis: int | None = 0) -> MultiTensor:
    """t split along axis over devices (axis None: a full copy on each), each piece moved by Tensor.to."""
    devices = list(devices)
    if not devices:
        raise ArgumentError("shard needs at least one device")
    if axis is None:
        return MultiTensor([t.to(d) for d in devices], None)
    if not -t.ndim <= axis < t.ndim:
        raise ShapeError(f"shard axis {axis} out of range for a tensor of shape {t.shape}")
    axis %= t.ndim
    sizes = _split_sizes(t.shape[axis], len(devices), axis)
    pieces = t.split(sizes, axis)
    return MultiTensor([p.to(d) for p, d in zip(pieces, devices)], axis)


class ShardOps:
    """The Tensor side: `t.shard(devices, axis)`; `t.to([devices])` replicates (tensor.py's to)."""
    __slots__ = ()

    def shard(self: Tensor, devices: Sequence[str], axis: int | None = 0) -> MultiTensor:
        return shard(self, devices, axis)
