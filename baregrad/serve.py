"""An OpenAI-compatible HTTP server for a language model, on the standard library only.

Endpoints: GET /v1/models, POST /v1/chat/completions, POST /v1/completions, each streamed (server-sent events in
OpenAI's chunk format, ending with `data: [DONE]`) or not, with usage counts. Bad requests get 4xx answers in
OpenAI's error format ({"error": {"message", "type", "param", "code"}}) and the server keeps serving.

Threads: ThreadingHTTPServer gives each connection a thread that parses and validates; ONE worker thread owns the
model and takes jobs from a queue, so concurrent clients are served one generation at a time (the model and its
KV cache are not shared between threads). Events flow back to the connection's thread through a per-job queue;
a client that disconnects cancels its job between two tokens.

Stopping (SIGTERM, or Ctrl-C): the listening socket is closed at once, requests that arrive on open connections get
503, generations in flight end at their next token with a proper final chunk (finish_reason, then `[DONE]`), and
serve() returns within GRACE_SECONDS, so `baregrad serve` exits 0.

    python -m baregrad serve [MODEL] --port 8000        # then: OpenAI(base_url="http://127.0.0.1:8000/v1")
"""

from __future__ import annotations

import json
import queue
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator

from baregrad.errors import ArgumentError
from baregrad.models.generate import GenerationEvent, LanguageModel, generate
from baregrad.models.sampling import SamplingParams

DEFAULT_MAX_TOKENS = 512  # when a request names none: enough for an answer, bounded for a slow model
MAX_BODY_BYTES = 8 << 20
GRACE_SECONDS = 5.0  # on SIGTERM, how long requests in flight get to end their streams


class RequestError(Exception):
    """A request the server refuses: becomes an OpenAI-style error body with this HTTP status."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


# ---------------------------------------------------------------------------------------------------------------
# the worker that owns the model


@dataclass
class Job:
    """One generation request queued for the worker; `events` carries GenerationEvents, then None (or an error)."""

    prompt_ids: list[int]
    params: SamplingParams
    events: "queue.Queue[GenerationEvent | BaseException | None]" = field(default_factory=queue.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def stream(self) -> Iterator[GenerationEvent]:
        """The job's events as they come; re-raises an error the worker met."""
        while True:
            item = self.events.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


class ModelWorker:
    """The one thread that runs the model: jobs are served in arrival order."""

    def __init__(self, model: LanguageModel, stopping: threading.Event | None = None):
        self.model = model
        self.stopping = stopping or threading.Event()  # set: every generation ends at its next token
        self.jobs: "queue.Queue[Job | None]" = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="baregrad-model-worker", daemon=True)
        self.thread.start()

    def submit(self, prompt_ids: list[int], params: SamplingParams) -> Job:
        job = Job(prompt_ids, params)
        self.jobs.put(job)
        return job

    def stop(self) -> None:
        self.jobs.put(None)
        self.thread.join(timeout=10)

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            if not job.cancelled.is_set():
                self._serve(job)
            job.events.put(None)

    def _serve(self, job: Job) -> None:
        try:
            def should_stop() -> bool:
                return job.cancelled.is_set() or self.stopping.is_set()
            for event in generate(self.model, job.prompt_ids, job.params, should_stop=should_stop):
                job.events.put(event)
        except BaseException as exc:  # handed to the connection's thread, which answers 500
            job.events.put(exc)


# ---------------------------------------------------------------------------------------------------------------
# requests -> prompts and sampling parameters


@dataclass
class ParsedRequest:
    """A validated completion request."""

    prompt_ids: list[int]
    params: SamplingParams
    stream: bool
    include_usage: bool


def _parse_json(raw: bytes) -> dict:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(400, f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise RequestError(400, "request body must be a JSON object")
    return body


def _message_text(content: Any, index: int) -> str:
    """OpenAI content: a string, or a list of parts of which the text parts are joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in content):
        return "".join(str(p.get("text", "")) for p in content)
    raise RequestError(400, f"messages[{index}].content must be a string or a list of text parts", "messages")


def _chat_prompt(body: dict, tokenizer: Any) -> list[int]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError(400, "'messages' is required: a non-empty list of {role, content} objects", "messages")
    clean = []
    for k, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise RequestError(400, f"messages[{k}] must be an object with a string 'role'", "messages")
        role = "system" if m["role"] == "developer" else m["role"]  # newer clients say developer for system
        clean.append({"role": role, "content": _message_text(m.get("content"), k)})
    try:
        return tokenizer.encode(tokenizer.apply_chat_template(clean, add_generation_prompt=True))
    except ArgumentError as exc:
        raise RequestError(400, str(exc), "messages") from None


def _completion_prompt(body: dict, tokenizer: Any) -> list[int]:
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]  # a batch of one
    if isinstance(prompt, str) and prompt:
        return tokenizer.encode(prompt)
    if isinstance(prompt, list) and prompt and all(isinstance(t, int) and not isinstance(t, bool) for t in prompt):
        return list(prompt)  # token ids
    raise RequestError(400, "'prompt' is required: a non-empty string (or a list of token ids)", "prompt")


def _sampling_params(body: dict, prompt_len: int, max_context: int) -> SamplingParams:
    if body.get("n", 1) not in (1, None):
        raise RequestError(400, "only n=1 is supported", "n")
    stop = body.get("stop")
    stop = [] if stop is None else [stop] if isinstance(stop, str) else stop
    room = max_context - prompt_len
    if room < 1:
        raise RequestError(400, f"the prompt has {prompt_len} tokens; this model's context is {max_context}",
                           "messages" if "messages" in body else "prompt", "context_length_exceeded")
    max_tokens = _first_set(body, "max_completion_tokens", "max_tokens")
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens > room:
        raise RequestError(400, f"max_tokens={max_tokens} plus the prompt's {prompt_len} tokens exceeds this "
                                f"model's context of {max_context} tokens", "max_tokens", "context_length_exceeded")
    params = SamplingParams(
        temperature=_default(body.get("temperature"), 1.0), top_p=_default(body.get("top_p"), 1.0),
        top_k=_default(body.get("top_k"), 0), repetition_penalty=_default(body.get("repetition_penalty"), 1.0),
        seed=body.get("seed"), max_tokens=_default(max_tokens, min(room, DEFAULT_MAX_TOKENS)), stop=stop)
    try:
        return params.validate()
    except ArgumentError as exc:
        raise RequestError(400, str(exc), str(exc).split(" ", 1)[0]) from None


def _first_set(body: dict, *keys: str) -> Any:
    return next((body[k] for k in keys if body.get(k) is not None), None)


def _default(value: Any, default: Any) -> Any:
    return default if value is None else value


def parse_request(body: dict, chat: bool, model: LanguageModel, model_name: str) -> ParsedRequest:
    """Validate an OpenAI request body; RequestError (4xx) for anything the server cannot honour."""
    requested = body.get("model")
    if requested is not None and requested != model_name:
        raise RequestError(404, f"The model '{requested}' does not exist; this server has '{model_name}'",
                           "model", "model_not_found")
    prompt_ids = (_chat_prompt if chat else _completion_prompt)(body, model.tokenizer)
    params = _sampling_params(body, len(prompt_ids), model.max_context)
    options = body.get("stream_options") or {}
    return ParsedRequest(prompt_ids, params, bool(body.get("stream", False)),
                         bool(isinstance(options, dict) and options.get("include_usage")))


# ---------------------------------------------------------------------------------------------------------------
# responses


@dataclass
class _Reply:
    """Shapes OpenAI's response objects for one request, chat or text completion."""

    chat: bool
    model_name: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:24])
    created: int = field(default_factory=lambda: int(time.time()))

    def _head(self, chunk: bool) -> dict:
        prefix, kind = ("chatcmpl-", "chat.completion") if self.chat else ("cmpl-", "text_completion")
        return {"id": prefix + self.id, "object": kind + (".chunk" if chunk and self.chat else ""),
                "created": self.created, "model": self.model_name}

    def whole(self, text: str, finish_reason: str, usage: dict) -> dict:
        if self.chat:
            choice = {"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": None,
                      "finish_reason": finish_reason}
        else:
            choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish_reason}
        return {**self._head(False), "choices": [choice], "usage": usage}

    def chunk(self, text: str | None, finish_reason: str | None = None, first: bool = False) -> dict:
        if self.chat:
            delta = {"role": "assistant", "content": ""} if first else ({} if text is None else {"content": text})
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        else:
            choice = {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish_reason}
        return {**self._head(True), "choices": [choice]}

    def usage_chunk(self, usage: dict) -> dict:
        return {**self._head(True), "choices": [], "usage": usage}


def _usage(event: GenerationEvent) -> dict:
    stats = event.stats
    return {"prompt_tokens": stats.prompt_tokens, "completion_tokens": stats.generated_tokens,
            "total_tokens": stats.prompt_tokens + stats.generated_tokens}


# ---------------------------------------------------------------------------------------------------------------
# HTTP


class OpenAIServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that carries the model, its name and the worker thread that owns it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], model: LanguageModel, model_name: str, verbose: bool = False):
        super().__init__(address, _Handler)
        self.model, self.model_name, self.verbose = model, model_name, verbose
        self.stopping = threading.Event()
        self.worker = ModelWorker(model, self.stopping)
        self.started = int(time.time())
        self.in_flight = 0  # requests being answered now, under `idle`
        self.idle = threading.Condition()

    def close(self) -> None:
        """Stop serving, close the socket and end the worker thread."""
        self.shutdown()
        self.drain()

    def drain(self, grace: float = GRACE_SECONDS) -> bool:
        """Stop accepting (close the listening socket), end generations in flight at their next token, wait up to
        `grace` seconds for their answers to be sent, then end the worker. True when every request finished."""
        self.stopping.set()
        self.server_close()
        deadline = time.monotonic() + grace
        with self.idle:
            while self.in_flight and time.monotonic() < deadline:
                self.idle.wait(timeout=max(deadline - time.monotonic(), 0.0))
            finished = self.in_flight == 0
        self.worker.stop()
        return finished

    def request_started(self) -> None:
        with self.idle:
            self.in_flight += 1

    def request_ended(self) -> None:
        with self.idle:
            self.in_flight -= 1
            self.idle.notify_all()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; streams use chunked transfer encoding
    server: OpenAIServer
    server_version = "baregrad"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        if self.server.verbose:
            super().log_message(format, *args)

    # routing ---------------------------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(self._get)

    def do_POST(self) -> None:  # noqa: N802
        self._answer(self._post)

    def _answer(self, route: Callable[[], None]) -> None:
        self.server.request_started()
        try:
            if self.server.stopping.is_set():  # a request on a connection opened before the stop
                self.close_connection = True
                raise RequestError(503, "the server is shutting down", kind="server_error", code="shutting_down")
            route()
        except RequestError as exc:
            self._send_json(exc.status, exc.body())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # a bug or a model failure: answer 500 and keep serving
            error = RequestError(500, f"internal error: {type(exc).__name__}: {exc}", kind="server_error")
            self._send_json(500, error.body())
        finally:
            self.server.request_ended()

    def _get(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        entry = {"id": self.server.model_name, "object": "model", "created": self.server.started,
                 "owned_by": "baregrad"}
        if path == "/v1/models":
            self._send_json(200, {"object": "list", "data": [entry]})
        elif path == f"/v1/models/{self.server.model_name}":
            self._send_json(200, entry)
        elif path in ("", "/health"):
            self._send_json(200, {"status": "ok", "model": self.server.model_name})
        else:
            raise RequestError(404, f"no such endpoint: GET {self.path}", code="not_found")

    def _post(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        body = self._read_body()
        if path not in ("/v1/chat/completions", "/v1/completions"):
            raise RequestError(404, f"no such endpoint: POST {self.path}", code="not_found")
        chat = path == "/v1/chat/completions"
        request = parse_request(_parse_json(body), chat, self.server.model, self.server.model_name)
        job = self.server.worker.submit(request.prompt_ids, request.params)
        reply = _Reply(chat, self.server.model_name)
        try:
            (self._stream if request.stream else self._whole)(job, reply, request)
        finally:
            job.cancelled.set()  # a client that left stops the worker at the next token

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            raise RequestError(411, "a Content-Length header is required")
        if int(length) > MAX_BODY_BYTES:
            self.close_connection = True
            raise RequestError(413, f"request body over {MAX_BODY_BYTES} bytes")
        return self.rfile.read(int(length))

    # answers ---------------------------------------------------------------------------------------------------
    def _whole(self, job: Job, reply: _Reply, request: ParsedRequest) -> None:
        texts, last = [], None
        for event in job.stream():
            texts.append(event.text)
            last = event
        if last is None or not last.finished:
            raise RuntimeError("the generation ended without a final event")
        self._send_json(200, reply.whole("".join(texts), last.finish_reason.value, _usage(last)))

    def _stream(self, job: Job, reply: _Reply, request: ParsedRequest) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if reply.chat:
            self._send_event(reply.chunk(None, first=True))
        try:
            for event in job.stream():
                if event.text:
                    self._send_event(reply.chunk(event.text))
                if event.finished:
                    self._send_event(reply.chunk(None, event.finish_reason.value))
                    if request.include_usage:
                        self._send_event(reply.usage_chunk(_usage(event)))
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception as exc:  # headers are gone: report the failure as an event, then end the stream
            self._send_event(RequestError(500, f"internal error: {exc}", kind="server_error").body())
        self._send_chunk(b"data: [DONE]\n\n")
        self._send_chunk(b"")

    def _send_event(self, payload: dict) -> None:
        self._send_chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

    def _send_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _send_json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status, HTTPStatus(status).phrase)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()


# ---------------------------------------------------------------------------------------------------------------
# starting


def start_server(model: LanguageModel, port: int = 0, host: str = "127.0.0.1", model_name: str = "baregrad",
                 verbose: bool = False) -> tuple[OpenAIServer, threading.Thread]:
    """Serve in a background thread (port 0 picks a free one: see server.server_address). Stop with close()."""
    server = OpenAIServer((host, port), model, model_name, verbose)
    thread = threading.Thread(target=server.serve_forever, name="baregrad-http", daemon=True)
    thread.start()
    return server, thread


class StopServing(Exception):
    """Raised in the main thread by the SIGTERM handler to leave serve_forever()."""


def _raise_stop(signum: int, frame: Any) -> None:
    signal.signal(signum, signal.SIG_IGN)  # a second SIGTERM while draining changes nothing
    raise StopServing(signal.Signals(signum).name)


def serve(model: LanguageModel, host: str = "127.0.0.1", port: int = 8000, model_name: str = "baregrad",
          verbose: bool = True) -> None:
    """Serve until SIGTERM or Ctrl-C, then stop gracefully (see the module docstring) and return."""
    server = OpenAIServer((host, port), model, model_name, verbose)
    bound_host, bound_port = server.server_address[:2]
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_stop) if on_main_thread else None
    try:
        print(f"serving {model_name} at http://{bound_host}:{bound_port}/v1 (OpenAI API); Ctrl-C stops", flush=True)
        server.serve_forever()
    except (KeyboardInterrupt, StopServing):
        pass
    finally:
        finished = server.drain()
        if on_main_thread:
            signal.signal(signal.SIGTERM, previous)
    if verbose:
        print("stopped" + ("" if finished else f" (requests still open after {GRACE_SECONDS:g} s were cut)"),
              flush=True)
