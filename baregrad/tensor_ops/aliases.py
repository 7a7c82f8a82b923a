"""torch's other names and small conveniences: aliases of existing ops (greater, multiply, divide, swapdims, ...),
metadata queries (nbytes, is_signed, get_device, ...), the new_* constructors, and shape helpers built from
movement ops (ravel, rot90, select, tensor_split, hsplit, take, unfold, sum_to_size, kron, ...).

Every method is written with existing Tensor methods, so it stays lazy and differentiable. The one exception to
laziness is masked_select: its output length is the number of true mask values, so it reads the mask (a sync).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from baregrad import dtype as dt
from baregrad.errors import ArgumentError, BoundsError, DTypeError, ShapeError
from baregrad.tensor_ops.movement import broadcast_shapes, int_args

if TYPE_CHECKING:
    from baregrad.tensor import Tensor

# devices whose memory is the host's: torch's get_device() answers -1 for the CPU
_HOST_DEVICES = frozenset({"CPU", "LLVM", "PYTHON"})


class AliasOps:
    """Aliases, metadata and shape helpers; `self` is a Tensor."""
    __slots__ = ()

    # ---- comparison and arithmetic under torch's other names ----
    def greater(self: "Tensor", other: Any) -> "Tensor":
        return self > other

    def greater_equal(self: "Tensor", other: Any) -> "Tensor":
        return self >= other

    def less(self: "Tensor", other: Any) -> "Tensor":
        return self < other

    def less_equal(self: "Tensor", other: Any) -> "Tensor":
        return self <= other

    def not_equal(self: "Tensor", other: Any) -> "Tensor":
        return self != other

    def multiply(self: "Tensor", other: Any) -> "Tensor":
        return self.mul(other)

    def subtract(self: "Tensor", other: Any, *, alpha: Any = 1) -> "Tensor":
        return self.sub(other, alpha)

    def divide(self: "Tensor", other: Any, *, rounding_mode: str | None = None) -> "Tensor":
        return self.div(other, rounding_mode)

    def true_divide(self: "Tensor", other: Any) -> "Tensor":
        return self.div(other)

    def negative(self: "Tensor") -> "Tensor":
        return self.neg()

    def positive(self: "Tensor") -> "Tensor":
        if self.dtype is dt.bool_:  # torch refuses unary + on bool, as it refuses unary -
            raise DTypeError(f"positive() of a bool tensor (shape {self.shape}) is not supported")
        return self

    def absolute(self: "Tensor") -> "Tensor":
        return self.abs()

    def sgn(self: "Tensor") -> "Tensor":
        """sign(); torch's sgn differs only for complex tensors, which baregrad does not have."""
        return self.sign()

    def fix(self: "Tensor") -> "Tensor":
        return self.trunc()

    def swapdims(self: "Tensor", dim0: int, dim1: int) -> "Tensor":
        return self.transpose(dim0, dim1)

    # ---- metadata ----
    def ndimension(self: "Tensor") -> int:
        return self.ndim

    def nelement(self: "Tensor") -> int:
        return self.numel()

    @property
    def itemsize(self: "Tensor") -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self: "Tensor") -> int:
        return self.numel() * self.dtype.itemsize

    def is_signed(self: "Tensor") -> bool:
        return self.dtype.is_float or (self.dtype.is_int and not self.dtype.is_unsigned)

    def is_complex(self: "Tensor") -> bool:
        return False  # baregrad has no complex dtypes

    def is_contiguous(self: "Tensor", memory_format: Any = None) -> bool:
        """Always True. A baregrad tensor has no strides a user can see: a transpose, slice or expand is a lazy
        view that the kernel reading it resolves by index arithmetic, and every way out of baregrad (numpy(),
        tolist(), to_bytes(), a kernel's output) yields row-major data. And view() never fails for want of
        strides, as torch's can after a transpose. So the answer to "may I view this without a copy?" is yes."""
        return True

    def get_device(self: "Tensor") -> int:
        """-1 on host devices (CPU, LLVM, PYTHON), as torch answers for the CPU; else the device index, 0: baregrad
        opens one device per backend."""
        return -1 if self.device in _HOST_DEVICES else 0

    def is_nonzero(self: "Tensor") -> bool:
        if self.numel() != 1:
            raise ShapeError(f"is_nonzero needs a tensor of one element, got shape {self.shape}")
        return bool(self.item())

    def type_as(self: "Tensor", other: "Tensor") -> "Tensor":
        return self.cast(other.dtype)

    # ---- new_*: same dtype and device as self unless given ----
    def _like_options(self: "Tensor", dtype: Any, device: Any) -> dict:
        return {"dtype": self.dtype if dtype is None else dt.to_dtype(dtype),
                "device": self.device if device is None else device}

    def new_zeros(self: "Tensor", *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> "Tensor":
        return type(self).zeros(*size, requires_grad=requires_grad, **self._like_options(dtype, device))

    def new_ones(self: "Tensor", *size: Any, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> "Tensor":
        return type(self).ones(*size, requires_grad=requires_grad, **self._like_options(dtype, device))

    def new_empty(self: "Tensor", *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> "Tensor":
        return type(self).empty(*size, requires_grad=requires_grad, **self._like_options(dtype, device))

    def new_full(self: "Tensor", size: Sequence[int], fill_value: Any, *, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> "Tensor":
        return type(self).full(size, fill_value, requires_grad=requires_grad, **self._like_options(dtype, device))

    def new_tensor(self: "Tensor", data: Any, *, dtype: Any = None, device: Any = None,
                   requires_grad: bool = False) -> "Tensor":
        from baregrad.tensor import Tensor
        if isinstance(data, Tensor):  # torch copies: later in-place writes to `data` must not show through
            data = data.detach().clone()
        return Tensor(data, requires_grad=requires_grad, **self._like_options(dtype, device))

    # ---- flips, rotations, single slices ----
    def ravel(self: "Tensor") -> "Tensor":
        return self.reshape(-1)

    def fliplr(self: "Tensor") -> "Tensor":
        if self.ndim < 2:
            raise ShapeError(f"fliplr needs a tensor with at least 2 dims, got shape {self.shape}")
        return self.flip(1)

    def flipud(self: "Tensor") -> "Tensor":
        if self.ndim < 1:
            raise ShapeError(f"flipud needs a tensor with at least 1 dim, got shape {self.shape}")
        return self.flip(0)

    def rot90(self: "Tensor", k: int = 1, dims: Sequence[int] = (0, 1)) -> "Tensor":
        """Rotate by 90 degrees k times, from the first of `dims` towards the second (torch's flip/transpose)."""
        if len(dims) != 2:
            raise ShapeError(f"rot90 needs 2 rotation dims, got dims={tuple(dims)} for shape {self.shape}")
        if self.ndim < 2:
            raise ShapeError(f"rot90 needs a tensor with at least 2 dims, got shape {self.shape}")
        a, b = self._axis(dims[0]), self._axis(dims[1])
        if a == b:
            raise ShapeError(f"rot90 rotation dims must differ, got dims={tuple(dims)} for shape {self.shape}")
        turns = k % 4
        if turns == 1:
            return self.flip(b).transpose(a, b)
        if turns == 2:
            return self.flip(a, b)
        if turns == 3:
            return self.flip(a).transpose(a, b)
        return self.clone()  # a full turn: still a new tensor, as in torch, so in-place writes do not alias

    def select(self: "Tensor", dim: int, index: int) -> "Tensor":
        if self.ndim == 0:
            raise ShapeError("select() cannot be applied to a 0-d tensor")
        axis = self._axis(dim)
        n = self.shape[axis]
        if not -n <= index < n:
            raise BoundsError(f"select(): index {index} is out of range for dim {dim} of shape {self.shape}")
        return self.narrow(axis, index % n, 1).squeeze(axis)

    def narrow_copy(self: "Tensor", dim: int, start: int, length: int) -> "Tensor":
        """narrow() as a copy of its own (clone), so later in-place writes to self do not show through."""
        n = self.shape[self._axis(dim)]
        return self.narrow(dim, start + n if start < 0 else start, length).clone()

    # ---- splits ----
    def tensor_split(self: "Tensor", indices_or_sections: Any, dim: int = 0) -> tuple["Tensor", ...]:
        """Split into `sections` near-equal parts (the first n % sections one longer), or at `indices`, which
        slice as Python does: negative ones count from the end, and out-of-order ones give empty parts."""
        if self.ndim == 0:
            raise ShapeError("tensor_split needs a tensor with at least 1 dim, got a 0-d tensor")
        axis = self._axis(dim)
        n = self.shape[axis]
        spec = _split_spec(indices_or_sections)
        if isinstance(spec, int):
            if spec <= 0:
                raise ArgumentError(f"tensor_split needs a positive number of sections, got {spec} for {self.shape}")
            spec = [(n // spec) * i + min(i, n % spec) for i in range(1, spec)]
        edges = [0, *spec, n]
        return tuple(_slice(self, axis, start, stop) for start, stop in zip(edges, edges[1:]))

    def _split_by_direction(self: "Tensor", name: str, min_dims: int, axis: int, spec: Any) -> tuple["Tensor", ...]:
        """hsplit/vsplit/dsplit: tensor_split along `axis`, except that sections must divide the dim evenly."""
        if self.ndim < min_dims:
            raise ShapeError(f"{name} needs a tensor with at least {min_dims} dims, got shape {self.shape}")
        spec = _split_spec(spec)
        if isinstance(spec, int) and (spec == 0 or self.shape[axis] % spec):
            raise ShapeError(f"{name}: dim {axis} of shape {self.shape} does not split into {spec} equal parts")
        return self.tensor_split(spec, axis)

    def hsplit(self: "Tensor", indices_or_sections: Any) -> tuple["Tensor", ...]:
        return self._split_by_direction("hsplit", 1, 0 if self.ndim == 1 else 1, indices_or_sections)

    def vsplit(self: "Tensor", indices_or_sections: Any) -> tuple["Tensor", ...]:
        return self._split_by_direction("vsplit", 2, 0, indices_or_sections)

    def dsplit(self: "Tensor", indices_or_sections: Any) -> tuple["Tensor", ...]:
        return self._split_by_direction("dsplit", 3, 2, indices_or_sections)

    def split_with_sizes(self: "Tensor", split_sizes: Sequence[int], dim: int = 0) -> tuple["Tensor", ...]:
        return self.split(list(split_sizes), dim)

    # ---- picking elements ----
    def take(self: "Tensor", index: "Tensor") -> "Tensor":
        """self.flatten()[index], shaped like index; negative indices count from the end."""
        if index.dtype.is_float or index.dtype is dt.bool_:
            raise DTypeError(f"take needs an integer index, got {index.dtype.name} of shape {index.shape}")
        flat, idx = self.reshape(-1), index.reshape(-1)
        idx = (idx < 0).where(idx + flat.shape[0], idx)
        return flat.gather(0, idx).reshape(index.shape)

    def masked_select(self: "Tensor", mask: "Tensor") -> "Tensor":
        """The elements where the (broadcast) mask is true, as a 1-d tensor. A sync point: the output length is
        the number of true values, so the mask is read back before the lazy gather is built."""
        from baregrad.tensor import Tensor
        if mask.dtype is not dt.bool_:
            raise DTypeError(f"masked_select needs a bool mask, got {mask.dtype.name} of shape {mask.shape}")
        shape = broadcast_shapes(self.shape, mask.shape)
        flags = mask.expand(shape).reshape(-1).tolist()
        picked = [i for i, keep in enumerate(flags) if keep]
        index = Tensor(picked, dtype=dt.int64, device=self.device) if picked else \
            Tensor.zeros(0, dtype=dt.int64, device=self.device)
        return self.expand(shape).reshape(-1).gather(0, index)

    # ---- windows and reductions to a shape ----
    def unfold(self: "Tensor", dimension: int, size: int, step: int) -> "Tensor":
        """Every window of `size` elements along `dimension`, `step` apart: that dim becomes the window count
        and a new last dim of `size` holds each window. A view built from movement ops (no gather)."""
        if size < 0 or step <= 0:
            raise ArgumentError(f"unfold needs size >= 0 and step > 0, got size={size}, step={step}")
        x = self.reshape(1) if self.ndim == 0 else self  # torch treats a 0-d tensor as one element here
        axis = x._axis(dimension)
        if size > x.shape[axis]:
            raise ShapeError(f"unfold: window size {size} exceeds dim {dimension} of shape {self.shape}")
        windows = _sliding_windows(x.movedim(axis, -1), size, step).movedim(-2, axis)
        return windows.reshape(size) if self.ndim == 0 else windows

    def sum_to_size(self: "Tensor", *size: Any) -> "Tensor":
        """Sum self down to `size`, a shape that broadcasts to self's (the gradient of a broadcast)."""
        target = int_args(size)
        lead = self.ndim - len(target)
        if lead < 0 or any(t not in (1, s) for t, s in zip(target, self.shape[lead:])):
            raise ShapeError(f"sum_to_size: size {target} does not broadcast to shape {self.shape}")
        out = self.sum(tuple(range(lead))) if lead else self
        ones = tuple(i for i, (t, s) in enumerate(zip(target, out.shape)) if t == 1 and s != 1)
        return out.sum(ones, keepdim=True) if ones else out

    def kron(self: "Tensor", other: "Tensor") -> "Tensor":
        """Kronecker product: every element of self times the whole of other, as blocks."""
        n = max(self.ndim, other.ndim)
        a = self.reshape((1,) * (n - self.ndim) + self.shape)
        b = other.reshape((1,) * (n - other.ndim) + other.shape)
        # a as (a0, 1, a1, 1, ...) and b as (1, b0, 1, b1, ...): the product interleaves block and inner dims
        blocks = a.reshape([v for s in a.shape for v in (s, 1)]) * b.reshape([v for s in b.shape for v in (1, s)])
        return blocks.reshape([sa * sb for sa, sb in zip(a.shape, b.shape)])


def _split_spec(spec: Any) -> int | list[int]:
    """A section count or a list of indices; a tensor spec (0-d: count, 1-d: indices) is read back (a sync)."""
    from baregrad.tensor import Tensor
    if isinstance(spec, Tensor):
        if spec.dtype is not dt.int64:
            raise DTypeError(f"tensor_split needs an int64 tensor of indices or sections, got {spec.dtype.name}")
        if spec.ndim > 1:
            raise ShapeError(f"tensor_split needs a 0-d or 1-d tensor of indices or sections, got {spec.shape}")
        return spec.tolist()
    return spec if isinstance(spec, int) else [int(i) for i in spec]


def _slice(x: "Tensor", axis: int, start: int, stop: int) -> "Tensor":
    """x[start:stop] along axis, with Python's clamping and negative indices."""
    begin, end, _ = slice(start, stop).indices(x.shape[axis])
    return x.narrow(axis, begin, max(0, end - begin))


def _pad_end(x: "Tensor", amount: int, axis: int = -1) -> "Tensor":
    """`amount` zeros after the end of `axis` (a negative amount crops)."""
    pads = [(0, 0)] * x.ndim
    pads[axis] = (0, amount)
    return x.pad(pads)


def _sliding_windows(x: "Tensor", size: int, step: int) -> "Tensor":
    """(..., n) -> (..., count, size) with out[..., i, j] = x[..., i * step + j], by movement ops alone."""
    *batch, n = x.shape
    starts = n - size + 1                          # windows at step 1
    count = (starts - 1) // step + 1
    if step >= size:  # disjoint windows: cut the row into pieces of `step` and keep the first `size` of each
        pieces = _pad_end(x, count * step - n).reshape(*batch, count, step)
        return pieces.narrow(-1, 0, size)
    # `starts` copies of the row end to end, re-read in rows of n + 1: each row begins one element further on,
    # so row r holds x[r:], and its first `size` elements are window r
    copies = x.unsqueeze(-2).expand(*batch, starts, n).reshape(*batch, starts * n)
    shifted = _pad_end(copies, starts).reshape(*batch, starts, n + 1).narrow(-1, 0, size)
    if step == 1:
        return shifted
    # keep every step-th window: pad the rows to count * step, group them by `step`, take the first of each group
    grouped = _pad_end(shifted, count * step - starts, axis=-2).reshape(*batch, count, step, size)
    return grouped.narrow(-2, 0, 1).squeeze(-2)
