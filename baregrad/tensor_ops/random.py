"""Sampling with torch's names: multinomial, bernoulli, the in-place samplers (normal_, uniform_, exponential_,
random_, geometric_, log_normal_, cauchy_, bernoulli_) and the free function `normal`.

Every draw comes from baregrad.random's counter-based generator, so a result depends only on the seed and the
order of the calls (baregrad.manual_seed), never on realize order. Floats carry 24 random bits whatever their
dtype. multinomial samples by an exponential race -- index argmax(p / E) with E ~ Exp(1) is drawn with
probability p / sum(p) -- which is O(n) per sample, needs no cumulative sum, and ignores zero weights.
Samples are not differentiable (torch gives them zero gradient).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from baregrad import dtype as dt
from baregrad.errors import ArgumentError, DTypeError, ShapeError

if TYPE_CHECKING:
    from baregrad.tensor import Tensor

_MANTISSA_BITS = {dt.float16: 11, dt.bfloat16: 8, dt.float32: 24, dt.float64: 53}
_ARGMAX_ROUNDS = 8  # without replacement, up to this many samples are repeated argmaxes (O(k n)); then a sort


def _no_generator(generator: Any) -> None:
    if generator is not None:
        raise ArgumentError("a torch.Generator is not supported: seed with baregrad.manual_seed")


def _uniform(shape: tuple[int, ...], device: str) -> "Tensor":
    """float32 in [0, 1) with 24 random bits."""
    from baregrad.random import uniform01
    return uniform01(math.prod(shape), device).reshape(shape)


def _open_uniform(shape: tuple[int, ...], device: str) -> "Tensor":
    """float32 in (0, 1): half a step up from the 24-bit grid, so log() of it is finite."""
    return _uniform(shape, device) + 2.0 ** -25


def _exponential(shape: tuple[int, ...], device: str) -> "Tensor":
    return -_open_uniform(shape, device).log()


def _random_below(n: int, shape: tuple[int, ...], device: str) -> "Tensor":
    """int64 uniform on [0, n): 24-bit floats where they cover n, else 64 random bits modulo n."""
    from baregrad.random import random_bits
    from baregrad.tensor import Tensor
    if n <= 1 << 24:
        return Tensor.randint(0, n, shape, device=device)
    words = random_bits(2 * math.prod(shape), device).cast(dt.uint64)
    high, low = words.reshape(2, *shape).unbind(0)
    return (((high << 32) | low) % n).cast(dt.int64)


def _float_self(t: "Tensor", op: str) -> None:
    if not t.dtype.is_float:
        raise DTypeError(f"{op} needs a floating point tensor, got {t.dtype.name}{t.shape}")


def _top_indices(keys: "Tensor", k: int) -> "Tensor":
    """Indices of the k largest keys of each row, largest first."""
    from baregrad.tensor import Tensor
    if k > _ARGMAX_ROUNDS:
        return keys.topk(k, -1).indices
    pos = Tensor.arange(keys.shape[-1], dtype=dt.int64, device=keys.device)
    picks = []
    for _ in range(k):
        best = keys.argmax(-1, keepdim=True)
        picks.append(best)
        # keys are >= 0: a taken index never wins again. contiguous() keeps each round's keys a buffer, so a
        # round's kernel does not inline (and recompute) every earlier round
        keys = (pos == best).where(-1.0, keys).contiguous()
    return Tensor.cat(picks, -1)


class RandomOps:
    """Sampling methods; `self` is a Tensor."""
    __slots__ = ()

    def multinomial(self: "Tensor", num_samples: int, replacement: bool = False, *,
                    generator: Any = None) -> "Tensor":
        """num_samples category indices per row of non-negative weights (1-d or 2-d, need not sum to 1), int64.
        Weights are not checked for negative or non-finite values (a sync); an all-zero row gives index 0."""
        _no_generator(generator)
        _float_self(self, "multinomial")
        if self.ndim not in (1, 2) or self.shape[-1] == 0:
            raise ShapeError(f"multinomial needs a 1-d or 2-d tensor of weights, got shape {self.shape}")
        n = self.shape[-1]
        if num_samples <= 0:
            raise ArgumentError(f"multinomial: num_samples must be positive, got {num_samples} (shape {self.shape})")
        if not replacement and num_samples > n:
            raise ArgumentError(f"multinomial: cannot draw {num_samples} samples without replacement from {n} "
                                f"categories (shape {self.shape})")
        p = self.detach().float().reshape(-1, n)
        # the keys are made contiguous: argmax reads them several times, and inlined there the random-bit hashing
        # would be recomputed in every pass (and makes a kernel that some compilers take long over)
        if replacement:  # an independent race per sample
            keys = p.unsqueeze(1) / _exponential((p.shape[0], num_samples, n), self.device)
            out = keys.contiguous().argmax(-1)
        else:  # one race: the order of finishing is a draw without replacement
            out = _top_indices((p / _exponential(p.shape, self.device)).contiguous(), num_samples)
        return out.reshape(num_samples) if self.ndim == 1 else out

    def bernoulli(self: "Tensor", p: Any = None, *, generator: Any = None) -> "Tensor":
        """1 with probability self (or p, if given), else 0, in self's dtype and shape."""
        _no_generator(generator)
        if p is None:
            _float_self(self, "bernoulli")
        probs = self.detach() if p is None else p
        return (_uniform(self.shape, self.device) < probs).cast(self.dtype)

    def bernoulli_(self: "Tensor", p: Any = 0.5, *, generator: Any = None) -> "Tensor":
        return self._inplace(self.bernoulli(p, generator=generator))

    def normal_(self: "Tensor", mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> "Tensor":
        from baregrad.tensor import Tensor
        _no_generator(generator)
        _float_self(self, "normal_")
        if std < 0:
            raise ArgumentError(f"normal_ needs std >= 0, got {std}")
        return self._inplace(Tensor.randn(*self.shape, device=self.device) * std + mean)

    def uniform_(self: "Tensor", from_: float = 0.0, to: float = 1.0, *, generator: Any = None,
                 **kwargs: Any) -> "Tensor":
        """Uniform on [from, to) (torch's keyword `from` is accepted as well as from_)."""
        _no_generator(generator)
        _float_self(self, "uniform_")
        lo = kwargs.pop("from", from_)
        if kwargs:
            raise ArgumentError(f"uniform_: unexpected arguments {sorted(kwargs)}")
        if lo > to:
            raise ArgumentError(f"uniform_ needs from <= to, got from={lo} > to={to}")
        return self._inplace(_uniform(self.shape, self.device) * (to - lo) + lo)

    def exponential_(self: "Tensor", lambd: float = 1.0, *, generator: Any = None) -> "Tensor":
        _no_generator(generator)
        _float_self(self, "exponential_")
        if lambd <= 0:
            raise ArgumentError(f"exponential_ needs lambd > 0, got {lambd}")
        return self._inplace(_exponential(self.shape, self.device) / lambd)

    def geometric_(self: "Tensor", p: float, *, generator: Any = None) -> "Tensor":
        """The number of Bernoulli(p) trials up to the first success (>= 1)."""
        _no_generator(generator)
        if not 0 < p < 1:
            raise ArgumentError(f"geometric_ needs p in (0, 1), got {p}")
        return self._inplace((_open_uniform(self.shape, self.device).log() / math.log1p(-p)).ceil())

    def log_normal_(self: "Tensor", mean: float = 1.0, std: float = 2.0, *, generator: Any = None) -> "Tensor":
        from baregrad.tensor import Tensor
        _no_generator(generator)
        _float_self(self, "log_normal_")
        if std <= 0:
            raise ArgumentError(f"log_normal_ needs std > 0, got {std}")
        return self._inplace((Tensor.randn(*self.shape, device=self.device) * std + mean).exp())

    def cauchy_(self: "Tensor", median: float = 0.0, sigma: float = 1.0, *, generator: Any = None) -> "Tensor":
        _no_generator(generator)
        _float_self(self, "cauchy_")
        return self._inplace(median + sigma * ((_uniform(self.shape, self.device) - 0.5) * math.pi).tan())

    def random_(self: "Tensor", *bounds: Any, generator: Any = None, **kwargs: Any) -> "Tensor":
        """Integers uniform on [from, to): random_() covers [0, 2**mantissa] for floats and [0, max] for integer
        dtypes; random_(to) is [0, to); random_(from, to) is [from, to), to=None meaning the dtype's max."""
        _no_generator(generator)
        lo, hi = _random_range(self.dtype, bounds, kwargs)
        return self._inplace(_random_below(hi - lo, self.shape, self.device) + lo)


def _random_range(d: dt.DType, bounds: tuple, kwargs: dict) -> tuple[int, int]:
    top = 2 ** _MANTISSA_BITS[d] + 1 if d.is_float else int(dt.min_max_values(d)[1]) + 1
    lo, hi = (0, top) if not bounds else (0, bounds[0]) if len(bounds) == 1 else bounds
    lo, hi = kwargs.pop("from", lo), kwargs.pop("to", hi)
    if kwargs or len(bounds) > 2:
        raise ArgumentError(f"random_ takes (from, to): got {bounds} and {sorted(kwargs)}")
    hi = top if hi is None else hi
    if lo >= hi:
        raise ArgumentError(f"random_ needs from < to, got from={lo} >= to={hi}")
    return int(lo), int(hi)


def normal(mean: Any, std: Any = 1.0, size: Any = None, *, generator: Any = None, dtype: Any = None,
           device: Any = None) -> "Tensor":
    """torch.normal: samples with the given mean and std, each a tensor (broadcast together) or a number (then
    `size` gives the shape)."""
    from baregrad.tensor import Tensor
    _no_generator(generator)
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if not isinstance(std, Tensor) and std < 0:
        raise ArgumentError(f"normal needs std >= 0, got {std}")
    if tensors:
        shape = tensors[0].shape if len(tensors) == 1 else (tensors[0].detach() + tensors[1].detach()).shape
        d, dev = tensors[0].dtype if tensors[0].dtype.is_float else dt.default_float, tensors[0].device
    elif size is None:
        raise ArgumentError("normal with a number mean and std needs a size")
    else:
        shape = (size,) if isinstance(size, int) else tuple(size)
        d, dev = dt.to_dtype(dtype or dt.default_float), device
    z = Tensor.randn(*shape, device=dev)
    mean = mean.detach() if isinstance(mean, Tensor) else mean
    std = std.detach() if isinstance(std, Tensor) else std
    return (z * std + mean).cast(d)
