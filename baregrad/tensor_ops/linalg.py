"""Linear algebra from movement ops, multiplies and sums: einsum, outer, tril/triu, diag/diagonal, trace, norms,
cross, addmm/baddbmm. Also the `baregrad.linalg` namespace functions (vector_norm, norm, cross)."""
from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any, Sequence

from baregrad import dtype as dt
from baregrad import tensor as core  # the Tensor class, at call time (tensor.py imports this module)
from baregrad.device import get_device
from baregrad.errors import ArgumentError, DTypeError, ShapeError
from baregrad.ir.ops import Op
from baregrad.tensor_ops.arithmetic import broadcast_pair
from baregrad.tensor_ops.custom_grad import sqrt_zero_grad
from baregrad.tensor_ops.weight_layout import row_major_copy

if TYPE_CHECKING:
    from baregrad.tensor import Tensor


def _diagonal_last2(x: "Tensor", offset: int) -> "Tensor":
    """The offset-th diagonal of the last two dims, as a new last dim; movement only (flatten, pad, reshape)."""
    n, m = x.shape[-2], x.shape[-1]
    count = max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))
    batch = x.shape[:-2]
    if count == 0:
        return x.reshape(*batch, n * m).narrow(-1, 0, 0)
    start = offset if offset >= 0 else -offset * m
    flat = x.reshape(*batch, n * m).narrow(-1, start, n * m - start)
    # element k of the diagonal sits at k*(m+1): lay the row out as (count, m+1) and keep column 0
    want = count * (m + 1)
    have = flat.shape[-1]
    flat = flat.pad([(0, 0)] * len(batch) + [(0, want - have)])
    return flat.reshape(*batch, count, m + 1).narrow(-1, 0, 1).squeeze(-1)


def _diag_embed(v: "Tensor", offset: int) -> "Tensor":
    """A square matrix with the 1-d v on its offset-th diagonal, zeros elsewhere (the inverse layout trick)."""
    n = v.shape[0]
    size = n + abs(offset)
    rows = v.unsqueeze(1).pad([(0, 0), (0, size)])                 # (n, size+1): v in column 0
    flat = rows.reshape(n * (size + 1))
    lead = offset if offset >= 0 else -offset * size
    return flat.pad([(lead, size * size - lead - n * (size + 1))]).reshape(size, size)


class LinalgOps:
    """Linear algebra methods; `self` is a Tensor."""
    __slots__ = ()

    def outer(self: "Tensor", other: "Tensor") -> "Tensor":
        if self.ndim != 1 or other.ndim != 1:
            raise ShapeError(f"outer needs 1-d tensors, got {self.shape} and {other.shape}")
        return self.unsqueeze(1) * other.unsqueeze(0)

    ger = outer

    def inner(self: "Tensor", other: "Tensor") -> "Tensor":
        if self.ndim == 0 or other.ndim == 0:
            return self * other
        return (self.reshape(*self.shape[:-1], *([1] * (other.ndim - 1)), self.shape[-1]) * other).sum(-1)

    def _triangle(self: "Tensor", diagonal: int, lower: bool) -> "Tensor":
        from baregrad.tensor import Tensor
        if self.ndim < 2:
            raise ShapeError(f"tril/triu need at least 2 dims, got shape {self.shape}")
        n, m = self.shape[-2], self.shape[-1]
        rows = Tensor.arange(n, dtype=dt.int32, device=self.device).reshape(n, 1)
        cols = Tensor.arange(m, dtype=dt.int32, device=self.device).reshape(1, m)
        keep = (cols - rows <= diagonal) if lower else (cols - rows >= diagonal)
        return keep.where(self, self.zeros_like()).cast(self.dtype)

    def tril(self: "Tensor", diagonal: int = 0) -> "Tensor":
        return self._triangle(diagonal, True)

    def triu(self: "Tensor", diagonal: int = 0) -> "Tensor":
        return self._triangle(diagonal, False)

    def diagonal(self: "Tensor", offset: int = 0, dim1: int = 0, dim2: int = 1) -> "Tensor":
        a, b = self._axis(dim1), self._axis(dim2)
        if a == b:
            raise ShapeError(f"diagonal dims must differ, got {dim1} and {dim2}")
        rest = [d for d in range(self.ndim) if d not in (a, b)]
        return _diagonal_last2(self.permute(rest + [a, b]), offset)

    def diag(self: "Tensor", diagonal: int = 0) -> "Tensor":
        if self.ndim == 1:
            return _diag_embed(self, diagonal)
        if self.ndim == 2:
            return self.diagonal(diagonal)
        raise ShapeError(f"diag needs a 1-d or 2-d tensor, got shape {self.shape}")

    def diag_embed(self: "Tensor", offset: int = 0) -> "Tensor":
        if self.ndim != 1:
            raise ShapeError(f"diag_embed supports 1-d tensors here, got shape {self.shape}")
        return _diag_embed(self, offset)

    def trace(self: "Tensor") -> "Tensor":
        if self.ndim != 2:
            raise ShapeError(f"trace needs a 2-d tensor, got shape {self.shape}")
        return self.diagonal().sum()

    def norm(self: "Tensor", p: Any = "fro", dim: Any = None, keepdim: bool = False) -> "Tensor":
        if p == "fro":
            p = 2
        if p == "nuc":
            raise ArgumentError("the nuclear norm needs an SVD, which baregrad does not have")
        return vector_norm(self, p, dim, keepdim)

    def cross(self: "Tensor", other: "Tensor", dim: int | None = None) -> "Tensor":
        return cross(self, other, -1 if dim is None else dim)

    def addmm(self: "Tensor", mat1: "Tensor", mat2: "Tensor", *, beta: Any = 1, alpha: Any = 1) -> "Tensor":
        if mat1.ndim != 2 or mat2.ndim != 2:
            raise ShapeError(f"addmm needs 2-d matrices, got {mat1.shape} and {mat2.shape}")
        return _scaled_sum(self, mat1 @ mat2, beta, alpha)

    def baddbmm(self: "Tensor", batch1: "Tensor", batch2: "Tensor", *, beta: Any = 1, alpha: Any = 1) -> "Tensor":
        if batch1.ndim != 3 or batch2.ndim != 3:
            raise ShapeError(f"baddbmm needs 3-d batches, got {batch1.shape} and {batch2.shape}")
        return _scaled_sum(self, batch1 @ batch2, beta, alpha)

    def addmv(self: "Tensor", mat: "Tensor", vec: "Tensor", *, beta: Any = 1, alpha: Any = 1) -> "Tensor":
        return _scaled_sum(self, mat @ vec, beta, alpha)

    def addr(self: "Tensor", vec1: "Tensor", vec2: "Tensor", *, beta: Any = 1, alpha: Any = 1) -> "Tensor":
        return _scaled_sum(self, vec1.outer(vec2), beta, alpha)


def _scaled_sum(base: "Tensor", product: "Tensor", beta: Any, alpha: Any) -> "Tensor":
    scaled = product if alpha == 1 else product * alpha
    if beta == 0:  # torch ignores `base` entirely then, NaNs included
        return scaled
    return scaled + (base if beta == 1 else base * beta)


def vector_norm(x: "Tensor", ord: Any = 2, dim: Any = None, keepdim: bool = False) -> "Tensor":  # noqa: A002
    """torch.linalg.vector_norm: sum(|x|^ord)^(1/ord), with ord in {inf, -inf, 0} as max, min, count."""
    acc = dt.accumulate_dtype(x.dtype)
    if acc is not x.dtype:  # a 16-bit float norm is computed in float32 and rounded once, as torch does
        return vector_norm(x.cast(acc), ord, dim, keepdim).cast(x.dtype)
    a = x._float_input().abs()
    if ord == math.inf:
        return a.amax(dim, keepdim)
    if ord == -math.inf:
        return a.amin(dim, keepdim)
    if ord == 0:
        return (a != 0).sum(dim, keepdim).cast(a.dtype)
    if ord == 1:
        return a.sum(dim, keepdim)
    if ord == 2:
        return sqrt_zero_grad(x._float_input().square().sum(dim, keepdim))
    return a.pow(ord).sum(dim, keepdim).pow(1.0 / ord)


def norm(x: "Tensor", ord: Any = None, dim: Any = None, keepdim: bool = False) -> "Tensor":  # noqa: A002
    """torch.linalg.norm for vectors and the Frobenius norm; matrix 1/inf norms are column/row sums."""
    if ord is None or ord == "fro":
        return vector_norm(x, 2, dim, keepdim)
    if isinstance(dim, (tuple, list)) and len(dim) == 2 and ord in (1, -1, math.inf, -math.inf):
        rows, cols = (x._axis(d) for d in dim)
        sum_axis, max_axis = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = x._float_input().abs().sum(sum_axis, keepdim=True)
        out = sums.amax(max_axis, keepdim=True) if ord > 0 else sums.amin(max_axis, keepdim=True)
        return out if keepdim else out.squeeze((rows, cols))
    return vector_norm(x, ord, dim, keepdim)


def cross(a: "Tensor", b: "Tensor", dim: int = -1) -> "Tensor":
    a, b = a._coerce(b)
    axis = a._axis(dim)
    if a.shape[axis] != 3:
        raise ShapeError(f"cross needs size 3 along dim {dim}, got shape {a.shape}")
    a0, a1, a2 = a.unbind(axis)
    b0, b1, b2 = b.unbind(axis)
    from baregrad.tensor import Tensor
    return Tensor.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis)


# ---- einsum ----
def _parse_einsum(equation: str, ndims: Sequence[int]) -> tuple[list[list[Any]], list[Any]]:
    """Operand and output subscripts as lists of labels; '...' becomes ('...', k) labels, right-aligned."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ArgumentError(f"einsum '{equation}' names {len(terms)} operands, got {len(ndims)}")
    n_ell = 0
    parsed: list[list[Any]] = []
    for term, nd in zip(terms, ndims):
        letters = term.replace("...", "")
        if not all(c.isalpha() for c in letters):
            raise ArgumentError(f"einsum subscripts must be letters, got '{term}' in '{equation}'")
        k = nd - len(letters)
        if "..." not in term and k != 0 or k < 0:
            raise ShapeError(f"einsum term '{term}' does not fit an operand with {nd} dims")
        n_ell = max(n_ell, k)
        head, _, tail = term.partition("...")
        parsed.append(list(head) + [("...", n_ell_i) for n_ell_i in range(-k, 0)] + list(tail))
    ellipsis = [("...", i) for i in range(-n_ell, 0)]
    if arrow:
        if not all(c.isalpha() for c in rhs.replace("...", "")):
            raise ArgumentError(f"einsum output subscripts must be letters, got '{rhs}'")
        head, dots, tail = rhs.partition("...")
        out = list(head) + (ellipsis if dots else []) + list(tail)
    else:
        counts: dict[str, int] = {}
        for term in parsed:
            for label in term:
                if isinstance(label, str):
                    counts[label] = counts.get(label, 0) + 1
        out = ellipsis + sorted(c for c, k in counts.items() if k == 1)
    return parsed, out


def _take_repeated(x: "Tensor", labels: list[Any]) -> tuple["Tensor", list[Any]]:
    """A label repeated within one operand ('ii') means its diagonal."""
    while len(set(labels)) != len(labels):
        label = next(lb for lb in labels if labels.count(lb) > 1)
        first = labels.index(label)
        second = labels.index(label, first + 1)
        x = x.diagonal(0, first, second)
        labels = [lb for i, lb in enumerate(labels) if i not in (first, second)] + [label]
    return x, labels


def einsum(equation: str, *operands: Any) -> "Tensor":
    """torch.einsum: line each operand up on the union of labels, multiply with broadcasting, sum the labels the
    output drops. One fused reduce for a two-operand contraction, like matmul."""
    tensors = list(operands[0]) if len(operands) == 1 and isinstance(operands[0], (list, tuple)) else list(operands)
    terms, out = _parse_einsum(equation, [t.ndim for t in tensors])
    sizes: dict[Any, int] = {}
    aligned = []
    for t, labels in zip(tensors, terms):
        t, labels = _take_repeated(t, labels)
        for label, size in zip(labels, t.shape):
            if sizes.get(label, 1) not in (1, size) and size != 1:
                raise ShapeError(f"einsum '{equation}': label {label!r} has sizes {sizes[label]} and {size}")
            sizes[label] = max(sizes.get(label, 1), size)
        aligned.append((t, labels))
    if any(label not in sizes for label in out):
        raise ArgumentError(f"einsum '{equation}': output label not found in the inputs")
    every = out + [lb for lb in sizes if lb not in out]
    d = functools.reduce(dt.promote, [t.dtype for t, _ in aligned])
    acc = dt.accumulate_dtype(d)
    if acc is not d:  # 16-bit floats: float32 products and sums, one rounding at the end (as torch)
        return einsum(equation, *[t.cast(acc) for t in tensors]).cast(d)
    product = None
    for t, labels in aligned:
        order = sorted(range(len(labels)), key=lambda i: every.index(labels[i]))
        moved = t.permute(order) if t.ndim else t
        shape = [t.shape[labels.index(lb)] if lb in labels else 1 for lb in every]
        moved = moved.reshape(shape)
        product = moved if product is None else product * moved
    product = product.expand([sizes[lb] for lb in every])
    reduced = list(range(len(out), len(every)))
    return product.sum(reduced) if reduced else product


class MatmulOps:
    """matmul methods of Tensor; `self` is a Tensor."""
    __slots__ = ()

    # ---- matmul ----
    def matmul(self, other: "Tensor") -> "Tensor":
        a, b = self, other
        if not isinstance(b, core.Tensor):
            raise DTypeError(f"matmul needs a Tensor, got {type(b).__name__}")
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(f"matmul needs tensors with at least one dim, got {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ShapeError(f"matmul shape mismatch: {a.shape} @ {b.shape}")
        d = dt.promote(a.dtype, b.dtype)
        acc = dt.accumulate_dtype(d)
        if acc is not d:  # 16-bit floats: exact float32 products, a float32 sum, one rounding (as torch)
            return a.cast(acc).matmul(b.cast(acc)).cast(d)
        a, b = a.cast(d), b.cast(d)
        if a.ndim == 1 and b.ndim == 1:
            return (a * b).sum()
        if b.ndim == 1:
            return (a * b).sum(-1)
        if a.ndim == 1:
            return (a.unsqueeze(-1) * b).sum(-2)
        # x @ W.T: the device wants W.T row-major, copied once per weight version; but one row of x (a classifier
        # at batch 1) is a matrix-vector product, whose dot products are contiguous along W's own rows
        if b.node.op is Op.PERMUTE and b.node.src[0].op is Op.BUFFER and b.numel() >= 4096 and \
                math.prod(a.shape[:-1]) > 1 and get_device(b.device).wants_row_major_matmul_rhs:
            b = row_major_copy(b)
        # (..., n, k) x (..., k, m): broadcast to (..., n, m, k) and reduce the last axis
        lhs = a.unsqueeze(-2)
        rhs = b.transpose(-1, -2).unsqueeze(-3)
        lhs, rhs = broadcast_pair(lhs, rhs)
        return (lhs * rhs).sum(-1)

    mm = matmul
    bmm = matmul

    def dot(self, other: "Tensor") -> "Tensor":
        if self.ndim != 1 or other.ndim != 1:
            raise ShapeError(f"dot needs 1-d tensors, got {self.shape} and {other.shape}")
        return self.matmul(other)
