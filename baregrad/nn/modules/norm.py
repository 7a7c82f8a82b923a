"""Normalization layers. BatchNorm (and InstanceNorm with track_running_stats) updates its running stats in training
with Tensor.assign, so a training step stays one graph; eval uses them."""
from __future__ import annotations

import math
from typing import Any, Sequence

from baregrad import dtype as dt
from baregrad.errors import ShapeError
from baregrad.nn import functional as F
from baregrad.nn.module import Module, Parameter
from baregrad.tensor import Tensor


class _BatchNorm(Module):
    expected_dims: tuple[int, ...] = (2, 3)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None, *, bias: bool = True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(Tensor.ones(num_features, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(Tensor.zeros(num_features, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor.zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", Tensor.ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", Tensor.zeros((), dtype=dt.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self.expected_dims:
            raise ShapeError(f"{type(self).__name__} expects {self.expected_dims}-d input, got shape {x.shape}")
        use_batch = self.training or self.running_mean is None
        if use_batch and math.prod(x.shape[:1] + x.shape[2:]) == 1:  # its batch variance would be 0 / 0
            raise ShapeError(f"{type(self).__name__}: expected more than 1 value per channel when training, got "
                             f"input of shape {x.shape}")
        momentum: Any = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.assign(self.num_batches_tracked + 1)
            if momentum is None:  # a cumulative average: 1 / batches seen
                momentum = 1.0 / self.num_batches_tracked.cast(x.dtype)
        stats = (self.running_mean, self.running_var) if self.track_running_stats else (None, None)
        return F.batch_norm(x, *stats, self.weight, self.bias, use_batch, momentum or 0.0, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    expected_dims = (4,)


class BatchNorm3d(_BatchNorm):
    expected_dims = (5,)


class _InstanceNorm(_BatchNorm):
    """torch's _InstanceNorm: per-sample statistics; running stats (when tracked) are used in eval only and are
    updated with the batch average of the per-sample ones. num_batches_tracked is kept but not counted."""
    no_batch_dim: int = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device: Any = None, dtype: Any = None, *, bias: bool = True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        n, name = self.no_batch_dim, type(self).__name__
        if x.ndim not in (n, n + 1):
            raise ShapeError(f"{name} expects a {n}-d or {n + 1}-d input, got shape {x.shape}")
        channels = x.shape[x.ndim - n]
        if self.affine and channels != self.num_features:
            raise ShapeError(f"{name}: expected input's size at dim={x.ndim - n} to match num_features "
                             f"({self.num_features}), got input shape {x.shape}")
        if x.ndim == n:
            return self._normalize(x.unsqueeze(0)).squeeze(0)
        return self._normalize(x)

    def _normalize(self, x: Tensor) -> Tensor:
        momentum = self.momentum if self.momentum is not None else 0.0
        return F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                               self.training or not self.track_running_stats, momentum, self.eps)


class InstanceNorm1d(_InstanceNorm):
    no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    no_batch_dim = 3


class InstanceNorm3d(_InstanceNorm):
    no_batch_dim = 4


class LocalResponseNorm(Module):
    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x: Tensor) -> Tensor:
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


def _shape(normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    return (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)


class LayerNorm(Module):
    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device: Any = None, dtype: Any = None):
        super().__init__()
        self.normalized_shape, self.eps = _shape(normalized_shape), eps
        self.elementwise_affine = elementwise_affine
        self.weight = Parameter(Tensor.ones(*self.normalized_shape, device=device, dtype=dtype)) \
            if elementwise_affine else None
        self.bias = Parameter(Tensor.zeros(*self.normalized_shape, device=device, dtype=dtype)) \
            if elementwise_affine and bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device: Any = None, dtype: Any = None):
        super().__init__()
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self.weight = Parameter(Tensor.ones(num_channels, device=device, dtype=dtype)) if affine else None
        self.bias = Parameter(Tensor.zeros(num_channels, device=device, dtype=dtype)) if affine else None

    def forward(self, x: Tensor) -> Tensor:
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class RMSNorm(Module):
    def __init__(self, normalized_shape: int | Sequence[int], eps: float | None = None,
                 elementwise_affine: bool = True, device: Any = None, dtype: Any = None):
        super().__init__()
        self.normalized_shape, self.eps = _shape(normalized_shape), eps
        self.weight = Parameter(Tensor.ones(*self.normalized_shape, device=device, dtype=dtype)) \
            if elementwise_affine else None

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"
