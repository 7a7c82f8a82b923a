"""The OpenAI-compatible server, driven by the official openai client against a fake model on loopback."""

import http.client
import json
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from fake_llm import FakeModel  # noqa: E402

from baregrad.serve import start_server  # noqa: E402

openai = pytest.importorskip("openai", reason="the server tests use the openai client (test extra)")

REPLIES = {"France": "Paris is the capital of France.", "Italy": "Rome, of course.", "Japan": "Tokyo! 東京 🗼"}
NAME = "fake-model"


@pytest.fixture(scope="module")
def server():
    model = FakeModel(REPLIES, max_context=256, delay=0.001)
    server, thread = start_server(model, port=0, model_name=NAME)
    yield server
    server.close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def client(server):
    host, port = server.server_address[:2]
    return openai.OpenAI(base_url=f"http://{host}:{port}/v1", api_key="unused", max_retries=0, timeout=30)


def ask(client, question, **kwargs):
    return client.chat.completions.create(model=NAME, messages=[{"role": "user", "content": question}], **kwargs)


def raw_post(server, path, body: bytes, headers=None):
    """A request the openai client would refuse to send."""
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
    response = conn.getresponse()
    payload = json.loads(response.read())
    conn.close()
    return response.status, payload


def test_lists_the_model(client):
    assert [m.id for m in client.models.list().data] == [NAME]


def test_chat_completion(client):
    response = ask(client, "What is the capital of France?", temperature=0)
    assert response.choices[0].message.content == "Paris is the capital of France."
    assert response.choices[0].message.role == "assistant"
    assert response.choices[0].finish_reason == "stop"
    assert response.model == NAME and response.object == "chat.completion"
    usage = response.usage
    assert usage.completion_tokens == len("Paris is the capital of France.")
    assert usage.prompt_tokens > 10 and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_chat_streaming(client):
    stream = ask(client, "And Japan?", temperature=0, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Tokyo! 東京 🗼"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage.completion_tokens == len("Tokyo! 東京 🗼".encode())
    assert all(c.object == "chat.completion.chunk" for c in chunks)


def test_completions_streaming_and_not(client):
    response = client.completions.create(model=NAME, prompt="Italy:", max_tokens=5, temperature=0)
    assert response.choices[0].text == "Rome," and response.choices[0].finish_reason == "length"
    assert response.usage.completion_tokens == 5 and response.usage.prompt_tokens == len("Italy:")
    stream = client.completions.create(model=NAME, prompt="Italy:", temperature=0, stream=True)
    assert "".join(c.choices[0].text for c in stream) == "Rome, of course."


def test_stop_sequences(client):
    response = ask(client, "France?", temperature=0, stop=["capital"])
    assert response.choices[0].message.content == "Paris is the " and response.choices[0].finish_reason == "stop"


def test_seeded_sampling_is_reproducible(client):
    runs = [ask(client, "France?", temperature=3.0, seed=5, max_tokens=12).choices[0].message.content
            for _ in range(2)]
    assert runs[0] == runs[1]


def test_concurrent_clients_get_their_own_answers(client):
    questions = {"France": REPLIES["France"], "Italy": REPLIES["Italy"], "Japan": REPLIES["Japan"]}
    results, errors = {}, []

    def worker(key, stream):
        try:
            for _ in range(3):
                if stream:
                    chunks = ask(client, f"Tell me about {key}", temperature=0, stream=True)
                    results.setdefault(key, []).append("".join(c.choices[0].delta.content or "" for c in chunks))
                else:
                    results.setdefault(key, []).append(ask(client, f"About {key}?", temperature=0)
                                                       .choices[0].message.content)
        except Exception as exc:  # reported below, from the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k, s)) for k in questions for s in (False, True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    for key, answer in questions.items():
        assert results[key] == [answer] * 6


@pytest.mark.parametrize("kwargs, status, param", [
    (dict(model="no-such-model"), 404, "model"),
    (dict(max_tokens=100_000), 400, "max_tokens"),
    (dict(temperature=-1.0), 400, "temperature"),
    (dict(top_p=1.5), 400, "top_p"),
    (dict(messages=[]), 400, "messages"),
    (dict(messages=[{"content": "no role"}]), 400, "messages"),
    (dict(messages=[{"role": "user", "content": "x" * 300}]), 400, "messages"),
    (dict(n=2), 400, "n"),
])
def test_bad_requests_get_4xx_and_the_server_goes_on(client, kwargs, status, param):
    request = {"model": NAME, "messages": [{"role": "user", "content": "France?"}], **kwargs}
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(**request)
    assert caught.value.status_code == status
    body = caught.value.body
    assert body["param"] == param and body["message"] and body["type"] == "invalid_request_error"
    assert ask(client, "France?", temperature=0).choices[0].message.content == REPLIES["France"]


@pytest.mark.parametrize("path, body, status", [
    ("/v1/chat/completions", b"{not json", 400),
    ("/v1/chat/completions", b"[1, 2]", 400),
    ("/v1/chat/completions", json.dumps({"model": NAME}).encode(), 400),  # messages missing
    ("/v1/completions", json.dumps({"model": NAME}).encode(), 400),  # prompt missing
    ("/v1/nowhere", b"{}", 404),
])
def test_malformed_requests(server, client, path, body, status):
    code, payload = raw_post(server, path, body)
    assert code == status and set(payload["error"]) == {"message", "type", "param", "code"}
    assert ask(client, "Italy?", temperature=0).choices[0].message.content == REPLIES["Italy"]


def test_client_that_leaves_mid_stream_does_not_block_others(server, client):
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    body = json.dumps({"model": NAME, "stream": True, "messages": [{"role": "user", "content": "Japan"}]})
    conn.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Content-Type") == "text/event-stream"
    response.fp.readline()
    conn.close()
    assert ask(client, "France?", temperature=0).choices[0].message.content == REPLIES["France"]
