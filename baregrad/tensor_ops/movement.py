"""Movement-only helpers: roll, movedim, tile, diff, one_hot, and the free functions meshgrid, broadcast_tensors,
triu_indices and tril_indices. None of them moves data by itself: they are index arithmetic in the consumer."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

from baregrad import autograd
from baregrad import dtype as dt
from baregrad import tensor as core  # the Tensor class, at call time (tensor.py imports this module)
from baregrad.errors import ArgumentError, DTypeError, ShapeError

if TYPE_CHECKING:
    from baregrad.tensor import Scalar, Tensor


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


class MovementOps:
    """Movement methods of Tensor; `self` is a Tensor."""
    __slots__ = ()

    # ---- movement ----
    def reshape(self, *shape: Any) -> "Tensor":
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        shape = tuple(int(s) for s in shape)
        if shape.count(-1) > 1:
            raise ShapeError(f"only one dimension can be -1 in reshape{shape}")
        known = math.prod(s for s in shape if s != -1)
        if -1 in shape:
            if known == 0 or self.numel() % known:
                raise ShapeError(f"cannot reshape tensor of shape {self.shape} into {shape}")
            shape = tuple(self.numel() // known if s == -1 else s for s in shape)
        if math.prod(shape) != self.numel() or any(s < 0 for s in shape):
            raise ShapeError(f"cannot reshape tensor of shape {self.shape} ({self.numel()} elements) into {shape}")
        return self if shape == self.shape else autograd.Reshape.apply(self, shape=shape)

    def view(self, *shape: Any) -> "Tensor":
        if len(shape) == 1 and isinstance(shape[0], dt.DType):
            return self.bitcast(shape[0])
        return self.reshape(*shape)

    def view_as(self, other: "Tensor") -> "Tensor":
        return self.reshape(other.shape)

    def reshape_as(self, other: "Tensor") -> "Tensor":
        return self.reshape(other.shape)

    def permute(self, *order: Any) -> "Tensor":
        order = tuple(order[0]) if len(order) == 1 and isinstance(order[0], (tuple, list)) else order
        axes = tuple(self._axis(a) for a in order)
        if sorted(axes) != list(range(self.ndim)):
            raise ShapeError(f"permute{tuple(order)} is not a permutation of the {self.ndim} dims of {self.shape}")
        return self if axes == tuple(range(self.ndim)) else autograd.Permute.apply(self, order=axes)

    def transpose(self, dim0: int = 0, dim1: int = 1) -> "Tensor":
        if self.ndim < 2 and dim0 in (0, -1) and dim1 in (0, 1, -1):
            return self
        order = list(range(self.ndim))
        a, b = self._axis(dim0), self._axis(dim1)
        order[a], order[b] = order[b], order[a]
        return self.permute(order)

    swapaxes = transpose

    def t(self) -> "Tensor":
        if self.ndim > 2:
            raise ShapeError(f"t() expects a tensor with <= 2 dims, got shape {self.shape}")
        return self.transpose(0, 1) if self.ndim == 2 else self

    def expand(self, *shape: Any) -> "Tensor":
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        if len(shape) < self.ndim:
            raise ShapeError(f"cannot expand shape {self.shape} to {tuple(shape)}: fewer dimensions")
        padded = (1,) * (len(shape) - self.ndim) + self.shape
        target = tuple(p if s == -1 else int(s) for p, s in zip(padded, shape))
        for p, s in zip(padded, target):
            if p != s and p != 1:
                raise ShapeError(f"cannot expand shape {self.shape} to {tuple(shape)}")
        x = self.reshape(padded) if padded != self.shape else self
        return x if target == x.shape else autograd.Expand.apply(x, shape=target)

    def expand_as(self, other: "Tensor") -> "Tensor":
        return self.expand(other.shape)

    def broadcast_to(self, shape: Sequence[int]) -> "Tensor":
        return self.expand(tuple(shape))

    def squeeze(self, dim: Any = None) -> "Tensor":
        if dim is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        dims = {self._axis(d) for d in ((dim,) if isinstance(dim, int) else dim)} if self.ndim else set()
        return self.reshape(tuple(s for i, s in enumerate(self.shape) if not (i in dims and s == 1)))

    def unsqueeze(self, dim: int) -> "Tensor":
        axis = self._axis(dim, self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        if self.ndim == 0:
            return self.reshape(1)
        a, b = self._axis(start_dim), self._axis(end_dim)
        if a > b:
            raise ShapeError(f"flatten start_dim {start_dim} comes after end_dim {end_dim} for shape {self.shape}")
        return self.reshape(self.shape[:a] + (math.prod(self.shape[a:b + 1]),) + self.shape[b + 1:])

    def unflatten(self, dim: int, sizes: Sequence[int]) -> "Tensor":
        axis = self._axis(dim)
        return self.reshape(self.shape[:axis] + tuple(sizes) + self.shape[axis + 1:])

    def flip(self, *dims: Any) -> "Tensor":
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        axes = {self._axis(d) for d in dims}
        return self._flip_mask(tuple(i in axes for i in range(self.ndim)))

    def _flip_mask(self, mask: tuple[bool, ...]) -> "Tensor":
        return autograd.Flip.apply(self, axes=mask) if any(mask) else self

    def shrink(self, bounds: Sequence[tuple[int, int]]) -> "Tensor":
        bounds = tuple((int(b), int(e)) for b, e in bounds)
        if all(b == 0 and e == s for (b, e), s in zip(bounds, self.shape)):
            return self
        for (b, e), s in zip(bounds, self.shape):
            if not 0 <= b <= e <= s:
                raise ShapeError(f"shrink bounds {bounds} do not fit shape {self.shape}")
        return autograd.Shrink.apply(self, bounds=bounds)

    def pad(self, pads: Sequence[tuple[int, int]], value: Scalar = 0) -> "Tensor":
        """Pad each dim by (before, after); negative amounts crop. `value` fills the new cells."""
        pads = tuple((int(b), int(a)) for b, a in pads)
        if len(pads) != self.ndim:
            raise ShapeError(f"pad needs one (before, after) pair per dim of {self.shape}, got {pads}")
        crop = tuple((max(0, -b), s - max(0, -a)) for (b, a), s in zip(pads, self.shape))
        x = self.shrink(crop) if any(b < 0 or a < 0 for b, a in pads) else self
        grow = tuple((max(0, b), max(0, a)) for b, a in pads)
        if not any(b or a for b, a in grow):
            return x
        out = autograd.Pad.apply(x, pads=grow)
        if value != 0:
            inside = autograd.Pad.apply(x.ones_like(dt.bool_), pads=grow)
            out = inside.where(out, value).cast(self.dtype)
        return out

    def repeat(self, *repeats: Any) -> "Tensor":
        repeats = tuple(repeats[0]) if len(repeats) == 1 and isinstance(repeats[0], (tuple, list)) else repeats
        if len(repeats) < self.ndim:
            raise ShapeError(f"repeat needs at least {self.ndim} counts for shape {self.shape}, got {repeats}")
        base = (1,) * (len(repeats) - self.ndim) + self.shape
        x = self.reshape(base)
        expanded = x.reshape(tuple(v for s in base for v in (1, s))).expand(
            tuple(v for r, s in zip(repeats, base) for v in (r, s)))
        return expanded.reshape(tuple(r * s for r, s in zip(repeats, base)))

    def repeat_interleave(self, repeats: int, dim: int | None = None) -> "Tensor":
        x = self.reshape(-1) if dim is None else self
        axis = 0 if dim is None else x._axis(dim)
        expanded = x.unsqueeze(axis + 1).expand(*x.shape[:axis + 1], repeats, *x.shape[axis + 1:])
        return expanded.flatten(axis, axis + 1)

    @staticmethod
    def cat(tensors: Sequence["Tensor"], dim: int = 0) -> "Tensor":
        tensors = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or list(tensors)[:1]
        if not tensors:
            raise ShapeError("cat needs at least one tensor")
        first = tensors[0]
        axis = first._axis(dim)
        d = tensors[0].dtype
        for t in tensors[1:]:
            d = dt.promote(d, t.dtype)
            if t.ndim != first.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != axis):
                raise ShapeError(f"cat along dim {dim}: shapes {[tuple(x.shape) for x in tensors]} do not match")
        total = sum(t.shape[axis] for t in tensors)
        out, offset = None, 0
        for t in tensors:
            pads = [(0, 0)] * first.ndim
            pads[axis] = (offset, total - offset - t.shape[axis])
            part = t.cast(d).pad(pads)
            out = part if out is None else out + part
            offset += t.shape[axis]
        return out

    concatenate = cat

    @staticmethod
    def stack(tensors: Sequence["Tensor"], dim: int = 0) -> "Tensor":
        if not tensors:
            raise ShapeError("stack needs at least one tensor")
        shape = tensors[0].shape
        if any(t.shape != shape for t in tensors):
            raise ShapeError(f"stack needs equal shapes, got {[tuple(t.shape) for t in tensors]}")
        axis = tensors[0]._axis(dim, tensors[0].ndim + 1)
        return core.Tensor.cat([t.unsqueeze(axis) for t in tensors], axis)

    def split(self, split_size: Any, dim: int = 0) -> tuple["Tensor", ...]:
        axis = self._axis(dim)
        n = self.shape[axis]
        if isinstance(split_size, int) and split_size <= 0:
            if split_size < 0 or n:  # torch allows 0 only for an empty dim: one empty piece
                raise ArgumentError(f"split size must be positive, got {split_size} for dim {dim} of {self.shape}")
            return (self,)
        sizes = [split_size] * (n // split_size) + ([n % split_size] if n % split_size else []) \
            if isinstance(split_size, int) else list(split_size)
        if sum(sizes) != n:
            raise ShapeError(f"split sizes {sizes} do not add up to {n} (dim {dim} of {self.shape})")
        out, start = [], 0
        for s in sizes:
            out.append(self.narrow(axis, start, s))
            start += s
        return tuple(out)

    def chunk(self, chunks: int, dim: int = 0) -> tuple["Tensor", ...]:
        if chunks <= 0:
            raise ArgumentError(f"chunk needs a positive number of chunks, got {chunks} for shape {self.shape}")
        n = self.shape[self._axis(dim)]
        return self.split(max(1, math.ceil(n / chunks)), dim)

    def unbind(self, dim: int = 0) -> tuple["Tensor", ...]:
        axis = self._axis(dim)
        return tuple(self.narrow(axis, i, 1).squeeze(axis) for i in range(self.shape[axis]))

    def narrow(self, dim: int, start: int, length: int) -> "Tensor":
        axis = self._axis(dim)
        bounds = [(0, s) for s in self.shape]
        bounds[axis] = (start, start + length)
        return self.shrink(bounds)
