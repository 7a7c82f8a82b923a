"""Text generation: the loop that feeds a language model, samples, streams text and stops.

A model is anything that follows `LanguageModel` (below); baregrad's llama is one, the tests use a tiny fake.
`generate(model, prompt_ids, params)` yields a GenerationEvent per sampled token, carrying the new token id and
the text it completes, then a last event with finished=True, the finish reason and timing stats.

  * Text is decoded from token bytes with an incremental UTF-8 decoder, so a character split over several byte
    tokens is emitted once whole, never as halves or replacement characters.
  * Stop strings are held back while the text could still be turning into one, and never emitted.
  * The KV cache is reused: each model remembers which tokens its cache holds, and a prompt that extends them
    (the next turn of a chat) only feeds the new tokens.
  * Greedy decoding (temperature 0, no repetition penalty) calls the model's optional `greedy(token_ids, start_pos)`
    where it has one: the argmax is taken on the device, and no vocabulary-sized list of logits is built per token.
"""

from __future__ import annotations

import codecs
import enum
import time
import weakref
from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol, Sequence, runtime_checkable

from baregrad.errors import ArgumentError
from baregrad.models.sampling import Sampler, SamplingParams
from baregrad.profile.progress import working


@runtime_checkable
class Tokenizer(Protocol):
    """What generation and the server need from a tokenizer (BPETokenizer follows it)."""

    eos_ids: frozenset[int]  # ids that end a generation (end of text, end of turn)

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def token_bytes(self, token_id: int) -> bytes: ...

    def apply_chat_template(self, messages: Sequence[dict], add_generation_prompt: bool = True) -> str: ...


@runtime_checkable
class LanguageModel(Protocol):
    """The contract between a causal language model and generate().

    tokenizer:   a Tokenizer for this model.
    max_context: the number of positions the KV cache holds; prompt plus output never exceeds it.
    reset():     forget the whole KV cache.
    forward(token_ids, start_pos): write the KV entries of `token_ids` at positions start_pos,
                 start_pos+1, ... and return the logits (a list of vocab_size floats) of the LAST of them.
                 Prefill passes the whole (new part of the) prompt, decoding passes one token. Attention must only
                 see positions < start_pos + len(token_ids): entries left beyond that by an earlier, longer
                 sequence are stale and get overwritten, which is what lets generate() rewind the cache to a
                 shared prefix instead of recomputing it. start_pos is never past the end of what was written.
    greedy(token_ids, start_pos) (optional, not part of the checked protocol): as forward(), but return the
                 argmax of those logits (the first on ties); used for greedy decoding when present.
    """

    tokenizer: Tokenizer
    max_context: int

    def reset(self) -> None: ...

    def forward(self, token_ids: list[int], start_pos: int) -> list[float]: ...


class FinishReason(str, enum.Enum):
    """Why a generation ended, with OpenAI's names."""

    STOP = "stop"  # end-of-sequence token or stop string
    LENGTH = "length"  # max_tokens or the context is full


@dataclass
class GenerationStats:
    """Token counts and times of one generate() call; reused_tokens were already in the KV cache."""

    prompt_tokens: int = 0
    reused_tokens: int = 0
    generated_tokens: int = 0
    prompt_seconds: float = 0.0
    generation_seconds: float = 0.0

    @property
    def prompt_tokens_per_second(self) -> float:
        """Prefill speed over the tokens actually computed."""
        computed = self.prompt_tokens - self.reused_tokens
        return computed / self.prompt_seconds if self.prompt_seconds > 0 else 0.0

    @property
    def generation_tokens_per_second(self) -> float:
        return self.generated_tokens / self.generation_seconds if self.generation_seconds > 0 else 0.0


@dataclass
class GenerationEvent:
    """One step of a stream. `text` may be empty (half a character, or text held back for a stop string)."""

    token_id: int | None
    text: str
    finished: bool = False
    finish_reason: FinishReason | None = None
    stats: GenerationStats = field(default_factory=GenerationStats)


@dataclass
class _CacheState:
    """The token ids whose KV entries the model's cache holds, in order."""

    tokens: list[int] = field(default_factory=list)


# per model, what its KV cache holds; weak so that a dropped model is not kept alive
_CACHES: "weakref.WeakKeyDictionary[object, _CacheState]" = weakref.WeakKeyDictionary()


def _cache_of(model: LanguageModel) -> _CacheState:
    try:
        return _CACHES.setdefault(model, _CacheState())
    except TypeError:  # not weak-referenceable: no reuse, a fresh state each call
        return _CacheState()


def forget_cache(model: LanguageModel) -> None:
    """Reset the model's KV cache and what generate() remembers of it."""
    model.reset()
    _cache_of(model).tokens = []


# what feeding tokens gives: the last logits, or (from a model's greedy()) already the argmax token id
Fed = list[float] | int
Feed = Callable[[list[int], int], Fed]


def _feeder(model: LanguageModel, params: SamplingParams) -> Feed:
    """model.greedy where it picks the very token sampling forward()'s logits would (greedy, no penalty),
    else model.forward."""
    greedy = getattr(model, "greedy", None)
    if params.temperature == 0.0 and params.repetition_penalty == 1.0 and callable(greedy):
        return greedy
    return model.forward


def _prefill(model: LanguageModel, prompt_ids: list[int], cache: _CacheState, feed: Feed) -> tuple[Fed, int]:
    """Feed the part of the prompt not already cached; return what feeding gave and how many tokens were reused."""
    shared = 0
    for cached, new in zip(cache.tokens, prompt_ids):
        if cached != new:
            break
        shared += 1
    shared = min(shared, len(prompt_ids) - 1)  # the last prompt token is always fed: we need its logits
    if shared == 0:
        model.reset()
    cache.tokens = []  # unknown until the model returns
    with working(f"processing prompt ({len(prompt_ids) - shared} tokens)"):
        fed = feed(prompt_ids[shared:], shared)
    cache.tokens = list(prompt_ids)
    return fed, shared


class StopMatcher:
    """Holds back text that may be the start of a stop string; finds stop strings in the text."""

    def __init__(self, stops: Sequence[str]):
        self.stops = [s for s in stops if s]
        self.pending = ""

    def push(self, text: str) -> tuple[str, bool]:
        """Add text; return (text safe to emit, whether a stop string was found)."""
        self.pending += text
        hits = [i for i in (self.pending.find(s) for s in self.stops) if i >= 0]
        if hits:
            out, self.pending = self.pending[:min(hits)], ""
            return out, True
        keep = self._held_length()
        out = self.pending[:len(self.pending) - keep]
        self.pending = self.pending[len(self.pending) - keep:]
        return out, False

    def _held_length(self) -> int:
        """Length of the longest tail of pending that is a proper prefix of some stop string."""
        best = 0
        for stop in self.stops:
            for k in range(min(len(stop) - 1, len(self.pending)), best, -1):
                if self.pending.endswith(stop[:k]):
                    best = k
                    break
        return best

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return out


def generate(model: LanguageModel, prompt_ids: Sequence[int], params: SamplingParams | None = None,
             should_stop: Callable[[], bool] | None = None) -> Iterator[GenerationEvent]:
    """Stream the model's continuation of `prompt_ids` (see the module docstring).

    Arguments are checked here, before the first event (ArgumentError). should_stop: optional callable checked
    between tokens; returning True ends the stream early (the server uses it when a client has gone).
    """
    params = (params or SamplingParams()).validate()
    prompt_ids = list(prompt_ids)
    _check_prompt(model, prompt_ids)
    return _stream(model, prompt_ids, params, should_stop)


def _stream(model: LanguageModel, prompt_ids: list[int], params: SamplingParams,
            should_stop: Callable[[], bool] | None) -> Iterator[GenerationEvent]:
    sampler, tokenizer, feed = Sampler(params), model.tokenizer, _feeder(model, params)
    stats = GenerationStats(prompt_tokens=len(prompt_ids))
    cache = _cache_of(model)

    start = time.perf_counter()
    fed, stats.reused_tokens = _prefill(model, prompt_ids, cache, feed)
    stats.prompt_seconds = time.perf_counter() - start

    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    stops = StopMatcher(params.stop)
    history, reason, start = list(prompt_ids), FinishReason.LENGTH, time.perf_counter()
    hit = False
    while True:
        token = fed if isinstance(fed, int) else \
            sampler.sample(fed, history if params.repetition_penalty != 1.0 else ())
        if token in tokenizer.eos_ids:
            reason = FinishReason.STOP
            break
        stats.generated_tokens += 1
        history.append(token)
        text, hit = stops.push(decoder.decode(tokenizer.token_bytes(token)))
        stats.generation_seconds = time.perf_counter() - start
        yield GenerationEvent(token, text, stats=stats)
        if hit:
            reason = FinishReason.STOP
            break
        if stats.generated_tokens >= params.max_tokens or len(history) >= model.max_context:
            break
        if should_stop is not None and should_stop():
            break
        fed = _decode_step(cache, token, feed)
    stats.generation_seconds = time.perf_counter() - start
    yield GenerationEvent(None, _tail(decoder, stops, hit), finished=True, finish_reason=reason, stats=stats)


def _tail(decoder: codecs.IncrementalDecoder, stops: StopMatcher, hit_stop: bool) -> str:
    """Text still held when the stream ends: none after a stop string, else the decoder's and matcher's rest."""
    if hit_stop:
        return ""
    text, hit = stops.push(decoder.decode(b"", final=True))
    return text if hit else text + stops.flush()


def _decode_step(cache: _CacheState, token: int, feed: Feed) -> Fed:
    """Feed one sampled token at the end of the cache."""
    tokens, cache.tokens = cache.tokens, []  # unknown until the model returns
    fed = feed([token], len(tokens))
    tokens.append(token)
    cache.tokens = tokens
    return fed


def _check_prompt(model: LanguageModel, prompt_ids: list[int]) -> None:
    if not prompt_ids:
        raise ArgumentError("the prompt must hold at least one token")
    if len(prompt_ids) >= model.max_context:
        raise ArgumentError(f"the prompt has {len(prompt_ids)} tokens: the model's context holds "
                            f"{model.max_context}, and at least one must remain for the answer")


@dataclass
class Completion:
    """A whole generation: what complete() returns."""

    text: str
    token_ids: list[int]
    finish_reason: FinishReason
    stats: GenerationStats


def complete(model: LanguageModel, prompt_ids: Sequence[int], params: SamplingParams | None = None) -> Completion:
    """Run generate() to the end and collect its text."""
    texts, ids = [], []
    for event in generate(model, prompt_ids, params):
        texts.append(event.text)
        if event.token_id is not None:
            ids.append(event.token_id)
        if event.finished:
            return Completion("".join(texts), ids, event.finish_reason, event.stats)
    raise AssertionError("generate() ended without a finished event")  # unreachable: the stream always finishes
