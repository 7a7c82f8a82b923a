"""Movement-only helpers: roll, movedim, tile, diff, one_hot, and the free functions meshgrid, broadcast_tensors,
triu_indices and tril_indices. None of them moves data by itself: they are index arithmetic in the consumer."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from baregrad import dtype as dt
from baregrad.errors import ArgumentError, DTypeError, ShapeError

if TYPE_CHECKING:
    from baregrad.tensor import Tensor


def int_args(args: tuple) -> tuple[int, ...]:
    """Accept f(1, 2) and f((1, 2)) alike."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


def torch_pad_pairs(shape: tuple[int, ...], pad: Sequence[int]) -> list[tuple[int, int]]:
    """torch's flat pad list (last_before, last_after, prev_before, ...) as one (before, after) pair per dim."""
    ndim = len(shape)
    if len(pad) % 2 or len(pad) // 2 > ndim:
        raise ShapeError(f"pad {tuple(pad)} does not fit a tensor of shape {shape} ({ndim} dims)")
    pairs = [(0, 0)] * ndim
    for i in range(len(pad) // 2):
        pairs[ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return pairs


PAD_MODES = ("constant", "reflect", "replicate", "circular")


class ShapeOps:
    """Movement methods; `self` is a Tensor."""
    __slots__ = ()

    def pad_torch(self: "Tensor", pad: Sequence[int], mode: str = "constant", value: Any = 0) -> "Tensor":
        """torch.nn.functional.pad: torch's argument order (last_before, last_after, prev_before, ...) and modes
        constant, reflect, replicate, circular."""
        pairs = torch_pad_pairs(self.shape, pad)
        if mode == "constant":
            return self.pad(pairs, 0 if value is None else value)
        if mode not in PAD_MODES:
            raise ArgumentError(f"pad mode must be one of {', '.join(PAD_MODES)}, got {mode!r}")
        x = self
        for axis, (before, after) in enumerate(pairs):
            if before or after:
                x = x.pad_edge(axis, before, after, mode)
        return x

    def pad_edge(self: "Tensor", axis: int, before: int, after: int, mode: str) -> "Tensor":
        """Pad one axis by reflecting, replicating or wrapping its own edge values (no constant)."""
        n = self.shape[axis]
        if mode == "reflect" and (before >= n or after >= n):
            raise ShapeError(f"reflect padding ({before}, {after}) must be smaller than the dim size {n}")
        if mode == "reflect":
            left, right = self.narrow(axis, 1, before).flip(axis), self.narrow(axis, n - 1 - after, after).flip(axis)
        elif mode == "replicate":
            left = self.narrow(axis, 0, 1).expand(*[before if d == axis else s for d, s in enumerate(self.shape)])
            right = self.narrow(axis, n - 1, 1).expand(*[after if d == axis else s for d, s in enumerate(self.shape)])
        else:
            left, right = self.narrow(axis, n - before, before), self.narrow(axis, 0, after)
        parts = [p for p in (left, self, right) if p.shape[axis]]
        return type(self).cat(parts, axis)

    def roll(self: "Tensor", shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> "Tensor":
        if dims is None:
            return self.reshape(-1).roll(shifts, 0).reshape(self.shape)
        shifts_t = (shifts,) if isinstance(shifts, int) else tuple(shifts)
        dims_t = (dims,) if isinstance(dims, int) else tuple(dims)
        if len(shifts_t) != len(dims_t):
            raise ShapeError(f"roll needs as many shifts as dims, got {shifts_t} and {dims_t}")
        out = self
        for shift, dim in zip(shifts_t, dims_t):
            axis = out._axis(dim)
            n = out.shape[axis]
            s = shift % n if n else 0
            if s:
                out = type(self).cat([out.narrow(axis, n - s, s), out.narrow(axis, 0, n - s)], axis)
        return out

    def movedim(self: "Tensor", source: int | Sequence[int], destination: int | Sequence[int]) -> "Tensor":
        src = [self._axis(d) for d in ((source,) if isinstance(source, int) else source)]
        dst = [self._axis(d) for d in ((destination,) if isinstance(destination, int) else destination)]
        if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
            raise ShapeError(f"movedim: source {source} and destination {destination} do not match")
        order: list[int | None] = [None] * self.ndim
        for s, d in zip(src, dst):
            order[d] = s
        rest = iter(a for a in range(self.ndim) if a not in src)
        return self.permute([o if o is not None else next(rest) for o in order])

    moveaxis = movedim

    def tile(self: "Tensor", *dims: Any) -> "Tensor":
        reps = int_args(dims)
        reps = (1,) * (self.ndim - len(reps)) + reps  # torch pads the repeat counts on the left
        return self.repeat(*reps)

    def diff(self: "Tensor", n: int = 1, dim: int = -1, prepend: "Tensor | None" = None,
             append: "Tensor | None" = None) -> "Tensor":
        if n < 0:
            raise ArgumentError(f"diff needs n >= 0, got {n} for shape {self.shape}")
        axis = self._axis(dim)
        x = self
        if prepend is not None or append is not None:
            parts = [p if p.ndim else p.expand(_with(self.shape, axis, 1)) for p in (prepend, append) if p is not None]
            parts = ([parts.pop(0)] if prepend is not None else []) + [self] + parts
            x = type(self).cat(parts, axis)
        for _ in range(n):
            size = x.shape[axis]
            if size == 0:
                break
            after, before = x.narrow(axis, 1, size - 1), x.narrow(axis, 0, size - 1)
            x = (after ^ before) if x.dtype is dt.bool_ else after - before
        return x


def _with(shape: tuple[int, ...], axis: int, size: int) -> tuple[int, ...]:
    return shape[:axis] + (size,) + shape[axis + 1:]


def one_hot(t: "Tensor", num_classes: int = -1) -> "Tensor":
    """int64 one-hot of an integer tensor along a new last dim (torch.nn.functional.one_hot). num_classes=-1
    is a sync point: the largest value sets the size."""
    from baregrad.tensor import Tensor
    if t.dtype.is_float or t.dtype is dt.bool_:
        raise DTypeError(f"one_hot needs an integer tensor, got {t.dtype.name}")
    if num_classes < 0:
        num_classes = int(t.amax().item()) + 1 if t.numel() else 0
    classes = Tensor.arange(num_classes, dtype=t.dtype, device=t.device)
    return (t.unsqueeze(-1) == classes).cast(dt.int64)


def broadcast_shapes(*shapes: Sequence[int]) -> tuple[int, ...]:
    n = max((len(s) for s in shapes), default=0)
    out = [1] * n
    for s in shapes:
        for i, size in enumerate((1,) * (n - len(s)) + tuple(s)):
            if size != out[i] and 1 not in (size, out[i]):
                raise ShapeError(f"shapes {[tuple(x) for x in shapes]} cannot be broadcast together")
            out[i] = size if out[i] == 1 else out[i]
    return tuple(out)


def broadcast_tensors(*tensors: "Tensor") -> tuple["Tensor", ...]:
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(t.expand(shape) for t in tensors)


def meshgrid(*tensors: "Tensor", indexing: str = "ij") -> tuple["Tensor", ...]:
    tensors = tuple(tensors[0]) if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)) else tensors
    if indexing not in ("ij", "xy"):
        raise ArgumentError(f"meshgrid indexing must be 'ij' or 'xy', got {indexing!r}")
    if any(t.ndim > 1 for t in tensors):
        raise ShapeError(f"meshgrid needs 0-d or 1-d tensors, got {[tuple(t.shape) for t in tensors]}")
    flat = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(flat) >= 2
    if swap:  # 'xy' is 'ij' with the first two inputs trading places in the output layout
        flat[0], flat[1] = flat[1], flat[0]
    shape = tuple(t.shape[0] for t in flat)
    out = [t.reshape(_with((1,) * len(flat), i, t.shape[0])).expand(shape) for i, t in enumerate(flat)]
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def _triangle_indices(row: int, col: int, offset: int, lower: bool, dtype: Any, device: Any) -> "Tensor":
    """Static (row, col) pairs of a triangle, in row-major order: known from the arguments, no data involved."""
    from baregrad.tensor import Tensor
    pairs = [(i, j) for i in range(row) for j in range(col) if ((j - i <= offset) if lower else (j - i >= offset))]
    if not pairs:
        return Tensor.zeros(2, 0, dtype=dtype or dt.int64, device=device)
    return Tensor([[p[0] for p in pairs], [p[1] for p in pairs]], dtype=dtype or dt.int64, device=device)


def tril_indices(row: int, col: int, offset: int = 0, dtype: Any = None, device: Any = None) -> "Tensor":
    return _triangle_indices(row, col, offset, True, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, dtype: Any = None, device: Any = None) -> "Tensor":
    return _triangle_indices(row, col, offset, False, dtype, device)
