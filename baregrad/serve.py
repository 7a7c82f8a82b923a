"""An OpenAI-compatible HTTP server for a language model, on the standard library only.

Endpoints: GET /v1/models, GET /health, POST /v1/chat/completions, POST /v1/completions (each streamed as
server-sent events in OpenAI's chunk format, ending with `data: [DONE]`, or not, with usage counts), and POST
/v1/embeddings when the server has an embedding model. Requests may ask for `stop`, `seed`, `logprobs` /
`top_logprobs`, `response_format: {"type": "json_object"}` (grammar-constrained sampling: the answer parses) and,
where the model's chat template defines tools, `tools` (calls come back as `tool_calls`). Bad requests get 4xx
answers in OpenAI's error format ({"error": {"message", "type", "param", "code"}}) and the server keeps serving.

Threads: ThreadingHTTPServer gives each connection a thread that parses and validates; ONE worker thread (a
models.batching.Batcher) owns the model and decodes up to `parallel` requests together, one batched step at a
time, over a KV-cache pool of `ctx_size` positions (continuous batching: requests join and leave between steps).
More requests wait in a queue; one that could not fit even alone gets 400. Events flow back to the connection's
thread through a per-job queue; a client that disconnects cancels its job, whose slot is free before the next step.
Models without batched steps (see LlamaModel.batch_decoder) are served one request at a time the same way.

Stopping (SIGTERM, or Ctrl-C): the listening socket is closed at once, requests that arrive on open connections get
503, generations in flight end at their next token with a proper final chunk (finish_reason, then `[DONE]`), and
serve() returns within GRACE_SECONDS, so `baregrad serve` exits 0.

    python -m baregrad serve [MODEL] --port 8000        # then: OpenAI(base_url="http://127.0.0.1:8000/v1")
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from baregrad.errors import ArgumentError
from baregrad.models.batching import Batcher, Decoder, Job, Options, SequenceDecoder, TokenLogprobs
from baregrad.models.generate import GenerationEvent, LanguageModel
from baregrad.models.sampling import SamplingParams
from baregrad.models.tool_calls import ToolCall, parse_tool_calls, template_defines_tools

DEFAULT_MAX_TOKENS = 512  # when a request names none: enough for an answer, bounded for a slow model
MAX_BODY_BYTES = 8 << 20
GRACE_SECONDS = 5.0  # on SIGTERM, how long requests in flight get to end their streams
MAX_TOP_LOGPROBS = 20


def default_parallel() -> int:
    """Slots when --parallel is not given: two per core (a batched step reads the weights once for every slot, so
    slots cost little until the cores are busy), at least 4, at most 16."""
    return max(4, min(16, 2 * (os.cpu_count() or 1)))


def make_decoder(model: LanguageModel, parallel: int, ctx_size: int | None) -> Decoder:
    """The model's batched decoder when it has one, else one request at a time on its own cache."""
    make = getattr(model, "batch_decoder", None)
    decoder = make(parallel, ctx_size or max(model.max_context, 512 * parallel)) if callable(make) else None
    return decoder if decoder is not None else SequenceDecoder(model)


class RequestError(Exception):
    """A request the server refuses: becomes an OpenAI-style error body with this HTTP status."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


# ---------------------------------------------------------------------------------------------------------------
# requests -> prompts and sampling parameters


@dataclass
class ParsedRequest:
    """A validated completion request."""

    prompt_ids: list[int]
    params: SamplingParams
    stream: bool
    include_usage: bool
    options: Options = field(default_factory=Options)
    tools: bool = False  # the answer is searched for tool calls


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
        calls = m.get("tool_calls")
        content = "" if m.get("content") is None and calls else _message_text(m.get("content"), k)
        # a turn that called tools, and a tool's answer, keep what templates read of them
        extra = {key: m[key] for key in ("tool_calls", "tool_call_id", "name") if m.get(key) is not None}
        clean.append({"role": role, "content": content, **extra})
    tools = _tools(body, tokenizer)
    try:
        text = tokenizer.apply_chat_template(clean, add_generation_prompt=True, **({"tools": tools} if tools else {}))
        return tokenizer.encode(text)
    except ArgumentError as exc:
        raise RequestError(400, str(exc), "messages") from None


def _chat_template(tokenizer: Any) -> str | None:
    return getattr(getattr(tokenizer, "vocab", None), "chat_template", None)


def _tools(body: dict, tokenizer: Any) -> list[dict] | None:
    """The request's function definitions, for a model whose chat template defines tools; 400 otherwise."""
    tools = body.get("tools")
    if tools is None or body.get("tool_choice") == "none":
        return None
    if not isinstance(tools, list) or not all(isinstance(t, dict) and isinstance(t.get("function"), dict)
                                              for t in tools):
        raise RequestError(400, "'tools' must be a list of {type: function, function: {name, ...}} objects", "tools")
    if not template_defines_tools(_chat_template(tokenizer)):
        raise RequestError(400, "this model's chat template defines no tools, so it was not taught to call them",
                           "tools")
    return tools or None


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
    """max_context: the positions one request may use (the model's context, and the server's KV-cache pool)."""
    if body.get("n", 1) not in (1, None):
        raise RequestError(400, "only n=1 is supported", "n")
    stop = body.get("stop")
    stop = [] if stop is None else [stop] if isinstance(stop, str) else stop
    room = max_context - prompt_len
    if room < 1:
        raise RequestError(400, f"the prompt has {prompt_len} tokens; a request may use {max_context} positions "
                                "(the model's context, or the server's --ctx-size)",
                           "messages" if "messages" in body else "prompt", "context_length_exceeded")
    max_tokens = _first_set(body, "max_completion_tokens", "max_tokens")
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens > room:
        raise RequestError(400, f"max_tokens={max_tokens} plus the prompt's {prompt_len} tokens exceeds the "
                                f"{max_context} positions a request may use (the model's context, or the server's "
                                "--ctx-size)", "max_tokens", "context_length_exceeded")
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


def _logprobs(body: dict, chat: bool) -> int | None:
    """How many alternatives per token the request wants with its logprobs; None for no logprobs. Chat says
    logprobs: true and top_logprobs: k; the legacy completions API says logprobs: k."""
    if chat:
        wanted, top = body.get("logprobs"), body.get("top_logprobs")
        if wanted not in (None, True, False):
            raise RequestError(400, "logprobs must be true or false", "logprobs")
        if top is not None and not wanted:
            raise RequestError(400, "top_logprobs needs logprobs: true", "top_logprobs")
        k, param = (top or 0) if wanted else None, "top_logprobs"
    else:
        k, param = body.get("logprobs"), "logprobs"
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or not 0 <= k <= MAX_TOP_LOGPROBS):
        raise RequestError(400, f"{param} must be an integer from 0 to {MAX_TOP_LOGPROBS}", param)
    return k


def _json_mode(body: dict) -> bool:
    form = body.get("response_format")
    if form is None:
        return False
    kind = form.get("type") if isinstance(form, dict) else None
    if kind not in ("text", "json_object"):
        raise RequestError(400, "response_format.type must be 'text' or 'json_object' (json_schema is not "
                                "supported)", "response_format")
    return kind == "json_object"


def parse_request(body: dict, chat: bool, model: LanguageModel, model_name: str,
                  max_positions: int | None = None) -> ParsedRequest:
    """Validate an OpenAI request body; RequestError (4xx) for anything the server cannot honour. max_positions:
    what one request may use (default: the model's context)."""
    requested = body.get("model")
    if requested is not None and requested != model_name:
        raise RequestError(404, f"The model '{requested}' does not exist; this server has '{model_name}'",
                           "model", "model_not_found")
    prompt_ids = (_chat_prompt if chat else _completion_prompt)(body, model.tokenizer)
    params = _sampling_params(body, len(prompt_ids), max_positions or model.max_context)
    options = body.get("stream_options") or {}
    extras = Options(logprobs=_logprobs(body, chat), json_object=_json_mode(body))
    return ParsedRequest(prompt_ids, params, bool(body.get("stream", False)),
                         bool(isinstance(options, dict) and options.get("include_usage")), extras,
                         tools=chat and _tools(body, model.tokenizer) is not None)


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

    def whole(self, text: str, finish_reason: str, usage: dict, logprobs: dict | None = None,
              calls: list[ToolCall] | None = None) -> dict:
        if self.chat:
            message: dict = {"role": "assistant", "content": text}
            if calls:
                message = {"role": "assistant", "content": text or None, "tool_calls": [c.as_openai() for c in calls]}
            choice = {"index": 0, "message": message, "logprobs": logprobs, "finish_reason": finish_reason}
        else:
            choice = {"index": 0, "text": text, "logprobs": logprobs, "finish_reason": finish_reason}
        return {**self._head(False), "choices": [choice], "usage": usage}

    def chunk(self, text: str | None, finish_reason: str | None = None, first: bool = False,
              logprobs: dict | None = None, calls: list[ToolCall] | None = None) -> dict:
        if self.chat:
            delta: dict = {"role": "assistant", "content": ""} if first else ({} if text is None else {"content": text})
            if calls:
                delta["tool_calls"] = [c.as_openai(k) for k, c in enumerate(calls)]
            choice = {"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish_reason}
        else:
            choice = {"index": 0, "text": text or "", "logprobs": logprobs, "finish_reason": finish_reason}
        return {**self._head(True), "choices": [choice]}

    def usage_chunk(self, usage: dict) -> dict:
        return {**self._head(True), "choices": [], "usage": usage}


class _Logprobs:
    """Collects per-token logprobs into OpenAI's shapes: chat's {"content": [...]}, or the legacy completions'
    {"tokens", "token_logprobs", "top_logprobs", "text_offset"}."""

    def __init__(self, chat: bool, tokenizer: Any):
        self.chat, self.tokenizer = chat, tokenizer
        self.entries: list[TokenLogprobs] = []
        self.offset = 0

    def _text(self, token: int) -> str:
        return self.tokenizer.token_bytes(token).decode("utf-8", errors="replace")

    def shape(self, entries: list[TokenLogprobs]) -> dict:
        if self.chat:
            def item(token: int, logprob: float) -> dict:
                raw = self.tokenizer.token_bytes(token)
                return {"token": raw.decode("utf-8", errors="replace"), "logprob": logprob, "bytes": list(raw)}
            return {"content": [{**item(e.token, e.logprob), "top_logprobs": [item(t.token, t.logprob) for t in e.top]}
                                for e in entries]}
        offsets = []
        for e in entries:
            offsets.append(self.offset)
            self.offset += len(self._text(e.token))
        return {"tokens": [self._text(e.token) for e in entries], "token_logprobs": [e.logprob for e in entries],
                "top_logprobs": [{self._text(t.token): t.logprob for t in e.top} for e in entries],
                "text_offset": offsets}


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

    def __init__(self, address: tuple[str, int], model: LanguageModel, model_name: str, verbose: bool = False,
                 parallel: int | None = None, ctx_size: int | None = None, embedder: Any = None):
        super().__init__(address, _Handler)
        self.model, self.model_name, self.verbose, self.embedder = model, model_name, verbose, embedder
        self.stopping = threading.Event()
        self.worker = Batcher(make_decoder(model, parallel or default_parallel(), ctx_size), model.tokenizer,
                              self.stopping)
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
            worker = self.server.worker
            self._send_json(200, {"status": "ok", "model": self.server.model_name, "slots": worker.decoder.slots,
                                  "slots_processing": worker.busy_slots, "requests_queued": len(worker.waiting),
                                  "ctx_size": worker.decoder.n_blocks * worker.decoder.block})
        else:
            raise RequestError(404, f"no such endpoint: GET {self.path}", code="not_found")

    def _post(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        body = self._read_body()
        if path == "/v1/embeddings":
            return self._embeddings(_parse_json(body))
        if path not in ("/v1/chat/completions", "/v1/completions"):
            raise RequestError(404, f"no such endpoint: POST {self.path}", code="not_found")
        chat = path == "/v1/chat/completions"
        worker = self.server.worker
        request = parse_request(_parse_json(body), chat, self.server.model, self.server.model_name, worker.capacity)
        try:
            job = worker.submit(request.prompt_ids, request.params, request.options)
        except ArgumentError as exc:
            raise RequestError(400, str(exc), "max_tokens", "context_length_exceeded") from None
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

    def _embeddings(self, body: dict) -> None:
        embedder = self.server.embedder
        if embedder is None:
            raise RequestError(400, "this server has no embedding model (start it with --embedding-model)", "model",
                               "model_not_found")
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t for t in texts):
            raise RequestError(400, "'input' must be a non-empty string or a list of them", "input")
        if body.get("encoding_format") not in (None, "float"):
            raise RequestError(400, "only encoding_format 'float' is supported", "encoding_format")
        vectors = embedder.embed(texts)
        count = getattr(embedder, "count_tokens", None)
        tokens = sum(count(t) for t in texts) if callable(count) else sum(len(t.split()) for t in texts)
        data = [{"object": "embedding", "index": k, "embedding": [float(x) for x in v]} for k, v in enumerate(vectors)]
        self._send_json(200, {"object": "list", "data": data, "model": body.get("model") or "embedding",
                              "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    # answers ---------------------------------------------------------------------------------------------------
    def _whole(self, job: Job, reply: _Reply, request: ParsedRequest) -> None:
        texts, entries, last = [], [], None
        for event in job.stream(self._client_gone):
            texts.append(event.text)
            if getattr(event, "logprobs", None) is not None:
                entries.append(event.logprobs)
            last = event
        if last is None or not last.finished:
            raise RuntimeError("the generation ended without a final event")
        text, calls = "".join(texts), []
        if request.tools:
            content, calls = parse_tool_calls(text)
            text = content or ""
        logprobs = None if request.options.logprobs is None else \
            _Logprobs(reply.chat, self.server.model.tokenizer).shape(entries)
        reason = "tool_calls" if calls else last.finish_reason.value
        self._send_json(200, reply.whole(text, reason, _usage(last), logprobs, calls))

    def _stream(self, job: Job, reply: _Reply, request: ParsedRequest) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if reply.chat:
            self._send_event(reply.chunk(None, first=True))
        shaper = _Logprobs(reply.chat, self.server.model.tokenizer) if request.options.logprobs is not None else None
        held: list[str] = []  # with tools, the answer is sent whole at the end, its calls parsed
        try:
            for event in job.stream(self._client_gone):
                entry = getattr(event, "logprobs", None)
                logprobs = shaper.shape([entry]) if shaper is not None and entry is not None else None
                if request.tools:
                    held.append(event.text)
                elif event.text or logprobs is not None:
                    self._send_event(reply.chunk(event.text, logprobs=logprobs))
                if event.finished:
                    reason = event.finish_reason.value
                    if request.tools:
                        content, calls = parse_tool_calls("".join(held))
                        if content or calls:
                            self._send_event(reply.chunk(content, calls=calls))
                        reason = "tool_calls" if calls else reason
                    self._send_event(reply.chunk(None, reason))
                    if request.include_usage:
                        self._send_event(reply.usage_chunk(_usage(event)))
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception as exc:  # headers are gone: report the failure as an event, then end the stream
            self._send_event(RequestError(500, f"internal error: {exc}", kind="server_error").body())
        self._send_chunk(b"data: [DONE]\n\n")
        self._send_chunk(b"")

    def _client_gone(self) -> bool:
        """Whether the client closed its connection (readable with nothing to read), so its slot can be freed
        before the next token, not when writing it fails."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

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
                 verbose: bool = False, parallel: int | None = None, ctx_size: int | None = None,
                 embedder: Any = None) -> tuple[OpenAIServer, threading.Thread]:
    """Serve in a background thread (port 0 picks a free one: see server.server_address). Stop with close().
    parallel: slots decoded together (default_parallel()); ctx_size: positions of the KV-cache pool shared by the
    slots (default: the model's context, at least 512 per slot); embedder: an object with .embed(list[str]) for
    /v1/embeddings."""
    server = OpenAIServer((host, port), model, model_name, verbose, parallel, ctx_size, embedder)
    thread = threading.Thread(target=server.serve_forever, name="baregrad-http", daemon=True)
    thread.start()
    return server, thread


class StopServing(Exception):
    """Raised in the main thread by the SIGTERM handler to leave serve_forever()."""


def _raise_stop(signum: int, frame: Any) -> None:
    signal.signal(signum, signal.SIG_IGN)  # a second SIGTERM while draining changes nothing
    raise StopServing(signal.Signals(signum).name)


def serve(model: LanguageModel, host: str = "127.0.0.1", port: int = 8000, model_name: str = "baregrad",
          verbose: bool = True, parallel: int | None = None, ctx_size: int | None = None, embedder: Any = None) -> None:
    """Serve until SIGTERM or Ctrl-C, then stop gracefully (see the module docstring) and return."""
    server = OpenAIServer((host, port), model, model_name, verbose, parallel, ctx_size, embedder)
    bound_host, bound_port = server.server_address[:2]
    decoder = server.worker.decoder
    capacity = f"{decoder.slots} slot(s), KV-cache pool of {decoder.n_blocks * decoder.block} positions"
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_stop) if on_main_thread else None
    try:
        # the first line a launcher reads: it names the address (scripts and tests parse it)
        print(f"serving {model_name} at http://{bound_host}:{bound_port}/v1 (OpenAI API, {capacity}); Ctrl-C stops",
              flush=True)
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
