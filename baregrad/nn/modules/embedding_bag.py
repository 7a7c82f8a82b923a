"""EmbeddingBag and F.embedding_bag: sums, means or maxima of bags of embedding rows, without building the
per-row embeddings in between as torch's layer does.

A bag is a row of a 2-D index tensor, or for a 1-D one the stretch from one offset to the next. Entries equal to
padding_idx take no part (nor count in a mean); an empty bag gives zeros. The reductions are masked reductions
over a (bags, positions) membership mask, so everything stays lazy and differentiable.
"""
from __future__ import annotations

import math
from typing import Any

from baregrad import dtype as dt
from baregrad.autograd import no_grad
from baregrad.errors import ArgumentError, ShapeError
from baregrad.nn import init
from baregrad.nn.module import Module, Parameter
from baregrad.tensor import Tensor

MODES = ("sum", "mean", "max")


def _check_args(index: Tensor, weight: Tensor, offsets: Tensor | None, mode: str, scale_grad_by_freq: bool,
                sparse: bool, per_sample_weights: Tensor | None) -> None:
    """torch's checks, in its order (torch's ValueError and NotImplementedError are our ArgumentError or
    ShapeError, both ValueErrors)."""
    if index.dtype.is_float or index.dtype is dt.bool_:
        raise ArgumentError(f"embedding_bag index must be an integer tensor, not {index.dtype.name}")
    if per_sample_weights is not None and per_sample_weights.shape != index.shape:
        raise ShapeError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, then it "
                         f"must have the same shape as the input ({index.shape})")
    if weight.ndim != 2:
        raise ShapeError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}")
    if index.ndim == 2 and offsets is not None:
        raise ArgumentError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                            "fixed length sequences")
    if index.ndim == 1 and (offsets is None or offsets.ndim != 1):
        raise ShapeError(f"offsets has to be a 1D Tensor but got {'None' if offsets is None else offsets.shape}")
    if index.ndim not in (1, 2):
        raise ShapeError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {index.ndim}")
    if mode not in MODES:
        raise ArgumentError(f"mode has to be one of sum, mean or max, got {mode!r}")
    if mode == "max" and scale_grad_by_freq:
        raise ArgumentError("max mode does not support scaling the gradient by the frequency")
    if sparse:
        raise ArgumentError("sparse gradients are not supported: use sparse=False (dense weight gradients)")
    if per_sample_weights is not None and mode != "sum":
        raise ArgumentError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only supported "
                            f"for mode='sum' (got mode='{mode}')")


def _padding_index(padding_idx: int | None, rows: int) -> int | None:
    if padding_idx is None:
        return None
    if not -rows <= padding_idx < rows:
        raise ArgumentError(f"padding_idx must be within num_embeddings ({rows}), got {padding_idx}")
    return padding_idx % rows


def _renorm_rows(weight: Tensor, index: Tensor, max_norm: float, norm_type: float) -> None:
    """torch's embedding_renorm_: each row that index uses and whose norm_type-norm exceeds max_norm is scaled
    in place by max_norm / (norm + 1e-7), outside autograd."""
    with no_grad():
        w = weight.detach()
        rows = Tensor.arange(w.shape[0], dtype=dt.int32, device=w.device).reshape(-1, 1)
        used = (rows == index.reshape(1, -1).cast(dt.int32)).any(1, keepdim=True)
        if math.isinf(norm_type):
            norm = w.abs().amax(1, keepdim=True)
        else:
            norm = (w.abs() ** norm_type).sum(1, keepdim=True) ** (1.0 / norm_type)
        shrink = used & (norm > max_norm)
        weight.assign(shrink.where(w * (max_norm / (norm + 1e-7)), w)).realize()


def _by_frequency(rows: Tensor, flat: Tensor) -> Tensor:
    """rows unchanged, but each one's gradient divided by how often its index occurs in the whole input."""
    counts = (flat.reshape(-1, 1) == flat.reshape(1, -1)).sum(1).cast(rows.dtype).reshape(-1, 1)
    fixed = rows.detach()
    return fixed + (rows - fixed) * (1.0 / counts)


def _membership(index: Tensor, offsets: Tensor | None, include_last_offset: bool) -> Tensor:
    """(bags, positions) bool: a 2-D index's rows are its bags (all True); for a 1-D one, position j is in bag b
    when offsets[b] <= j < the next offset (the last bag runs to the end, or to the last offset if included)."""
    if offsets is None:
        return Tensor.full(index.shape, True, dt.bool_, index.device)
    n = index.shape[0]
    offsets = offsets.cast(dt.int32)
    end = Tensor.full((1,), n, dt.int32, index.device)
    starts, ends = (offsets[:-1], offsets[1:]) if include_last_offset else (offsets, Tensor.cat([offsets[1:], end]))
    position = Tensor.arange(n, dtype=dt.int32, device=index.device).reshape(1, -1)
    return (starts.reshape(-1, 1) <= position) & (position < ends.reshape(-1, 1))


def _reduce(values: Tensor, members: Tensor, mode: str) -> Tensor:
    """values (bags or 1, positions, dim) reduced over positions where members (bags, positions) is True."""
    inside = members.unsqueeze(-1)
    if mode == "max":
        # max, not amax: a tie (an index twice in a bag) sends the gradient to one entry, as torch's does
        best = inside.where(values, -math.inf).max(1).values
        return members.any(1, keepdim=True).where(best, 0.0)
    total = inside.where(values, 0.0).sum(1)
    if mode == "sum":
        return total
    count = members.sum(1, keepdim=True).clamp_min(1).cast(values.dtype)
    return total / count


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,  # noqa: A002 - torch's name
                  max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                  mode: str = "mean", sparse: bool = False, per_sample_weights: Tensor | None = None,
                  include_last_offset: bool = False, padding_idx: int | None = None) -> Tensor:
    """torch's F.embedding_bag: (bags, embedding_dim), one reduced row per bag."""
    _check_args(input, weight, offsets, mode, scale_grad_by_freq, sparse, per_sample_weights)
    padding_idx = _padding_index(padding_idx, weight.shape[0])
    flat = input.reshape(-1)
    if max_norm is not None:
        _renorm_rows(weight, flat, max_norm, norm_type)
    rows = weight.index_select(0, flat)
    if scale_grad_by_freq:
        rows = _by_frequency(rows, flat)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1, 1).cast(rows.dtype)
    keyed = input if input.ndim == 2 else input.reshape(1, -1)  # lines up with the membership's positions
    members = _membership(input, offsets, include_last_offset)
    if padding_idx is not None:
        members = members & (keyed != padding_idx)
    return _reduce(rows.reshape(*keyed.shape, weight.shape[1]), members, mode)


class EmbeddingBag(Module):
    """torch's EmbeddingBag: forward(input, offsets=None, per_sample_weights=None) -> (bags, embedding_dim)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                 _weight: Tensor | None = None, include_last_offset: bool = False, padding_idx: int | None = None,
                 device: Any = None, dtype: Any = None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, scale_grad_by_freq
        self.padding_idx = _padding_index(padding_idx, num_embeddings)
        if _weight is None:
            self.weight = Parameter(Tensor.empty(num_embeddings, embedding_dim, device=device, dtype=dtype))
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ShapeError(f"Shape of weight {_weight.shape} does not match num_embeddings and embedding_dim "
                                 f"({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight)
        self.mode, self.sparse, self.include_last_offset = mode, sparse, include_last_offset

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            keep = Tensor.arange(self.num_embeddings, device=self.weight.device) != self.padding_idx
            init.set_values(self.weight, keep.unsqueeze(1).where(self.weight, 0.0))

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                        sparse: bool = False, include_last_offset: bool = False,
                        padding_idx: int | None = None) -> "EmbeddingBag":
        """An EmbeddingBag holding a copy of `embeddings`; freeze=True keeps it out of training, as in torch."""
        if embeddings.ndim != 2:
            raise ShapeError(f"Embeddings parameter is expected to be 2-dimensional, got shape {embeddings.shape}")
        rows, dim = embeddings.shape
        layer = cls(rows, dim, max_norm, norm_type, scale_grad_by_freq, mode, sparse, embeddings,
                    include_last_offset, padding_idx)
        layer.weight.requires_grad = not freeze
        return layer

    def forward(self, input: Tensor, offsets: Tensor | None = None,  # noqa: A002 - torch's name
                per_sample_weights: Tensor | None = None) -> Tensor:
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                             self.mode, self.sparse, per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        s += f", mode={self.mode!r}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


__all__ = ["EmbeddingBag", "embedding_bag"]
