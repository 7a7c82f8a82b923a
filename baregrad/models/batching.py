"""Continuous batching: N generations share one model, decoded together one batched step at a time.

A Batcher owns a decoder (BatchDecoder: llama's batched steps over a pooled KV cache, or SequenceDecoder: any
LanguageModel, one sequence at a time) and a worker thread. Requests wait in a FIFO queue; between two steps the
worker admits the head of the queue when a slot is free and the pool has blocks for its prompt plus max_tokens
(else it waits: queued, never refused), feeds every active sequence (one token each; a new prompt in chunks of at
most PREFILL_CHUNK tokens) as one step, then samples each sequence's next token with its own parameters and streams
it. A finished, cancelled (client gone) or stopped generation frees its slot and blocks before the next step.

Each generation follows generate()'s rules (UTF-8 held until whole, stop strings held back and never emitted,
end-of-sequence tokens, max_tokens) and adds: per-token logprobs with the top alternatives, and JSON-constrained
sampling (json_grammar) for response_format json_object.
"""
from __future__ import annotations

import codecs
import heapq
import math
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol

from baregrad.errors import ArgumentError
from baregrad.models.generate import FinishReason, GenerationEvent, GenerationStats, LanguageModel, StopMatcher
from baregrad.models.json_grammar import JsonConstraint, TokenTexts
from baregrad.models.sampling import Sampler, SamplingParams, apply_repetition_penalty, argmax

POLL_SECONDS = 0.05  # how often a waiting stream checks that its client is still there
PREFILL_CHUNK = 128  # prompt tokens fed per step: a long prompt does not stall the others' decoding for long


@dataclass
class BatchFeed:
    """One sequence's tokens in a batched step, fed at positions start, start + 1, ...; `blocks` are its KV blocks
    in the pool (position p lives in blocks[p // block]); want: whether its last token's outputs are needed."""
    blocks: list[int]
    start: int
    tokens: list[int]
    want: bool = True


@dataclass
class BatchResult:
    """Per wanted feed (in order): the argmax of its last logits, and its logits read on demand."""
    argmax: list[int]
    logits: Callable[[int], list[float]]


class Decoder(Protocol):
    """What the Batcher drives: `slots` sequences at most per step, a pool of n_blocks blocks of `block` positions,
    at most max_positions positions per sequence."""
    slots: int
    block: int
    n_blocks: int

    @property
    def max_positions(self) -> int: ...

    def step(self, feeds: list[BatchFeed]) -> BatchResult: ...


class SequenceDecoder:
    """Any LanguageModel as a one-slot decoder on its own KV cache (for models without batched steps)."""

    block = 16

    def __init__(self, model: LanguageModel):
        self.model, self.slots = model, 1
        self.n_blocks = -(-model.max_context // self.block)

    @property
    def max_positions(self) -> int:
        return self.model.max_context

    def step(self, feeds: list[BatchFeed]) -> BatchResult:
        if len(feeds) != 1:
            raise ArgumentError(f"a one-slot decoder feeds one sequence per step, got {len(feeds)}")
        (feed,) = feeds
        if feed.start == 0:
            self.model.reset()
        logits = self.model.forward(feed.tokens, feed.start)
        return BatchResult([argmax(logits)], lambda k: logits)


@dataclass
class TopLogprob:
    token: int
    logprob: float


@dataclass
class TokenLogprobs:
    """The chosen token's log-probability under the model (before temperature and penalties) and the best ones."""
    token: int
    logprob: float
    top: list[TopLogprob]


@dataclass
class BatchedEvent(GenerationEvent):
    """A GenerationEvent with the token's logprobs when the request asked for them."""
    logprobs: TokenLogprobs | None = None


@dataclass
class Options:
    """Per-request extras beyond SamplingParams."""
    logprobs: int | None = None  # None: none; k: the chosen token's logprob and the k best
    json_object: bool = False


@dataclass
class Job:
    """One queued generation; `events` carries events, then None (or an exception the worker met)."""
    prompt_ids: list[int]
    params: SamplingParams
    options: Options = field(default_factory=Options)
    events: "queue.Queue[GenerationEvent | BaseException | None]" = field(default_factory=queue.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def stream(self, gone: Callable[[], bool] | None = None) -> Iterator[GenerationEvent]:
        """The job's events as they come; re-raises an error the worker met. gone: checked every POLL_SECONDS
        while waiting; when it says the client has left, the job is cancelled and ConnectionResetError raised."""
        while True:
            try:
                item = self.events.get(timeout=POLL_SECONDS if gone is not None else None)
            except queue.Empty:
                if gone is not None and gone():
                    self.cancelled.set()
                    raise ConnectionResetError("the client closed the connection") from None
                continue
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


@dataclass
class Slot:
    """An admitted job's generation state."""
    job: Job
    blocks: list[int]
    sampler: Sampler
    stops: StopMatcher
    json: JsonConstraint | None
    fed: int = 0                    # positions written into the KV cache
    history: list[int] = field(default_factory=list)
    decoder: codecs.IncrementalDecoder = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace"))
    stats: GenerationStats = field(default_factory=GenerationStats)
    started: float = field(default_factory=time.perf_counter)
    first_token: float = 0.0
    next_token: int | None = None   # sampled, not yet fed

    @property
    def prefilling(self) -> bool:
        return self.fed < len(self.job.prompt_ids)


class Batcher:
    """The worker thread that runs a Decoder over every admitted job (see the module docstring)."""

    def __init__(self, decoder: Decoder, tokenizer: object, stopping: threading.Event | None = None):
        self.decoder, self.tokenizer = decoder, tokenizer
        self.stopping = stopping or threading.Event()
        self.eos_ids: frozenset[int] = frozenset(getattr(tokenizer, "eos_ids", frozenset()))
        self.waiting: deque[Job] = deque()
        self.active: list[Slot] = []
        self.free_blocks = list(range(decoder.n_blocks))
        self.changed = threading.Condition()
        self.closing = False
        self._texts: TokenTexts | None = None
        # what happened, for /health, tests and benchmarks: sequences fed per step, the longest queue, cancellations
        self.batch_sizes: list[int] = []
        self.max_waiting = 0
        self.cancelled = 0
        self.thread = threading.Thread(target=self._run, name="baregrad-batcher", daemon=True)
        self.thread.start()

    @property
    def capacity(self) -> int:
        """Positions (prompt plus output) a single request may take."""
        return min(self.decoder.max_positions, self.decoder.n_blocks * self.decoder.block)

    def submit(self, prompt_ids: list[int], params: SamplingParams, options: Options | None = None) -> Job:
        """Queue a generation; ArgumentError when it could never fit, even alone."""
        params = params.validate()
        need = len(prompt_ids) + params.max_tokens
        if not prompt_ids or need > self.capacity:
            raise ArgumentError(f"the prompt's {len(prompt_ids)} tokens plus max_tokens={params.max_tokens} exceed "
                                f"the {self.capacity} positions a request may use")
        job = Job(list(prompt_ids), params, options or Options())
        with self.changed:
            self.waiting.append(job)
            self.max_waiting = max(self.max_waiting, len(self.waiting))
            self.changed.notify_all()
        return job

    def stop(self) -> None:
        with self.changed:
            self.closing = True
            self.changed.notify_all()
        self.thread.join(timeout=10)

    @property
    def busy_slots(self) -> int:
        return len(self.active)

    # ---- the worker ------------------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self.changed:
                while not self.closing and not self.active and not self.waiting:
                    self.changed.wait()
                if self.closing:
                    break
            self._retire(lambda s: s.job.cancelled.is_set() or self.stopping.is_set(), FinishReason.STOP)
            self._admit()
            if self.active:
                try:
                    self._step()
                except BaseException as exc:  # handed to every client; the server answers 500 and goes on
                    for slot in self.active:
                        slot.job.events.put(exc)
                    self._retire(lambda s: True, None)
        for slot in self.active:
            slot.job.events.put(None)
        for job in self.waiting:
            job.events.put(None)

    def _admit(self) -> None:
        with self.changed:
            while self.waiting and len(self.active) < self.decoder.slots:
                job = self.waiting[0]
                if job.cancelled.is_set() or self.stopping.is_set():
                    self.waiting.popleft().events.put(None)
                    continue
                need = -(-(len(job.prompt_ids) + job.params.max_tokens) // self.decoder.block)
                if need > len(self.free_blocks):
                    break  # first come, first served: later jobs wait too
                self.waiting.popleft()
                blocks, self.free_blocks = self.free_blocks[:need], self.free_blocks[need:]
                self.active.append(self._slot(job, blocks))

    def _slot(self, job: Job, blocks: list[int]) -> Slot:
        json = JsonConstraint(self._token_texts()) if job.options.json_object else None
        slot = Slot(job, blocks, Sampler(job.params), StopMatcher(job.params.stop), json,
                    history=list(job.prompt_ids))
        slot.stats.prompt_tokens = len(job.prompt_ids)
        return slot

    def _token_texts(self) -> TokenTexts:
        if self._texts is None:
            size = getattr(self.tokenizer, "vocab_size", None) or 0
            self._texts = TokenTexts(self.tokenizer, int(size), self.eos_ids)
        return self._texts

    def _retire(self, done: Callable[[Slot], bool], reason: FinishReason | None) -> None:
        """End the slots `done` picks (a final event with `reason` unless None) and free their blocks."""
        keep = []
        for slot in self.active:
            if not done(slot):
                keep.append(slot)
                continue
            self.cancelled += slot.job.cancelled.is_set()
            if reason is not None:
                self._finish(slot, reason, "")
            slot.job.events.put(None)
            with self.changed:
                self.free_blocks.extend(slot.blocks)
        self.active = keep

    def _step(self) -> None:
        # a step holds at most PREFILL_CHUNK rows: every decoding sequence's token, then prompt chunks in the rest
        feeds, owners = [], []
        budget = PREFILL_CHUNK - sum(not slot.prefilling for slot in self.active)
        for slot in self.active:
            if slot.prefilling:
                if budget <= 0:
                    continue
                prompt = slot.job.prompt_ids
                chunk = prompt[slot.fed:slot.fed + budget]
                budget -= len(chunk)
                feeds.append(BatchFeed(slot.blocks, slot.fed, chunk, slot.fed + len(chunk) == len(prompt)))
            else:
                assert slot.next_token is not None
                feeds.append(BatchFeed(slot.blocks, slot.fed, [slot.next_token]))
            owners.append(slot)
        result = self.decoder.step(feeds)
        self.batch_sizes.append(len(feeds))
        wanted = 0
        finished: set[int] = set()
        for feed, slot in zip(feeds, owners):
            slot.fed += len(feed.tokens)
            if not feed.want:
                continue
            if slot.first_token == 0.0:
                slot.first_token = time.perf_counter()
                slot.stats.prompt_seconds = slot.first_token - slot.started
            if self._advance(slot, result, wanted):
                finished.add(id(slot))
            wanted += 1
        self._retire(lambda s: id(s) in finished, None)

    def _advance(self, slot: Slot, result: BatchResult, k: int) -> bool:
        """Choose the slot's next token from its outputs and stream it; True when its generation has ended."""
        token, logprobs = self._choose(slot, result, k)
        params = slot.job.params
        if token in self.eos_ids:
            self._finish(slot, FinishReason.STOP, self._tail(slot, False))
            return True
        slot.stats.generated_tokens += 1
        slot.history.append(token)
        if slot.json is not None:
            slot.json.accept(token)
        text, hit = slot.stops.push(slot.decoder.decode(self.tokenizer.token_bytes(token)))  # type: ignore[attr-defined]
        slot.stats.generation_seconds = time.perf_counter() - slot.first_token
        slot.job.events.put(BatchedEvent(token, text, stats=slot.stats, logprobs=logprobs))
        if hit:
            self._finish(slot, FinishReason.STOP, "")
            return True
        if slot.stats.generated_tokens >= params.max_tokens or len(slot.history) >= self.capacity:
            self._finish(slot, FinishReason.LENGTH, self._tail(slot, False))
            return True
        slot.next_token = token
        return False

    def _choose(self, slot: Slot, result: BatchResult, k: int) -> tuple[int, TokenLogprobs | None]:
        params, options = slot.job.params, slot.job.options
        plain = params.temperature == 0.0 and params.repetition_penalty == 1.0
        if plain and slot.json is None and options.logprobs is None:
            return result.argmax[k], None  # greedy: the device's argmax, no logits read
        logits = result.logits(k)
        scored = logits
        if params.repetition_penalty != 1.0:
            scored = apply_repetition_penalty(logits, slot.history, params.repetition_penalty)
        if slot.json is not None:
            left = params.max_tokens - slot.stats.generated_tokens
            token = slot.json.choose(scored, params.temperature, slot.sampler.rng, left)
        elif plain:
            token = result.argmax[k]
        else:
            token = slot.sampler.sample(scored)
        return token, None if options.logprobs is None else token_logprobs(logits, token, options.logprobs)

    def _finish(self, slot: Slot, reason: FinishReason, text: str) -> None:
        slot.stats.generation_seconds = time.perf_counter() - (slot.first_token or slot.started)
        slot.job.events.put(GenerationEvent(None, text, finished=True, finish_reason=reason, stats=slot.stats))

    @staticmethod
    def _tail(slot: Slot, hit_stop: bool) -> str:
        if hit_stop:
            return ""
        text, hit = slot.stops.push(slot.decoder.decode(b"", final=True))
        return text if hit else text + slot.stops.flush()


def token_logprobs(logits: list[float], token: int, top: int) -> TokenLogprobs:
    """log softmax of the logits at `token`, and the `top` best tokens with theirs."""
    best = max(logits)
    log_total = best + math.log(math.fsum(math.exp(x - best) for x in logits))
    ranked = heapq.nlargest(top, range(len(logits)), key=logits.__getitem__) if top else []
    return TokenLogprobs(token, logits[token] - log_total, [TopLogprob(i, logits[i] - log_total) for i in ranked])
