"""Batched steps over the pooled KV cache (llama.BatchDecoder) against the single-sequence path, and the Batcher."""
from __future__ import annotations

import random

import numpy as np
import pytest

from baregrad.device import probe
from baregrad.errors import ArgumentError
from baregrad.models.batching import Batcher, BatchFeed, Options
from baregrad.models.generate import complete
from baregrad.models.sampling import SamplingParams

pytest.importorskip("gguf", reason="the tiny model is written with the gguf package (test extra)")
if probe("CPU") is not None:
    pytest.skip(f"batched steps run on the native CPU kernels; CPU device: {probe('CPU')}", allow_module_level=True)

from tests.models.tiny_llama import write_tiny_llama  # noqa: E402 - after the skips


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory):
    from baregrad.models.llama import load_llama
    path = write_tiny_llama(tmp_path_factory.mktemp("tiny") / "tiny.gguf")
    return load_llama(path, device="CPU", max_context=256)


def single_logits(model, tokens: list[int]) -> np.ndarray:
    """Logits after each token of `tokens`, fed one sequence alone through the model's own cache."""
    model.reset()
    out = [model.forward(tokens[:1], 0)]
    out += [model.forward([t], k + 1) for k, t in enumerate(tokens[1:])]
    return np.array(out, np.float32)


def test_batched_steps_match_single_sequences(model) -> None:
    """Three sequences in scattered pool blocks: prompts fed together with another's decode rows, then decoded in
    one step each; every wanted row's logits equal the sequence fed alone."""
    rng = random.Random(0)
    seqs = [[rng.randrange(256) for _ in range(n)] for n in (21, 5, 40)]
    refs = [single_logits(model, s) for s in seqs]
    decoder = model.batch_decoder(4, 256)
    blocks = list(range(decoder.n_blocks))
    rng.shuffle(blocks)  # positions of one sequence live in blocks scattered over the pool
    tables = [blocks[0:3], blocks[3:5], blocks[5:9]]
    # step 1: all of sequence 0's prompt but its last token, and sequence 1's whole prompt
    first = decoder.step([BatchFeed(tables[0], 0, seqs[0][:-1], want=False), BatchFeed(tables[1], 0, seqs[1])])
    assert len(first.argmax) == 1
    np.testing.assert_allclose(first.logits(0), refs[1][-1], atol=1e-4, rtol=1e-4)
    # step 2: sequence 0's last prompt token (a decode row) beside sequence 2's whole prompt
    second = decoder.step([BatchFeed(tables[0], 20, seqs[0][-1:]), BatchFeed(tables[2], 0, seqs[2])])
    np.testing.assert_allclose(second.logits(0), refs[0][-1], atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(second.logits(1), refs[2][-1], atol=1e-4, rtol=1e-4)
    assert second.argmax == [int(np.argmax(refs[0][-1])), int(np.argmax(refs[2][-1]))]
    # step 3: one more token for all three, each at its own position
    nxt = [7, 8, 9]
    third = decoder.step([BatchFeed(t, len(s), [x]) for t, s, x in zip(tables, seqs, nxt)])
    for k, (s, x) in enumerate(zip(seqs, nxt)):
        np.testing.assert_allclose(third.logits(k), single_logits(model, s + [x])[-1], atol=1e-4, rtol=1e-4)


def test_feeds_past_their_blocks_are_refused(model) -> None:
    decoder = model.batch_decoder(2, 64)
    with pytest.raises(ArgumentError, match="blocks"):
        decoder.step([BatchFeed([0], 10, list(range(10)))])  # positions 10..19 with one 16-position block


def test_batcher_gives_each_job_its_greedy_output(model) -> None:
    """More jobs than slots: all are served (queued, then admitted), each with its own single-stream answer."""
    rng = random.Random(1)
    prompts = [[rng.randrange(256) for _ in range(rng.randrange(3, 30))] for _ in range(5)]
    params = SamplingParams(temperature=0.0, max_tokens=8)
    want = [complete(model, p, params).token_ids for p in prompts]
    batcher = Batcher(model.batch_decoder(2, 256), model.tokenizer)
    try:
        jobs = [batcher.submit(p, params) for p in prompts]
        got = [[e.token_id for e in job.stream() if e.token_id is not None] for job in jobs]
        with pytest.raises(ArgumentError, match="positions"):
            batcher.submit(prompts[0], SamplingParams(max_tokens=250))
    finally:
        batcher.stop()
    assert got == want
    assert max(batcher.batch_sizes) == 2 and batcher.max_waiting >= 3


def test_json_object_jobs_parse(model) -> None:
    import json
    batcher = Batcher(model.batch_decoder(2, 256), model.tokenizer)
    try:
        jobs = [batcher.submit(model.tokenizer.encode(f"JSON {k}:"), SamplingParams(temperature=t, seed=k,
                                                                                     max_tokens=30),
                               Options(json_object=True)) for k, t in enumerate((0.0, 1.0, 2.0))]
        texts = ["".join(e.text for e in job.stream()) for job in jobs]
    finally:
        batcher.stop()
    for text in texts:
        assert isinstance(json.loads(text), dict), text
