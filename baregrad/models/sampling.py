"""Choosing the next token from a model's logits: greedy, temperature, top-k, top-p, repetition penalty.

Logits arrive as a plain Python list (one float per vocabulary entry, ~49k for SmolLM2), so every path is written
to touch the full list only with C-speed builtins: greedy is one max() pass, top-k uses heapq.nlargest, and top-p
only sorts the head of the distribution it needs. The order of the filters is Hugging Face's: repetition penalty,
temperature, top-k, top-p. The RNG is a random.Random seeded per Sampler, so a seed fixes the whole answer.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import random
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from baregrad.errors import ArgumentError


@dataclass
class SamplingParams:
    """How to pick tokens and when to stop. temperature 0 means greedy (argmax); top_k 0 means no top-k."""

    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    seed: int | None = None
    max_tokens: int = 256
    stop: list[str] = field(default_factory=list)

    def validate(self) -> "SamplingParams":
        """Raise ArgumentError naming the first field with a value out of range; return self."""
        _check(_is_number(self.temperature) and 0 <= self.temperature < math.inf,
               f"temperature must be a finite number >= 0, got {self.temperature!r}")
        _check(_is_int(self.top_k) and self.top_k >= 0, f"top_k must be an integer >= 0, got {self.top_k!r}")
        _check(_is_number(self.top_p) and 0 < self.top_p <= 1, f"top_p must be in (0, 1], got {self.top_p!r}")
        _check(_is_number(self.repetition_penalty) and 0 < self.repetition_penalty < math.inf,
               f"repetition_penalty must be a finite number > 0, got {self.repetition_penalty!r}")
        _check(self.seed is None or _is_int(self.seed), f"seed must be an integer or None, got {self.seed!r}")
        _check(_is_int(self.max_tokens) and self.max_tokens >= 1,
               f"max_tokens must be an integer >= 1, got {self.max_tokens!r}")
        _check(isinstance(self.stop, (list, tuple)) and all(isinstance(s, str) and s for s in self.stop),
               f"stop must be a list of non-empty strings, got {self.stop!r}")
        return self


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ArgumentError(message)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


class Sampler:
    """Picks token ids from logits according to SamplingParams, with its own seeded RNG."""

    # top-p first looks at this many best tokens, and widens only when they do not hold enough probability
    _TOP_P_FIRST_GUESS = 64

    def __init__(self, params: SamplingParams):
        self.params = params.validate()
        self.rng = random.Random(params.seed)

    def sample(self, logits: Sequence[float], history: Iterable[int] = ()) -> int:
        """The next token id. `history` holds the ids the repetition penalty applies to (prompt and output)."""
        if not logits:
            raise ArgumentError("cannot sample from empty logits")
        p = self.params
        if p.repetition_penalty != 1.0:
            logits = apply_repetition_penalty(logits, history, p.repetition_penalty)
        if p.temperature == 0.0:
            return argmax(logits)
        ids = self._top_k(logits)
        weights = _weights(logits, ids, p.temperature)
        if p.top_p < 1.0:
            ids, cumulative = self._nucleus(ids, weights)
        else:
            cumulative = list(itertools.accumulate(weights))
        return self.rng.choices(ids, cum_weights=cumulative)[0]

    def _top_k(self, logits: Sequence[float]) -> Sequence[int]:
        """The top_k best token ids, best first; all ids in id order when top_k is off."""
        k, n = self.params.top_k, len(logits)
        return heapq.nlargest(k, range(n), key=logits.__getitem__) if 0 < k < n else range(n)

    def _nucleus(self, ids: Sequence[int], weights: list[float]) -> tuple[list[int], list[float]]:
        """Best-first prefix of `ids` whose weight reaches top_p of the total (at least one token), and its
        cumulative weights. A peaked distribution only needs its 64 best tokens sorted; otherwise only tokens
        above (1 - top_p) * total / n are sorted: all the lighter ones together weigh at most (1 - top_p) * total,
        so the nucleus is reached without them."""
        total = math.fsum(weights)
        goal, n = self.params.top_p * total, len(weights)
        order = heapq.nlargest(self._TOP_P_FIRST_GUESS, range(n), key=weights.__getitem__)
        cumulative = list(itertools.accumulate(weights[j] for j in order))
        if cumulative[-1] < goal and len(order) < n:
            light = (1.0 - self.params.top_p) * total / n
            heavy = list(itertools.compress(range(n), map(light.__lt__, weights)))
            order = sorted(heavy, key=weights.__getitem__, reverse=True)
            cumulative = list(itertools.accumulate(weights[j] for j in order))
        cut = min(bisect.bisect_left(cumulative, goal), len(order) - 1)  # rounding may leave the goal unreached
        return [ids[j] for j in order[:cut + 1]], cumulative[:cut + 1]


def _weights(logits: Sequence[float], ids: Sequence[int], temperature: float) -> list[float]:
    """exp((logit - max) / temperature) for each id: softmax numerators, the best one being 1."""
    exp = math.exp
    if isinstance(ids, range):
        top = max(logits)
        return [exp((x - top) / temperature) for x in logits]
    top = max(logits[i] for i in ids)
    return [exp((logits[i] - top) / temperature) for i in ids]


def argmax(logits: Sequence[float]) -> int:
    """Index of the largest logit (the first one on ties), in one C-speed pass."""
    return logits.index(max(logits)) if isinstance(logits, list) else max(range(len(logits)), key=logits.__getitem__)


def apply_repetition_penalty(logits: Sequence[float], history: Iterable[int], penalty: float) -> list[float]:
    """CTRL's penalty: logits of tokens already seen are divided by `penalty` if positive, multiplied if not."""
    out = list(logits)
    for i in set(history):
        if 0 <= i < len(out):
            out[i] = out[i] / penalty if out[i] > 0 else out[i] * penalty
    return out
