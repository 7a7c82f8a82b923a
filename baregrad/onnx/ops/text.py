"""ONNX TfIdfVectorizer over integer tokens: n-gram counts (with skips) weighted as TF, IDF or TF-IDF.

The matching is data-dependent work on short token rows, done on the host; the result is a float32 tensor."""
from __future__ import annotations

import itertools
from typing import Any

import baregrad.dtype as dt
from baregrad.onnx.ops.registry import OpContext, register
from baregrad.tensor import Tensor


def _ngram_table(attrs: dict[str, Any]) -> dict[tuple[int, ...], int]:
    """Each pooled n-gram -> its output column."""
    pool = [int(v) for v in attrs.get("pool_int64s", [])]
    starts = list(attrs["ngram_counts"]) + [len(pool)]
    columns = list(attrs["ngram_indexes"])
    table, j = {}, 0
    for size_minus_one, (lo, hi) in enumerate(itertools.pairwise(starts)):
        n = size_minus_one + 1
        for at in range(lo, hi, n):
            table[tuple(pool[at:at + n])] = columns[j]
            j += 1
    return table


def _count_row(tokens: list[int], table: dict[tuple[int, ...], int], lo: int, hi: int, skips: int,
               width: int) -> list[float]:
    counts = [0.0] * width
    for n in range(lo, hi + 1):
        for skip in range(skips + 1 if n > 1 else 1):
            step = skip + 1
            for start in range(len(tokens)):
                end = start + (n - 1) * step
                if end >= len(tokens):
                    break
                column = table.get(tuple(tokens[start:end + 1:step]))
                if column is not None:
                    counts[column] += 1
    return counts


@register("TfIdfVectorizer")
def tfidf_vectorizer(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    table = _ngram_table(attrs)
    width = max(attrs["ngram_indexes"]) + 1
    rows = x.tolist() if x.ndim == 2 else [x.tolist()]
    lo, hi, skips = attrs["min_gram_length"], attrs["max_gram_length"], attrs.get("max_skip_count", 0)
    weights = list(attrs.get("weights", [1.0] * width))
    mode = attrs["mode"]
    out = []
    for row in rows:
        counts = _count_row([int(v) for v in row], table, lo, hi, skips, width)
        if mode == "IDF":
            counts = [weights[i] if c > 0 else 0.0 for i, c in enumerate(counts)]
        elif mode == "TFIDF":
            counts = [c * weights[i] for i, c in enumerate(counts)]
        out.append(counts)
    result = Tensor(out, dtype=dt.float32, device=ctx.device)
    return result if x.ndim == 2 else result.reshape(width)
