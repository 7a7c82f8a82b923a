"""Sampler: greedy, temperature, top-k, top-p, repetition penalty, seeding and argument checks."""

import math
import random
from collections import Counter

import pytest

from baregrad.errors import ArgumentError
from baregrad.models.sampling import Sampler, SamplingParams, apply_repetition_penalty, argmax


def softmax(logits, t=1.0):
    top = max(logits)
    e = [math.exp((x - top) / t) for x in logits]
    return [x / sum(e) for x in e]


def test_greedy_is_argmax_and_ignores_seed():
    logits = [0.1, 3.0, -1.0, 3.0, 2.9]
    assert Sampler(SamplingParams(temperature=0)).sample(logits) == 1  # first of the tied maxima
    assert argmax(tuple(logits)) == 1
    assert {Sampler(SamplingParams(temperature=0, seed=s)).sample(logits) for s in range(5)} == {1}


def test_seed_fixes_the_sequence():
    logits = [random.Random(0).gauss(0, 1) for _ in range(1000)]
    runs = [[Sampler(SamplingParams(temperature=1.0, seed=7)).sample(logits) for _ in range(1)] for _ in range(2)]
    assert runs[0] == runs[1]
    a, b = Sampler(SamplingParams(temperature=1.0, seed=7)), Sampler(SamplingParams(temperature=1.0, seed=7))
    assert [a.sample(logits) for _ in range(50)] == [b.sample(logits) for _ in range(50)]
    c = Sampler(SamplingParams(temperature=1.0, seed=8))
    assert [a.sample(logits) for _ in range(50)] != [c.sample(logits) for _ in range(50)]


def test_temperature_sampling_follows_softmax():
    logits = [0.0, 1.0, 2.0, 0.5]
    sampler = Sampler(SamplingParams(temperature=0.8, seed=1))
    n = 20000
    counts = Counter(sampler.sample(logits) for _ in range(n))
    for i, p in enumerate(softmax(logits, 0.8)):
        assert abs(counts[i] / n - p) < 0.02


def test_top_k_keeps_only_the_k_best():
    logits = [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]
    sampler = Sampler(SamplingParams(temperature=5.0, top_k=2, seed=0))
    assert {sampler.sample(logits) for _ in range(500)} == {0, 1}


def test_top_p_keeps_the_smallest_nucleus():
    # probabilities 0.5, 0.3, 0.15, 0.05 -> top_p 0.75 keeps the first two; 0.85 the first three
    logits = [math.log(p) for p in (0.5, 0.3, 0.15, 0.05)]
    s = Sampler(SamplingParams(temperature=1.0, top_p=0.75, seed=0))
    assert {s.sample(logits) for _ in range(500)} == {0, 1}
    s = Sampler(SamplingParams(temperature=1.0, top_p=0.85, seed=0))
    assert {s.sample(logits) for _ in range(2000)} == {0, 1, 2}
    tiny = Sampler(SamplingParams(temperature=1.0, top_p=1e-9, seed=0))
    assert {tiny.sample(logits) for _ in range(100)} == {0}


def test_top_p_over_a_large_vocabulary_widens_its_head():
    rng = random.Random(3)
    logits = [rng.uniform(0, 0.01) for _ in range(49152)]  # nearly flat: the nucleus needs most tokens
    s = Sampler(SamplingParams(temperature=1.0, top_p=0.9, seed=0))
    assert len({s.sample(logits) for _ in range(10)}) > 7


def test_top_k_and_top_p_together():
    logits = [math.log(p) for p in (0.4, 0.3, 0.2, 0.1)]
    s = Sampler(SamplingParams(temperature=1.0, top_k=3, top_p=0.7, seed=0))  # 0.4/0.9, 0.3/0.9 reach 0.7
    assert {s.sample(logits) for _ in range(1000)} == {0, 1}


def test_repetition_penalty():
    logits = [2.0, 1.9, -1.0, -1.2]
    assert apply_repetition_penalty(logits, [0, 2], 2.0) == [1.0, 1.9, -2.0, -1.2]
    assert Sampler(SamplingParams(repetition_penalty=2.0)).sample(logits, history=[0]) == 1
    assert Sampler(SamplingParams(repetition_penalty=1.0)).sample(logits, history=[0]) == 0
    assert logits == [2.0, 1.9, -1.0, -1.2]  # the caller's list is left alone


@pytest.mark.parametrize("bad", [
    dict(temperature=-0.1), dict(temperature=float("nan")), dict(temperature=float("inf")),
    dict(top_p=0.0), dict(top_p=1.5), dict(top_p=-1), dict(top_k=-1), dict(top_k=2.5),
    dict(repetition_penalty=0), dict(repetition_penalty=-1.0), dict(max_tokens=0), dict(max_tokens=1.5),
    dict(seed="x"), dict(stop="STOP"), dict(stop=[""]), dict(temperature=True),
])
def test_bad_params_raise_argument_error(bad):
    with pytest.raises(ArgumentError):
        Sampler(SamplingParams(**bad))
    with pytest.raises(ValueError):  # ArgumentError is also a ValueError for callers that catch builtins
        SamplingParams(**bad).validate()


def test_empty_logits_raise():
    with pytest.raises(ArgumentError):
        Sampler(SamplingParams()).sample([])


def test_common_paths_on_a_real_vocabulary():
    """Greedy, top-k and top-p on a 49k vocabulary pick only what their rule allows (speed is in bench/)."""
    rng = random.Random(0)
    logits = [rng.gauss(0, 3) for _ in range(49152)]
    order = sorted(range(len(logits)), key=lambda i: -logits[i])
    assert Sampler(SamplingParams(temperature=0)).sample(logits) == order[0]
    top_k = Sampler(SamplingParams(temperature=0.7, top_k=40, seed=0))
    assert all(top_k.sample(logits) in set(order[:40]) for _ in range(20))
    exps = [math.exp((logits[i] - logits[order[0]]) / 0.7) for i in order]
    total, acc, nucleus = sum(exps), 0.0, set()
    for i, e in zip(order, exps):
        nucleus.add(i)
        acc += e / total
        if acc >= 0.9:
            break
    top_p = Sampler(SamplingParams(temperature=0.7, top_p=0.9, seed=0))
    assert all(top_p.sample(logits) in nucleus for _ in range(20))
