"""torch.nn.functional's remaining activations, distances and random layers, as compositions of lazy Tensor ops.

Activations: celu, selu, glu, hardshrink, hardsigmoid, hardtanh, relu6, logsigmoid, mish, prelu, rrelu, softmin,
softplus, softshrink, softsign, tanhshrink, threshold. Distances: normalize, cosine_similarity, pairwise_distance,
pdist. Random: alpha_dropout, feature_alpha_dropout, dropout1d/2d/3d (whole channels), gumbel_softmax.
`baregrad.nn.functional` re-exports every name in __all__.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

from baregrad import dtype as dt
from baregrad.errors import ArgumentError, ShapeError
from baregrad.nn.functional.helpers import implicit_softmax_dim
from baregrad.tensor import Tensor
from baregrad.tensor_ops.custom_grad import with_grad
from baregrad.tensor_ops.linalg import vector_norm
from baregrad.tensor_ops.movement import broadcast_shapes

__all__ = ["celu", "selu", "glu", "hardshrink", "hardsigmoid", "hardtanh", "relu6", "logsigmoid", "mish", "prelu",
           "rrelu", "softmin", "softplus", "softshrink", "softsign", "tanhshrink", "threshold", "normalize",
           "cosine_similarity", "pairwise_distance", "pdist", "alpha_dropout", "feature_alpha_dropout", "dropout1d",
           "dropout2d", "dropout3d", "gumbel_softmax"]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


# ---- activations ----
def _elu(x: Tensor, alpha: float, scale: float = 1.0, input_scale: float = 1.0) -> Tensor:
    """scale * (x if x > 0 else alpha * (exp(x * input_scale) - 1)); the exp sees only x <= 0, so a large x
    cannot overflow it into a NaN gradient."""
    positive = x > 0
    negative = positive.where(0.0, x)
    out = positive.where(x, (negative * input_scale).expm1() * alpha)
    return out * scale if scale != 1.0 else out


def celu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    if alpha == 0:
        raise ArgumentError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _elu(x, alpha, 1.0, 1.0 / alpha)


def selu(x: Tensor, inplace: bool = False) -> Tensor:
    return _elu(x, SELU_ALPHA, SELU_SCALE)


def glu(x: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), with a and b the two halves of x along dim."""
    if x.ndim == 0:
        raise ShapeError("glu does not support scalars because halving size must be even")
    axis = x._axis(dim)
    if x.shape[axis] % 2:
        raise ShapeError(f"Halving dimension must be even, but dimension {axis} is size {x.shape[axis]} "
                         f"(input shape {x.shape})")
    a, b = x.chunk(2, axis)
    return a * b.sigmoid()


def hardshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    return ((x > lambd) | (x < -lambd)).where(x, 0.0)


def softshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    if lambd < 0:
        raise ArgumentError(f"lambda must be greater or equal to 0, but found to be {lambd}")
    return (x > lambd).where(x - lambd, (x < -lambd).where(x + lambd, 0.0))


def hardsigmoid(x: Tensor, inplace: bool = False) -> Tensor:
    return x.hardsigmoid()


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    if min_val > max_val:
        raise ArgumentError(f"min_val cannot be greater than max_val, got min_val={min_val}, max_val={max_val}")
    return x.hardtanh(min_val, max_val)


def relu6(x: Tensor, inplace: bool = False) -> Tensor:
    return x.relu6()


def logsigmoid(x: Tensor) -> Tensor:
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), with torch's gradient sigmoid(-x)."""
    def value(v: Tensor) -> Tensor:
        return (v < 0).where(v, 0.0) - (-v.abs()).exp().log1p()
    return with_grad(value, lambda g, out, v: (g * (-v).sigmoid(),), x._float_input())


def mish(x: Tensor, inplace: bool = False) -> Tensor:
    return x.mish()


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return x.softplus(beta, threshold)


def softsign(x: Tensor) -> Tensor:
    return x / (1 + x.abs())


def tanhshrink(x: Tensor) -> Tensor:
    return x - x.tanh()


def threshold(x: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value."""
    return (x > threshold).where(x, value)


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, else weight * x; weight holds one slope, or one per channel (dim 1)."""
    if weight.ndim > 1:
        raise ShapeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}")
    n = weight.numel()
    if x.ndim == 0 and n != 1:
        raise ShapeError(f"prelu: a zero-dim input takes one weight, got weight of shape {weight.shape}")
    channels = x.shape[1] if x.ndim >= 2 else 1
    if n != 1 and n != channels:
        raise ShapeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = {n} and "
                         f"channel size = {channels} (input shape {x.shape}, weight shape {weight.shape}).")
    w = weight.reshape(()) if n == 1 else weight.reshape([channels if d == 1 else 1 for d in range(x.ndim)])
    return (x > 0).where(x, x * w)


def rrelu(x: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Leaky ReLU whose negative slope is drawn from U(lower, upper) per element in training, and is
    (lower + upper) / 2 otherwise."""
    if lower > upper:
        raise ArgumentError(f"Lower bound should be less than or equal to the upper bound, got lower={lower}, "
                            f"upper={upper}")
    if not training:
        return x.leaky_relu((lower + upper) / 2)
    slope = x.rand_like() * (upper - lower) + lower
    return (x > 0).where(x, x * slope)


def softmin(x: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    if dim is None:
        warnings.warn("Implicit dimension choice for softmin has been deprecated. Change the call to include "
                      "dim=X as an argument.", stacklevel=_stacklevel)
        dim = implicit_softmax_dim(x.ndim)
    return (-x).softmax(dim, dtype)


# ---- distances ----
def _straight_clamp_min(x: Tensor, low: float) -> Tensor:
    """max(x, low) whose gradient is the identity, as torch's clamp_ under no_grad."""
    d = x.detach()
    return x + (d.clamp_min(low) - d)


def _broadcast_pair(x1: Tensor, x2: Tensor) -> tuple[Tensor, Tensor]:
    shape = broadcast_shapes(x1.shape, x2.shape)
    return x1.expand(*shape), x2.expand(*shape)


def normalize(x: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None) -> Tensor:
    """x / max(||x||_p, eps) along dim."""
    if out is not None:
        raise ArgumentError("normalize: out= is not supported; use the returned tensor")
    return x / x.norm(p, dim, keepdim=True).clamp_min(eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """<x1 / max(||x1||, eps), x2 / max(||x2||, eps)> along dim (torch's formula: each input normalized first)."""
    x1, x2 = _broadcast_pair(x1._float_input(), x2._float_input())
    n1 = _straight_clamp_min(vector_norm(x1, 2, dim, True), eps)
    n2 = _straight_clamp_min(vector_norm(x2, 2, dim, True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim of the broadcast inputs."""
    dim = max(x1.ndim, x2.ndim) - 1
    return (x1 - x2 + eps).norm(p, dim, keepdim)


def pdist(x: Tensor, p: float = 2) -> Tensor:
    """||x[i] - x[j]||_p for every pair of rows i < j, in row-major order: (N * (N - 1) / 2,)."""
    if x.ndim != 2:
        raise ShapeError(f"pdist only supports 2D tensors, got: {x.ndim}D (shape {x.shape})")
    if p < 0:
        raise ArgumentError(f"pdist only supports non-negative p values, got {p}")
    n = x.shape[0]
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    if not pairs:
        return x.reshape(-1).shrink(((0, 0),))
    rows = Tensor([i for i, _ in pairs], dtype=dt.int64, device=x.device)
    cols = Tensor([j for _, j in pairs], dtype=dt.int64, device=x.device)
    return vector_norm(x.index_select(0, rows) - x.index_select(0, cols), p, 1)


# ---- random layers ----
def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout_impl(x: Tensor, p: float, training: bool, feature: bool, alpha: bool) -> Tensor:
    """torch's _dropout_impl: one keep draw per element, or per (N, C) channel when `feature`; alpha dropout sets
    the dropped values to SELU's saturation and rescales so a unit-normal input keeps mean 0 and variance 1."""
    _check_p(p)
    if p == 0 or not training or x.numel() == 0:
        return x
    if p == 1:
        return x * 0.0
    if feature and x.ndim < 2:
        raise ShapeError(f"Feature dropout requires at least 2 dimensions in the input, got shape {x.shape}")
    shape = (*x.shape[:2], *[1] * (x.ndim - 2)) if feature else x.shape
    noise = (Tensor.rand(*shape, device=x.device) >= p).cast(x.dtype)
    if not alpha:
        return x * (noise * (1.0 / (1.0 - p)))
    alpha_ = 1.7580993408473766
    a = 1.0 / math.sqrt((alpha_ * alpha_ * p + 1) * (1 - p))
    b = (noise - 1) * (alpha_ * a) + alpha_ * a * p
    return x * (noise * a) + b


def alpha_dropout(x: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    return _dropout_impl(x, p, training, feature=False, alpha=True)


def feature_alpha_dropout(x: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    return _dropout_impl(x, p, training, feature=True, alpha=True)


def dropout1d(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) input."""
    _check_p(p)
    if x.ndim not in (2, 3):
        raise ShapeError(f"dropout1d: Expected 2D or 3D input, but received a {x.ndim}D input (shape {x.shape}). "
                         "Note that dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
                         "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    if x.ndim == 2 and training:
        return _dropout_impl(x.unsqueeze(0), p, training, feature=True, alpha=False).squeeze(0)
    return _dropout_impl(x, p, training, feature=True, alpha=False)


def dropout2d(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) input; like torch, a 3-d input is taken as (N, C, L)."""
    _check_p(p)
    if x.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {x.ndim}-D input to dropout2d, which is deprecated and will result "
                      "in an error in a future release. To retain the behavior and silence this warning, please "
                      "use dropout instead.", stacklevel=2)
    if x.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "To maintain the 1D channel-wise dropout behavior, please switch to using dropout1d instead.",
                      stacklevel=2)
    return _dropout_impl(x, p, training, feature=True, alpha=False)


def dropout3d(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input."""
    _check_p(p)
    if x.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {x.ndim}-D input to dropout3d, which is deprecated and will result "
                      "in an error in a future release. To retain the behavior and silence this warning, please "
                      "use dropout instead.", stacklevel=2)
    if x.ndim != 5 and training:
        return _dropout_impl(x.unsqueeze(0), p, training, feature=True, alpha=False).squeeze(0)
    return _dropout_impl(x, p, training, feature=True, alpha=False)


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """softmax((logits + Gumbel noise) / tau); `hard` returns the one-hot of its argmax with the soft sample's
    gradient (straight through)."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    u = Tensor.rand(*logits.shape, dtype=dt.float32, device=logits.device).clamp_min(1e-30)
    gumbels = (-(-u.log()).log()).cast(logits.dtype)  # u < 1, so -log(u) > 0 and the noise is finite
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    axis = y_soft._axis(dim)
    n = y_soft.shape[axis]
    positions = Tensor.arange(n, dtype=dt.int64, device=logits.device)
    positions = positions.reshape([n if d == axis else 1 for d in range(y_soft.ndim)])
    y_hard = (positions == y_soft.argmax(axis, keepdim=True)).cast(y_soft.dtype)
    return y_hard - y_soft.detach() + y_soft
