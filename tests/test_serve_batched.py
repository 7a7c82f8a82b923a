"""The server's continuous batching on a tiny random llama (written to GGUF by the test, run on the CPU kernels):
concurrent clients each get their own single-stream answer, queueing, 400 for what cannot fit, cancelled streams
free their slot, json_object, logprobs, seed, stop; tool calls and embeddings on the fake model."""

import http.client
import json
import math
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from baregrad.device import probe
from baregrad.models.generate import complete
from baregrad.models.sampling import SamplingParams
from baregrad.serve import start_server

pytest.importorskip("gguf", reason="the tiny model is written with the gguf package (test extra)")
if probe("CPU") is not None:
    pytest.skip(f"batched serving runs on the native CPU kernels; CPU device: {probe('CPU')}", allow_module_level=True)

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from fake_llm import ByteTokenizer, FakeModel  # noqa: E402

from tests.models.tiny_llama import TEMPLATE, write_tiny_llama  # noqa: E402

SLOTS, CTX = 3, 256
PROMPTS = ["The cat", "Hello, world! How are", "1 2 3 4 5 6", "abc", "JSON: {", "Once upon a time there was",
           "x", "Lorem ipsum dolor sit amet"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from baregrad.models.llama import load_llama
    return load_llama(write_tiny_llama(tmp_path_factory.mktemp("tiny") / "tiny.gguf"), device="CPU", max_context=512)


@pytest.fixture(scope="module")
def server(model):
    server, thread = start_server(model, port=0, model_name="tiny", parallel=SLOTS, ctx_size=CTX)
    yield server
    server.close()
    thread.join(timeout=5)


def post(server, path: str, body: dict) -> tuple[int, dict]:
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=60)
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    payload = json.loads(response.read())
    conn.close()
    return response.status, payload


def get(server, path: str) -> dict:
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    conn.request("GET", path)
    payload = json.loads(conn.getresponse().read())
    conn.close()
    return payload


def in_parallel(calls: list) -> list:
    results: list = [None] * len(calls)

    def run(k: int) -> None:
        results[k] = calls[k]()
    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_concurrent_clients_each_get_their_own_greedy_answer(server, model) -> None:
    """8 clients on 3 slots: every answer equals that prompt's greedy single-stream output; steps held several
    sequences and requests waited in the queue."""
    tokenizer = model.tokenizer
    params = SamplingParams(temperature=0.0, max_tokens=12)
    want = [tokenizer.decode(complete(model, tokenizer.encode(p), params).token_ids) for p in PROMPTS]
    worker = server.worker
    worker.batch_sizes.clear()
    worker.max_waiting = 0
    replies = in_parallel([lambda p=p: post(server, "/v1/completions", {"prompt": p, "max_tokens": 12,
                                                                        "temperature": 0}) for p in PROMPTS])
    assert [status for status, _ in replies] == [200] * len(PROMPTS)
    got = [body["choices"][0]["text"] for _, body in replies]
    # texts compared as decoded by the same tokenizer (stop handling aside, both cut at 12 tokens or the end)
    assert got == want
    assert max(worker.batch_sizes) > 1 and max(worker.batch_sizes) <= SLOTS
    assert worker.max_waiting >= 1


def test_requests_wait_when_the_pool_is_full(server) -> None:
    """Each request reserves prompt + max_tokens positions: three of ~150 do not fit 256 together, so they are
    served one after the other (never two in one step), none refused."""
    worker = server.worker
    worker.batch_sizes.clear()
    replies = in_parallel([lambda p=p: post(server, "/v1/completions", {"prompt": p, "max_tokens": 140,
                                                                        "temperature": 0}) for p in PROMPTS[:3]])
    assert [status for status, _ in replies] == [200] * 3
    assert all(body["usage"]["completion_tokens"] >= 1 for _, body in replies)
    assert max(worker.batch_sizes) == 1


def test_a_request_that_cannot_fit_alone_gets_400(server) -> None:
    status, body = post(server, "/v1/completions", {"prompt": "hello", "max_tokens": CTX})
    assert status == 400 and body["error"]["code"] == "context_length_exceeded"
    assert str(CTX) in body["error"]["message"]
    status, body = post(server, "/v1/completions", {"prompt": [65] * (CTX + 10), "max_tokens": 1})
    assert status == 400 and body["error"]["code"] == "context_length_exceeded"
    assert post(server, "/v1/completions", {"prompt": "hello", "max_tokens": 2})[0] == 200


def test_a_disconnected_stream_frees_its_slot(server, model, monkeypatch) -> None:
    """Steps slowed to 50 ms: a client that leaves after its first chunk has its slot freed long before its
    generation (60 tokens without an end-of-sequence) could have ended."""
    params = SamplingParams(temperature=0.0, max_tokens=60)
    prompt = next(p for p in PROMPTS if len(complete(model, model.tokenizer.encode(p), params).token_ids) == 60)
    worker = server.worker
    step = worker.decoder.step
    monkeypatch.setattr(worker.decoder, "step", lambda feeds: (time.sleep(0.05), step(feeds))[1])
    before = worker.cancelled
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    body = json.dumps({"prompt": prompt, "stream": True, "max_tokens": 60, "temperature": 0})
    conn.request("POST", "/v1/completions", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 200
    response.fp.readline()
    start = time.monotonic()
    conn.close()
    while time.monotonic() - start < 10 and (worker.busy_slots or worker.cancelled == before):
        time.sleep(0.01)
    freed_after = time.monotonic() - start
    assert worker.cancelled == before + 1 and worker.busy_slots == 0
    assert freed_after < 1.5, f"the slot was freed {freed_after:.2f} s after the client left"
    health = get(server, "/health")
    assert health["slots_processing"] == 0 and health["slots"] == SLOTS and health["ctx_size"] == CTX


@pytest.mark.parametrize("temperature", [0.0, 1.5])
def test_json_object_answers_parse(server, temperature) -> None:
    replies = in_parallel([lambda k=k: post(server, "/v1/chat/completions", {
        "messages": [{"role": "user", "content": f"Describe item {k} as JSON"}], "max_tokens": 24 + 8 * k,
        "temperature": temperature, "seed": k, "response_format": {"type": "json_object"}}) for k in range(3)])
    for status, body in replies:
        assert status == 200
        assert isinstance(json.loads(body["choices"][0]["message"]["content"]), dict)


def test_logprobs_shapes_and_values(server, model) -> None:
    prompt = "Hello, world!"
    status, body = post(server, "/v1/chat/completions", {"messages": [{"role": "user", "content": prompt}],
                                                         "max_tokens": 5, "temperature": 0, "logprobs": True,
                                                         "top_logprobs": 3})
    assert status == 200
    content = body["choices"][0]["logprobs"]["content"]
    assert len(content) == body["usage"]["completion_tokens"]
    for entry in content:
        tops = [t["logprob"] for t in entry["top_logprobs"]]
        assert len(tops) == 3 and tops == sorted(tops, reverse=True) and all(x <= 0 for x in tops)
        assert entry["logprob"] == tops[0]  # greedy: the chosen token is the best one
        assert bytes(entry["bytes"]).decode("utf-8", "replace") == entry["token"]
    # the first token's log-probability against log_softmax of the model's own logits
    ids = model.tokenizer.encode(model.tokenizer.apply_chat_template([{"role": "user", "content": prompt}]))
    model.reset()
    logits = np.array(model.forward(ids, 0), np.float64)
    log_softmax = logits - logits.max() - math.log(np.exp(logits - logits.max()).sum())
    assert abs(content[0]["logprob"] - log_softmax.max()) < 1e-4
    status, body = post(server, "/v1/completions", {"prompt": prompt, "max_tokens": 4, "logprobs": 2,
                                                    "temperature": 0.7, "seed": 3})
    logprobs = body["choices"][0]["logprobs"]
    n = body["usage"]["completion_tokens"]
    assert [len(logprobs[k]) for k in ("tokens", "token_logprobs", "top_logprobs", "text_offset")] == [n] * 4
    assert all(len(top) <= 2 for top in logprobs["top_logprobs"])
    assert post(server, "/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}],
                                                 "top_logprobs": 3})[0] == 400


def test_seed_and_stop(server) -> None:
    request = {"prompt": "Once upon", "max_tokens": 10, "temperature": 1.2, "seed": 11}
    runs = in_parallel([lambda: post(server, "/v1/completions", request)] * 2)
    assert runs[0][1]["choices"][0]["text"] == runs[1][1]["choices"][0]["text"]
    text = post(server, "/v1/completions", {"prompt": "Once upon", "max_tokens": 10, "temperature": 0})[1]
    full = text["choices"][0]["text"]
    stop = full[3:5]
    cut = post(server, "/v1/completions", {"prompt": "Once upon", "max_tokens": 10, "temperature": 0,
                                           "stop": [stop]})[1]["choices"][0]
    assert cut["text"] == full[:full.index(stop)] and cut["finish_reason"] == "stop"


# ---- tool calls and embeddings, on the fake model ----

class ToolTokenizer(ByteTokenizer):
    """The fake model's tokenizer with a chat template that defines tools; tool names lead the prompt (the fake
    answers for the keyword found last: a tool's name unless the user names another)."""
    vocab = SimpleNamespace(chat_template=TEMPLATE)

    def apply_chat_template(self, messages, add_generation_prompt=True, tools=None):
        names = " ".join(t["function"]["name"] for t in tools or [])
        return names + super().apply_chat_template(messages, add_generation_prompt)


class FakeEmbedder:
    def embed(self, texts):
        return [[float(len(t)), float(t.count("a")), 1.0] for t in texts]


CALL = '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'


@pytest.fixture(scope="module")
def fake_server():
    model = FakeModel({"get_weather": CALL, "France": "Paris."}, max_context=512)
    model.tokenizer = ToolTokenizer()
    server, thread = start_server(model, port=0, model_name="fake", embedder=FakeEmbedder())
    yield server
    server.close()
    thread.join(timeout=5)


TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "the weather in a city",
                                           "parameters": {"type": "object"}}}]


def test_tool_calls_are_parsed(fake_server) -> None:
    request = {"messages": [{"role": "user", "content": "Weather in Paris?"}], "tools": TOOLS, "temperature": 0}
    status, body = post(fake_server, "/v1/chat/completions", request)
    choice = body["choices"][0]
    assert status == 200 and choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather" and json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert choice["message"]["content"] is None
    plain = post(fake_server, "/v1/chat/completions", {"messages": [{"role": "user", "content": "France"}],
                                                       "tools": TOOLS, "temperature": 0})[1]["choices"][0]
    assert plain["message"]["content"] == "Paris." and plain["finish_reason"] == "stop"


def test_tools_need_a_template_that_defines_them(server) -> None:
    status, _ = post(server, "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}],
                                                      "tools": [{"type": "function"}]})
    assert status == 400


def test_embeddings(fake_server, server) -> None:
    status, body = post(fake_server, "/v1/embeddings", {"input": ["banana", "kiwi"], "model": "e"})
    assert status == 200
    assert [d["embedding"] for d in body["data"]] == FakeEmbedder().embed(["banana", "kiwi"])
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert post(server, "/v1/embeddings", {"input": "x"})[0] == 400  # this one has no embedding model
    assert post(fake_server, "/v1/embeddings", {"input": []})[0] == 400
    assert get(fake_server, "/v1/models")["data"][0]["id"] == "fake"
