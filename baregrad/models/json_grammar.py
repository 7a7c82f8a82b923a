"""Grammar-constrained sampling of JSON: the output of `response_format: {"type": "json_object"}` always parses.

A character-level pushdown automaton follows the text generated so far (JsonState: the stack of open objects and
arrays, a mode, and the mode's detail). A token is allowed when every character of its text is a valid
continuation; tokens are tried best logit first, so greedy decoding picks the best allowed token and sampling
draws among the allowed tokens of the best few. The top-level value is an object (what json_object promises).
A token is also refused when what it leaves open could no longer be closed in the tokens left (max_tokens), one
character per token, so even an answer cut by max_tokens is valid JSON; once the object is closed only an
end-of-sequence token is allowed.
"""
from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass
from typing import Any, Sequence

MAX_DEPTH = 16
_WHITESPACE = " \t\n\r"
_HEX = "0123456789abcdefABCDEF"
_CLOSE = {"{": "}", "[": "]"}
# number sub-modes: the transitions on a character class (digit 1-9, zero, dot, exponent mark, sign)
_NUMBER = {"-": {"zero": "0", "digit": "int"}, "0": {"dot": ".", "mark": "e"},
           "int": {"zero": "int", "digit": "int", "dot": ".", "mark": "e"}, ".": {"zero": "frac", "digit": "frac"},
           "frac": {"zero": "frac", "digit": "frac", "mark": "e"},
           "e": {"sign": "esign", "zero": "exp", "digit": "exp"}, "esign": {"zero": "exp", "digit": "exp"},
           "exp": {"zero": "exp", "digit": "exp"}}
_NUMBER_ENDS = ("0", "int", "frac", "exp")


@dataclass(frozen=True)
class JsonState:
    """Where the text stands: open brackets, what may come next (mode) and its detail (string kind, digits left of
    a \\u escape, number sub-mode or the rest of a literal)."""
    stack: str = ""
    mode: str = "start"
    detail: str = ""

    @property
    def done(self) -> bool:
        return self.mode == "done"


def _char_class(ch: str) -> str:
    if ch == "0":
        return "zero"
    if ch in "123456789":
        return "digit"
    return {".": "dot", "e": "mark", "E": "mark", "+": "sign", "-": "sign"}.get(ch, "other")


def _value_done(stack: str) -> JsonState:
    return JsonState(stack, "after") if stack else JsonState("", "done")


def _begin_value(stack: str, ch: str) -> JsonState | None:
    if ch in "{[":
        if len(stack) >= MAX_DEPTH:
            return None
        return JsonState(stack + ch, "key_or_close" if ch == "{" else "value_or_close")
    if ch == '"':
        return JsonState(stack, "string", "v")
    if ch == "-" or ch.isdigit() and ch.isascii():
        return JsonState(stack, "number", "-" if ch == "-" else "0" if ch == "0" else "int")
    literal = {"t": "rue", "f": "alse", "n": "ull"}.get(ch)
    return None if literal is None else JsonState(stack, "literal", literal)


def step(state: JsonState, ch: str) -> JsonState | None:
    """The state after one more character, or None when the character cannot continue valid JSON."""
    stack, mode, detail = state.stack, state.mode, state.detail
    if mode == "string":
        if ch == '"':
            return JsonState(stack, "colon") if detail == "k" else _value_done(stack)
        if ch == "\\":
            return JsonState(stack, "escape", detail)
        return None if ord(ch) < 0x20 else state
    if mode == "escape":
        if ch == "u":
            return JsonState(stack, "unicode", detail + "4")
        return JsonState(stack, "string", detail) if ch in '"\\/bfnrt' else None
    if mode == "unicode":
        if ch not in _HEX:
            return None
        left = int(detail[1]) - 1
        return JsonState(stack, "string", detail[0]) if left == 0 else JsonState(stack, "unicode", f"{detail[0]}{left}")
    if mode == "number":
        after = _NUMBER[detail].get(_char_class(ch))
        if after is not None:
            return JsonState(stack, "number", after)
        return step(_value_done(stack), ch) if detail in _NUMBER_ENDS else None
    if mode == "literal":
        if ch != detail[0]:
            return None
        return _value_done(stack) if len(detail) == 1 else JsonState(stack, "literal", detail[1:])
    if ch in _WHITESPACE:
        return state if mode != "start" else None  # no leading whitespace: it only spends tokens
    if mode == "start":
        return JsonState("{", "key_or_close") if ch == "{" else None
    if mode in ("value", "value_or_close"):
        if mode == "value_or_close" and ch == "]":
            return _value_done(stack[:-1])
        return _begin_value(stack, ch)
    if mode in ("key", "key_or_close"):
        if ch == '"':
            return JsonState(stack, "string", "k")
        return _value_done(stack[:-1]) if mode == "key_or_close" and ch == "}" else None
    if mode == "colon":
        return JsonState(stack, "value") if ch == ":" else None
    if mode == "after":
        if ch == ",":
            return JsonState(stack, "key" if stack[-1] == "{" else "value")
        return _value_done(stack[:-1]) if ch == _CLOSE[stack[-1]] else None
    return None  # done: only whitespace (above)


def advance(state: JsonState, text: str) -> JsonState | None:
    """The state after `text`, or None when some character of it is not allowed."""
    for ch in text:
        state = step(state, ch)
        if state is None:
            return None
    return state


def _closing_char(state: JsonState) -> str:
    """A character that moves toward the end of the shortest completion."""
    mode, detail = state.mode, state.detail
    if mode == "number":
        return _CLOSE[state.stack[-1]] if detail in _NUMBER_ENDS and state.stack else "0"
    fixed = {"string": '"', "escape": "n", "unicode": "0", "start": "{", "value": "0", "value_or_close": "]",
             "key_or_close": "}", "key": '"', "colon": ":"}
    if mode in fixed:
        return fixed[mode]
    if mode == "literal":
        return detail[0]
    return _CLOSE[state.stack[-1]]  # after


def closing(state: JsonState) -> str:
    """The shortest text that makes the JSON complete."""
    out = []
    while not state.done:
        ch = _closing_char(state)
        out.append(ch)
        next_state = step(state, ch)
        assert next_state is not None, (state, ch)
        state = next_state
    return "".join(out)


class TokenTexts:
    """Every token's text (None for special tokens and bytes that are not whole UTF-8), and a one-character
    token for each character that has one; built once per tokenizer."""

    def __init__(self, tokenizer: Any, vocab_size: int, eos_ids: frozenset[int]):
        token_bytes = tokenizer.token_bytes
        special = set(getattr(tokenizer, "special_ids", ()) or ()) | set(eos_ids)
        self.texts: list[str | None] = []
        for i in range(vocab_size):
            try:
                text = None if i in special else token_bytes(i).decode("utf-8")
            except (UnicodeDecodeError, KeyError, IndexError, ValueError):
                text = None
            self.texts.append(text or None)
        self.single: dict[str, int] = {}
        for i, text in enumerate(self.texts):
            if text is not None and len(text) == 1:
                self.single.setdefault(text, i)
        self.eos = min(eos_ids) if eos_ids else None


class JsonConstraint:
    """The JSON state of one generation, and the choice of its next token."""

    CANDIDATES = 64  # best tokens searched first; all of them, in order, only when none of these is allowed

    def __init__(self, texts: TokenTexts):
        self.texts = texts
        self.state = JsonState()

    def choose(self, logits: Sequence[float], temperature: float, rng: random.Random, tokens_left: int) -> int:
        """The next token: the best allowed one (temperature 0), else drawn among the allowed ones of the best
        few. Allowed: it continues valid JSON and what it leaves open can still be closed in the tokens left after
        it, one character per token; when nothing is, the next character of the shortest completion."""
        if self.state.done:
            if self.texts.eos is None:
                raise ValueError("json_object needs a tokenizer with an end-of-sequence token")
            return self.texts.eos
        best = heapq.nlargest(self.CANDIDATES, range(len(logits)), key=logits.__getitem__)
        allowed = [i for i in best if self._allowed(i, tokens_left)]
        if not allowed:
            ranked = sorted(range(len(logits)), key=logits.__getitem__, reverse=True)
            found = next((i for i in ranked if self._allowed(i, tokens_left)), None)
            finish = closing(self.state)
            allowed = [found if found is not None else self.texts.single.get(finish[0], best[0])]
        if temperature == 0.0 or len(allowed) == 1:
            return allowed[0]
        top = logits[allowed[0]]
        weights = [math.exp((logits[i] - top) / temperature) for i in allowed]
        return rng.choices(allowed, weights=weights)[0]

    def _allowed(self, token: int, tokens_left: int) -> bool:
        text = self.texts.texts[token] if token < len(self.texts.texts) else None
        after = None if text is None else advance(self.state, text)
        return after is not None and (after.done or len(closing(after)) < tokens_left)

    def accept(self, token: int) -> None:
        """Move past the chosen token (end-of-sequence and unknown tokens change nothing)."""
        text = self.texts.texts[token] if token < len(self.texts.texts) else None
        if text is not None:
            self.state = advance(self.state, text) or self.state
