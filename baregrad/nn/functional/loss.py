"""torch.nn.functional's remaining losses, as compositions of lazy Tensor ops.

poisson_nll_loss, gaussian_nll_loss, margin_ranking_loss, hinge_embedding_loss, cosine_embedding_loss,
triplet_margin_loss, triplet_margin_with_distance_loss, multilabel_margin_loss, multilabel_soft_margin_loss,
multi_margin_loss, soft_margin_loss and ctc_loss. Arguments follow torch's, the deprecated size_average/reduce
pair included. `baregrad.nn.functional` re-exports every name in __all__.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable

from baregrad import dtype as dt
from baregrad.errors import ArgumentError, DTypeError, ShapeError
from baregrad.nn.functional.helpers import reduce_loss
from baregrad.nn.functional.pointwise import logsigmoid, pairwise_distance
from baregrad.tensor import Tensor
from baregrad.tensor_ops.custom_grad import with_grad

__all__ = ["poisson_nll_loss", "gaussian_nll_loss", "margin_ranking_loss", "hinge_embedding_loss",
           "cosine_embedding_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
           "multilabel_margin_loss", "multilabel_soft_margin_loss", "multi_margin_loss", "soft_margin_loss",
           "ctc_loss"]

REDUCTIONS = ("none", "mean", "sum")


def legacy_reduction(size_average: bool | None, reduce: bool | None) -> str:
    """torch's reading of the deprecated size_average/reduce pair (None counts as True), with its warning."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.",
                  stacklevel=4)
    return reduction


def _reduction(reduction: str, size_average: bool | None = None, reduce: bool | None = None) -> str:
    """The reduction to use: the deprecated size_average/reduce pair when either is given, else `reduction`,
    which must be one of REDUCTIONS."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    if reduction not in REDUCTIONS:
        raise ArgumentError(f"{reduction} is not a valid value for reduction (use 'mean', 'sum' or 'none')")
    return reduction


def _positive_part(x: Tensor) -> Tensor:
    """max(x, 0) with torch's clamp_min gradient (passed at 0 too)."""
    return x.clamp_min(0.0)


def _softplus(x: Tensor) -> Tensor:
    """log(1 + exp(x)) without overflow."""
    return (-x.abs()).exp().log1p() + (x > 0).where(x, 0.0)


# ---- regression-style losses ----
def poisson_nll_loss(x: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average: bool | None = None, eps: float = 1e-8, reduce: bool | None = None,
                     reduction: str = "mean") -> Tensor:
    """exp(x) - target * x for log-rate input, else x - target * log(x + eps); `full` adds Stirling's
    approximation of log(target!) where target > 1."""
    reduction = _reduction(reduction, size_average, reduce)
    loss = x.exp() - target * x if log_input else x - target * (x + eps).log()
    if full:
        safe = (target > 1).where(target, 2.0)
        stirling = safe * safe.log() - safe + 0.5 * (safe * (2 * math.pi)).log()
        loss = loss + (target > 1).where(stirling, 0.0)
    return reduce_loss(loss, reduction)


def _gaussian_var(x: Tensor, var: Tensor | float) -> Tensor:
    """var as torch accepts it: a float, x's shape, x's shape without its last dim, or x's shape with one
    dim of size 1."""
    if isinstance(var, (int, float)):
        if var < 0:
            raise ArgumentError("var has negative entry/entries")
        return x.full_like(float(var))
    if bool((var < 0).any().item()):
        raise ArgumentError("var has negative entry/entries")
    if var.shape == x.shape:
        return var
    if var.shape == x.shape[:-1]:
        return var.unsqueeze(-1)
    if var.ndim == x.ndim and sum(v for s, v in zip(x.shape, var.shape) if s != v) == 1:
        return var
    raise ShapeError(f"var is of incorrect size: var of shape {var.shape} for input of shape {x.shape}")


def gaussian_nll_loss(x: Tensor, target: Tensor, var: Tensor | float, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """0.5 * (log(var) + (x - target)^2 / var), var clamped at eps; as in torch the clamp passes the gradient."""
    var = _gaussian_var(x, var)
    reduction = _reduction(reduction)
    held = var.detach()
    var = var + (held.clamp_min(eps) - held)
    loss = 0.5 * (var.log() + (x - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(loss, reduction)


# ---- margin losses ----
def margin_ranking_loss(x1: Tensor, x2: Tensor, target: Tensor, margin: float = 0, size_average: bool | None = None,
                        reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """max(0, -target * (x1 - x2) + margin)."""
    reduction = _reduction(reduction, size_average, reduce)
    if not x1.ndim == x2.ndim == target.ndim:
        raise ShapeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                         f"input1: {x1.shape}, input2: {x2.shape}, target: {target.shape}")
    return reduce_loss(_positive_part(-target * (x1 - x2) + margin), reduction)


def hinge_embedding_loss(x: Tensor, target: Tensor, margin: float = 1.0, size_average: bool | None = None,
                         reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """x where target is 1, max(0, margin - x) where target is -1 (torch adds both for other targets)."""
    reduction = _reduction(reduction, size_average, reduce)
    below = (target != 1).where(_positive_part(margin - x), 0.0)
    return reduce_loss(below + (target != -1).where(x, 0.0), reduction)


def soft_margin_loss(x: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + exp(-target * x))."""
    reduction = _reduction(reduction, size_average, reduce)
    return reduce_loss(_softplus(-target * x), reduction)


def cosine_embedding_loss(x1: Tensor, x2: Tensor, target: Tensor, margin: float = 0,
                          size_average: bool | None = None, reduce: bool | None = None,
                          reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it is -1."""
    reduction = _reduction(reduction, size_average, reduce)
    if target.ndim not in (0, 1):
        raise ShapeError(f"0D or 1D target tensor expected, multi-target not supported, got target of shape "
                         f"{target.shape}")
    if x1.ndim != target.ndim + 1 or x2.ndim != target.ndim + 1:
        raise ShapeError(f"{target.ndim}D target tensor expects {target.ndim + 1}D input tensors, but found inputs "
                         f"with sizes {x1.shape} and {x2.shape}.")
    dim = target.ndim
    dot = (x1 * x2).sum(dim)
    norms = ((x1 * x1).sum(dim) + 1e-12) * ((x2 * x2).sum(dim) + 1e-12)
    cos = dot / norms.sqrt()
    loss = (target == 1).where(1 - cos, 0.0) + (target == -1).where(_positive_part(cos - margin), 0.0)
    return reduce_loss(loss, reduction)


def _check_triplet(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float) -> None:
    if margin <= 0:
        raise ArgumentError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise ShapeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                         f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
                         f"{negative.ndim}D inputs (shapes {anchor.shape}, {positive.shape}, {negative.shape})")


def _triplet(dist: Callable[[Tensor, Tensor], Tensor], anchor: Tensor, positive: Tensor, negative: Tensor,
             margin: float, swap: bool) -> Tensor:
    d_pos, d_neg = dist(anchor, positive), dist(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(dist(positive, negative))
    return _positive_part(margin + d_pos - d_neg)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average: bool | None = None,
                        reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """max(0, margin + d(anchor, positive) - d(anchor, negative)) with d the p-norm pairwise distance."""
    reduction = _reduction(reduction, size_average, reduce)
    _check_triplet(anchor, positive, negative, margin)
    dist = lambda a, b: pairwise_distance(a, b, p, eps)  # noqa: E731
    return reduce_loss(_triplet(dist, anchor, positive, negative, margin, swap), reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
                                      margin: float = 1.0, swap: bool = False, reduction: str = "mean") -> Tensor:
    """triplet_margin_loss with any distance function (default pairwise_distance)."""
    reduction = _reduction(reduction)
    _check_triplet(anchor, positive, negative, margin)
    dist = distance_function or pairwise_distance
    return reduce_loss(_triplet(dist, anchor, positive, negative, margin, swap), reduction)


# ---- multi-class and multi-label margin losses ----
def _rows(x: Tensor) -> Tensor:
    """(N, C) as is; (C,) as (1, C); a scalar as (1, 1)."""
    return x.reshape(-1, x.shape[-1] if x.ndim else 1)


def multilabel_margin_loss(x: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
                           reduction: str = "mean") -> Tensor:
    """sum over target classes j and non-target classes i of max(0, 1 - (x[j] - x[i])), over C. Each target row
    lists class indices up to its first negative entry."""
    reduction = _reduction(reduction, size_average, reduce)
    if x.ndim > 2 or target.shape != x.shape:
        raise ShapeError(f"inconsistent target size: {target.shape} for input of size: {x.shape}")
    rows, tgt = _rows(x), _rows(target).cast(dt.int64)
    c = rows.shape[1]
    valid = (tgt < 0).cast(dt.int32).cumsum(1) == 0  # entries before the first negative one
    safe = valid.where(tgt, 0)
    classes = Tensor.arange(c, dtype=dt.int64, device=x.device)
    is_target = ((safe.unsqueeze(-1) == classes) & valid.unsqueeze(-1)).any(1)  # (N, C)
    hinge = (1 - rows.gather(1, safe).unsqueeze(2) + rows.unsqueeze(1)).relu()  # (N, j, i)
    pairs = valid.unsqueeze(2) & (~is_target).unsqueeze(1)
    loss = pairs.where(hinge, 0.0).sum((1, 2)) / c
    return reduce_loss(loss if x.ndim == 2 else loss.reshape(()), reduction)


def multilabel_soft_margin_loss(x: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average: bool | None = None, reduce: bool | None = None,
                                reduction: str = "mean") -> Tensor:
    """The per-class binary cross-entropy of sigmoid(x), averaged over the classes (the last dim)."""
    reduction = _reduction(reduction, size_average, reduce)
    loss = -(target * logsigmoid(x) + (1 - target) * logsigmoid(-x))
    if weight is not None:
        loss = loss * weight
    return reduce_loss(loss.sum(x.ndim - 1) / x.shape[-1], reduction)


def _check_multi_margin(x: Tensor, target: Tensor, p: int, weight: Tensor | None) -> tuple[int, int]:
    """(frames, classes), after torch's checks."""
    if p not in (1, 2):
        raise ArgumentError(f"only p == 1 and p == 2 supported, got p={p}")
    if weight is not None and weight.ndim != 1:
        raise ShapeError(f"weight must be one-dimensional, got shape {weight.shape}")
    if x.ndim > 2 or (x.ndim >= 1 and x.shape[-1] == 0):
        raise ShapeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: {x.shape}")
    frames, classes = (x.shape[0], x.shape[1]) if x.ndim == 2 else (1, x.shape[0] if x.ndim else 1)
    if target.ndim > 1 or target.numel() != frames:
        raise ShapeError(f"multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
                         f"samples (batch size). Expected target size [{frames}], but got {target.shape}. Input has "
                         f"shape {x.shape}.")
    if weight is not None and weight.numel() != classes:
        raise ShapeError(f"inconsistent weight size, expected {classes} but got {weight.shape}")
    return frames, classes


def multi_margin_loss(x: Tensor, target: Tensor, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                      size_average: bool | None = None, reduce: bool | None = None,
                      reduction: str = "mean") -> Tensor:
    """sum over classes i != y of max(0, margin - x[y] + x[i])^p (times weight[y]), over C."""
    reduction = _reduction(reduction, size_average, reduce)
    frames, classes = _check_multi_margin(x, target, p, weight)
    rows = x.reshape(frames, classes)
    tgt = target.reshape(frames, 1).cast(dt.int64)
    hinge = _positive_part(margin - rows.gather(1, tgt) + rows)
    hinge = hinge * hinge if p == 2 else hinge
    if weight is not None:
        hinge = hinge * weight.index_select(0, tgt.reshape(-1)).unsqueeze(1)
    others = Tensor.arange(classes, dtype=dt.int64, device=x.device) != tgt
    loss = others.where(hinge, 0.0).sum(1) / classes
    return reduce_loss(loss.reshape(target.shape), reduction)


# ---- CTC ----
NEG = -1e30  # log(0) for the CTC recursions: finite, so no device has to keep infinities or NaN


def _lengths(lengths: Any, batch: int, name: str) -> list[int]:
    if isinstance(lengths, Tensor):
        values = lengths.reshape(-1).tolist()
    elif isinstance(lengths, int):
        values = [lengths]
    else:
        values = list(lengths)
    if len(values) != batch:
        raise ShapeError(f"{name} must be of size batch_size ({batch}), got {len(values)} values")
    return [int(v) for v in values]


def _check_ctc(log_probs: Tensor, blank: int, in_lens: list[int], tg_lens: list[int]) -> None:
    if log_probs.dtype not in (dt.float32, dt.float64):
        raise DTypeError(f"ctc_loss needs float32 or float64 log_probs, got {log_probs.dtype.name}")
    steps, _, classes = log_probs.shape
    if not 0 <= blank < classes:
        raise ArgumentError(f"blank must be in label range [0, {classes}), got {blank}")
    for n in in_lens:
        if not 0 <= n <= steps:
            raise ArgumentError(f"Expected input_lengths to have value at most {steps} (and at least 0), "
                                f"but got value {n}")
    for n in tg_lens:
        if n < 0:
            raise ArgumentError(f"Expected target_lengths to have value at least 0, but got value {n}")


def _padded_targets(targets: Tensor, tg_lens: list[int], blank: int) -> Tensor:
    """(N, S) int64 labels, S the longest target, with blank past each target's length; targets is (N, >= S),
    or 1-d: the targets concatenated (as torch, also for unbatched input)."""
    batch, longest = len(tg_lens), max(tg_lens, default=0)
    if longest == 0:
        return Tensor.full((batch, 0), blank, dt.int64, targets.device)
    inside = [[k < n for k in range(longest)] for n in tg_lens]
    if targets.ndim == 2:
        if targets.shape[0] != batch or targets.shape[1] < longest:
            raise ShapeError(f"ctc_loss: targets of shape {targets.shape} do not hold {batch} targets of lengths up "
                             f"to {longest}")
        labels = targets.shrink(((0, batch), (0, longest)))
    else:
        if targets.ndim != 1 or targets.shape[0] != sum(tg_lens):
            raise ShapeError(f"ctc_loss: 1-d targets must hold exactly the sum of target_lengths ({sum(tg_lens)}) "
                             f"labels, got shape {targets.shape}")
        starts = [sum(tg_lens[:i]) for i in range(batch)]
        index = [[s + k if k < n else 0 for k in range(longest)] for s, n in zip(starts, tg_lens)]
        flat = Tensor(index, dtype=dt.int64, device=targets.device).reshape(-1)
        labels = targets.index_select(0, flat).reshape(batch, longest)
    mask = Tensor(inside, dtype=dt.bool_, device=targets.device).reshape(batch, longest)
    return mask.where(labels.cast(dt.int64), blank)


def _extended(labels: Tensor, blank: int) -> Tensor:
    """(N, 2S + 1): blank, l1, blank, l2, ..., lS, blank."""
    batch, longest = labels.shape
    last = Tensor.full((batch, 1), blank, dt.int64, labels.device)
    if longest == 0:
        return last
    pairs = Tensor.stack([labels.full_like(blank), labels], 2).reshape(batch, 2 * longest)
    return Tensor.cat([pairs, last], 1)


def _shift(x: Tensor, k: int, right: bool = True, fill: Any = NEG) -> Tensor:
    """(N, L) x moved k places along L (towards higher indices when `right`), `fill` coming in."""
    n = x.shape[-1]
    if right:
        return x.pad(((0, 0), (k, 0)), fill).shrink(((0, x.shape[0]), (0, n)))
    return x.pad(((0, 0), (0, k)), fill).shrink(((0, x.shape[0]), (k, n + k)))


def _lse3(a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    m = a.maximum(b).maximum(c)
    return m + ((a - m).exp() + (b - m).exp() + (c - m).exp()).log()


def _at_step(x: Tensor, t: int) -> Tensor:
    """x[t] for x of shape (T, ...), read through a gather whose index is data, so every step runs the same
    compiled kernel."""
    index = Tensor([t], dtype=dt.int64, device=x.device).reshape(1, *[1] * (x.ndim - 1)).expand(1, *x.shape[1:])
    return x.gather(0, index).squeeze(0)


def _flag(values: list[bool], device: str) -> Tensor:
    return Tensor(values, dtype=dt.bool_, device=device).reshape(len(values), 1)


def _write_step(stack: Tensor, row: Tensor, t: int) -> Tensor:
    """stack (T, ...) with row as stack[t], selected by a mask that is data (again one kernel for every step),
    so the recursions keep one buffer, not one per step (a device limits the buffers a kernel reads)."""
    at = Tensor([i == t for i in range(stack.shape[0])], dtype=dt.bool_, device=stack.device)
    return at.reshape(-1, *[1] * row.ndim).where(row.unsqueeze(0), stack).realize()


class _CTC:
    """The CTC lattice of one batch: emissions em[t, n, s] = log_probs[t, n, ext[n, s]] over the extended
    labels, the recursions alpha (forward) and beta (backward), and torch's gradient from them."""

    def __init__(self, ext: Tensor, in_lens: list[int], tg_lens: list[int], blank: int):
        self.ext, self.in_lens, self.tg_lens = ext, in_lens, tg_lens
        # the s - 2 -> s move: onto a label that differs from the one two places back
        self.skip = (ext != blank) & (ext != _shift(ext, 2, fill=blank))
        ends = [[s in (2 * n, 2 * n - 1) for s in range(ext.shape[1])] for n in tg_lens]
        self.ends = Tensor(ends, dtype=dt.bool_, device=ext.device).reshape(ext.shape)
        self.alpha: Tensor | None = None  # (T, N, L), from forward

    def emissions(self, log_probs: Tensor) -> Tensor:
        steps = log_probs.shape[0]
        index = self.ext.unsqueeze(0).expand(steps, *self.ext.shape)
        return log_probs.gather(2, index).realize()

    def forward(self, log_probs: Tensor) -> Tensor:
        """-log p(target | input) per batch entry (NEG-sized where no alignment exists)."""
        em = self.emissions(log_probs)
        start = Tensor.arange(self.ext.shape[1], device=em.device) < 2
        a = start.where(_at_step(em, 0), NEG).realize()
        self.alpha = _write_step(em.full_like(NEG), a, 0)
        for t in range(1, em.shape[0]):
            moved = _lse3(a, _shift(a, 1), self.skip.where(_shift(a, 2), NEG)) + _at_step(em, t)
            a = _flag([t < n for n in self.in_lens], em.device).where(moved.clamp_min(NEG), a).realize()
            self.alpha = _write_step(self.alpha, a, t)
        finals = self.ends.where(a, NEG)
        m = finals.amax(1)
        ll = m + (finals - m.unsqueeze(1)).exp().sum(1).log()
        empty = [0.0 if s == 0 else NEG for s in self.tg_lens]  # no input steps: only an empty target fits
        ll = _flag([n == 0 for n in self.in_lens], em.device).reshape(-1).where(Tensor(empty, device=em.device), ll)
        return -ll.cast(log_probs.dtype)

    def beta(self, em: Tensor) -> Tensor:
        """beta[t, n, s]: log p of emitting the rest of the target from s at t, em[t] included (torch's)."""
        skip_ahead = _shift(self.skip, 2, right=False, fill=False)
        b = Tensor.full(em.shape[1:], NEG, em.dtype, em.device).realize()
        out = em.full_like(NEG)
        for t in reversed(range(em.shape[0])):
            e = _at_step(em, t)
            moved = _lse3(b, _shift(b, 1, right=False), skip_ahead.where(_shift(b, 2, right=False), NEG)) + e
            first = self.ends.where(e, NEG)
            started = _flag([t < n - 1 for n in self.in_lens], em.device).where(moved.clamp_min(NEG), NEG)
            b = _flag([t == n - 1 for n in self.in_lens], em.device).where(first, started).realize()
            out = _write_step(out, b, t)
        return out

    def grad(self, g: Tensor, nll: Tensor, log_probs: Tensor, zero_infinity: bool) -> Tensor:
        """torch's gradient: exp(lp) - sum over s labelled c of exp(alpha + beta + nll - lp), for t < length."""
        em = self.emissions(log_probs)
        assert self.alpha is not None, "the CTC gradient needs the forward pass first"
        alpha, beta = self.alpha, self.beta(em)
        possible = nll < -NEG / 10
        safe_nll = possible.where(nll, 0.0)
        occupancy = (alpha + beta - em + safe_nll.reshape(1, -1, 1)).clamp_max(0.0).exp()  # (T, N, L)
        classes = log_probs.shape[2]
        onehot = (self.ext.unsqueeze(-1) == Tensor.arange(classes, dtype=dt.int64, device=em.device))
        per_class = occupancy.permute(1, 0, 2) @ onehot.cast(log_probs.dtype)  # (N, T, C)
        grad = log_probs.exp() - per_class.permute(1, 0, 2)
        steps = Tensor.arange(log_probs.shape[0], device=em.device).reshape(-1, 1)
        lengths = Tensor(self.in_lens, device=em.device).reshape(1, -1)
        keep = steps < lengths
        if zero_infinity:
            keep = keep & possible.reshape(1, -1)
        return keep.unsqueeze(-1).where(grad * g.reshape(1, -1, 1), 0.0).realize()  # few buffers per kernel


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Any, target_lengths: Any, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """The connectionist temporal classification loss: -log of the summed probability of every alignment of each
    target to its input, by the forward (alpha) recursion over time in log space; the gradient comes from the
    backward (beta) recursion, as torch's. log_probs is (T, N, C) (or unbatched (T, C)); targets (N, S) padded or
    1-d concatenated; 'mean' divides each loss by its target length, then averages over the batch."""
    reduction = _reduction(reduction)
    unbatched = log_probs.ndim == 2
    if log_probs.ndim not in (2, 3):
        raise ShapeError(f"ctc_loss needs log_probs of shape (T, N, C) or (T, C), got {log_probs.shape}")
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    batch = lp.shape[1]
    in_lens = _lengths(input_lengths, batch, "input_lengths")
    tg_lens = _lengths(target_lengths, batch, "target_lengths")
    _check_ctc(lp, blank, in_lens, tg_lens)
    ext = _extended(_padded_targets(targets, tg_lens, blank), blank).to(lp.device)
    lattice = _CTC(ext, in_lens, tg_lens, blank)
    nll = with_grad(lattice.forward, lambda g, out, v: (lattice.grad(g, out, v, zero_infinity),), lp)
    nll = (nll >= -NEG / 10).where(0.0 if zero_infinity else math.inf, nll)  # no alignment: an infinite loss
    if reduction == "none":
        return nll.reshape(()) if unbatched else nll
    return _ctc_reduce(nll, tg_lens, reduction)


def _ctc_reduce(nll: Tensor, tg_lens: list[int], reduction: str) -> Tensor:
    """'sum', or torch's 'mean': each loss over its target length (at least 1), averaged over the batch."""
    if reduction == "sum":
        return nll.sum()
    lengths = Tensor([max(n, 1) for n in tg_lens], dtype=nll.dtype, device=nll.device)
    return (nll / lengths).mean()
