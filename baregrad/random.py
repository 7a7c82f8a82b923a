"""Counter-based random numbers: every draw reserves a range of counters when it is *called*, so the values
a call yields depend only on the seed and the call order, never on when or in what order tensors are
realized. Bits are a keyed integer hash of the counter, computed inside a fused kernel.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from baregrad import dtype as dt

if TYPE_CHECKING:
    from baregrad.tensor import Tensor

_STATE = threading.local()


def manual_seed(seed: int) -> None:
    """Seed the generator and restart its counter."""
    _STATE.seed = int(seed) & 0xFFFFFFFF
    _STATE.counter = 0


def _reserve(n: int) -> tuple[int, int]:
    if not hasattr(_STATE, "seed"):
        manual_seed(0x5EED)
    start = _STATE.counter
    _STATE.counter += n
    return _STATE.seed, start


def get_state() -> tuple[int, int]:
    if not hasattr(_STATE, "seed"):
        manual_seed(0x5EED)
    return (_STATE.seed, _STATE.counter)


def set_state(state: tuple[int, int]) -> None:
    _STATE.seed, _STATE.counter = state


def draw_words(n: int) -> list[int]:
    """The three uint32 words (key, counter low, counter high) for the next n counters."""
    seed, start = _reserve(n)
    return [seed ^ 0x9E3779B9, start & 0xFFFFFFFF, (start >> 32) ^ 0x632BE5AB]


def _mix32(h: "Tensor") -> "Tensor":
    # the murmur3 finalizer: a bijection on 32-bit words with good avalanche
    h = h ^ (h >> 16)
    h = h * 0x85EBCA6B
    h = h ^ (h >> 13)
    h = h * 0xC2B2AE35
    return h ^ (h >> 16)


def random_bits(n: int, device: str | None = None) -> "Tensor":
    """n uint32 words for the next n counters."""
    from baregrad.tensor import Tensor
    # seed and counter travel as data, so every draw of the same size reuses one compiled kernel
    words = Tensor(draw_words(n), dtype=dt.uint32, device=device)
    from baregrad.engine.capture import record_random_draw
    record_random_draw(words.node.arg, n)
    key, low, high = (words[i] for i in range(3))
    counter = Tensor.arange(n, dtype=dt.int32, device=device).cast(dt.uint32) + low
    return _mix32(_mix32(counter ^ _mix32(key)) + high)


def uniform01(n: int, device: str | None = None, dtype: dt.DType = dt.float32) -> "Tensor":
    """n floats in [0, 1) with 24 random bits each."""
    bits = random_bits(n, device)
    return ((bits >> 8).cast(dt.int32).cast(dt.float32) * (1.0 / (1 << 24))).cast(dtype)
