"""SentencePiece-style BPE from GGUF metadata (tokenizer.ggml.model = "llama"): Llama 2, Mistral, Phi-3, Gemma.

The vocabulary has a score per token and no merge list. Encoding follows llama.cpp's SPM tokenizer:
  * special tokens (CONTROL / USER_DEFINED types) written in the text are matched first, as whole tokens;
  * each run of plain text gets a leading space when tokenizer.ggml.add_space_prefix says so (default true; at the
    start and after a special token), and its spaces become U+2581 ("▁");
  * the text starts as one symbol per character; repeatedly, of the adjacent pairs whose concatenation is a token,
    the one with the highest score (leftmost on ties) is merged;
  * a final symbol that is not a token becomes its UTF-8 bytes' <0xXX> tokens (byte fallback), else unknown.
Decoding maps "▁" back to a space and byte tokens to their byte.
"""
from __future__ import annotations

import heapq
import re
from collections.abc import Sequence
from dataclasses import dataclass

from baregrad.errors import ArgumentError, FormatError
from baregrad.models.chat_template import render_chat
from baregrad.models.tokenizer import TokenType, VocabIds

SPACE = "\u2581"
_BYTE_TOKEN = re.compile(r"<0x([0-9A-Fa-f]{2})>")


@dataclass(frozen=True)
class SPMVocab:
    tokens: list[str]
    scores: list[float]
    token_types: list[int]
    bos_id: int | None
    eos_id: int | None
    unk_id: int | None
    add_bos: bool
    add_space_prefix: bool
    chat_template: str | None

    @classmethod
    def from_gguf_metadata(cls, meta: dict) -> SPMVocab:
        tokens = meta.get("tokenizer.ggml.tokens")
        if not isinstance(tokens, (list, tuple)) or not tokens or not all(isinstance(t, (str, bytes)) for t in tokens):
            raise FormatError("GGUF metadata lacks tokenizer.ggml.tokens (an array of strings)")
        # the reader keeps a string that is not valid UTF-8 as bytes
        tokens = [t.decode("utf-8", errors="replace") if isinstance(t, bytes) else t for t in tokens]
        n = len(tokens)
        scores = meta.get("tokenizer.ggml.scores", [0.0] * n)
        types = meta.get("tokenizer.ggml.token_type", [TokenType.NORMAL] * n)
        for key, values in (("scores", scores), ("token_type", types)):
            if not isinstance(values, (list, tuple)) or len(values) != n:
                raise FormatError(f"tokenizer.ggml.{key} must be an array of {n} entries (one per token)")

        def token_id(key: str) -> int | None:
            value = meta.get(key)
            if value is None:
                return None
            if not isinstance(value, int) or not 0 <= value < n:
                raise FormatError(f"{key}={str(value)[:50]} is not a token id inside the vocabulary of {n}")
            return value
        template = meta.get("tokenizer.chat_template")
        return cls(list(tokens), [float(s) for s in scores], [int(t) for t in types],
                   token_id("tokenizer.ggml.bos_token_id"), token_id("tokenizer.ggml.eos_token_id"),
                   token_id("tokenizer.ggml.unknown_token_id"), bool(meta.get("tokenizer.ggml.add_bos_token", True)),
                   bool(meta.get("tokenizer.ggml.add_space_prefix", True)),
                   template if isinstance(template, str) else None)


class SPMTokenizer(VocabIds):
    """Score-driven BPE over characters with byte fallback; see the module docstring."""

    def __init__(self, vocab: SPMVocab):
        self.vocab = vocab
        self.token_to_id = {tok: i for i, tok in reversed(list(enumerate(vocab.tokens)))}  # first id wins
        special_types = (TokenType.CONTROL, TokenType.USER_DEFINED)
        self.special_ids = frozenset(i for i, t in enumerate(vocab.token_types) if t in special_types)
        self.byte_ids: dict[int, int] = {}
        for i, (tok, kind) in enumerate(zip(vocab.tokens, vocab.token_types)):
            match = _BYTE_TOKEN.fullmatch(tok)
            if kind == TokenType.BYTE and match:
                self.byte_ids.setdefault(int(match.group(1), 16), i)
        specials = sorted((vocab.tokens[i] for i in self.special_ids if vocab.tokens[i]), key=len, reverse=True)
        self._special_re = re.compile("(" + "|".join(map(re.escape, specials)) + ")") if specials else None

    @classmethod
    def from_gguf_metadata(cls, metadata: dict) -> SPMTokenizer:
        return cls(SPMVocab.from_gguf_metadata(metadata))

    def encode(self, text: str, add_bos: bool | None = None) -> list[int]:
        ids: list[int] = []
        if (self.vocab.add_bos if add_bos is None else add_bos) and self.bos_id is not None:
            ids.append(self.bos_id)
        chunks = self._special_re.split(text) if self._special_re else [text]
        after_special = True
        for k, chunk in enumerate(chunks):
            if k % 2:  # odd chunks are the captured special tokens
                ids.append(self.token_to_id[chunk])
                after_special = True
            elif chunk:
                prefix = " " if self.vocab.add_space_prefix and after_special else ""
                ids += self._encode_plain((prefix + chunk).replace(" ", SPACE))
                after_special = False
        return ids

    def _encode_plain(self, text: str) -> list[int]:
        symbols = list(text)            # current symbols; a merged-away one becomes ""
        nxt = list(range(1, len(symbols) + 1))
        prv = list(range(-1, len(symbols) - 1))
        heap: list[tuple[float, int, str]] = []

        def push(left: int) -> None:
            right = nxt[left]
            if right < len(symbols):
                merged = symbols[left] + symbols[right]
                token = self.token_to_id.get(merged)
                if token is not None:
                    heapq.heappush(heap, (-self.vocab.scores[token], left, merged))
        for i in range(len(symbols) - 1):
            push(i)
        while heap:
            _, left, merged = heapq.heappop(heap)
            right = nxt[left]
            # a stale pair: one side has changed since it was queued
            if not symbols[left] or right >= len(symbols) or symbols[left] + symbols[right] != merged:
                continue
            symbols[left], symbols[right] = merged, ""
            nxt[left] = nxt[right]
            if nxt[left] < len(symbols):
                prv[nxt[left]] = left
            if prv[left] >= 0:
                push(prv[left])
            push(left)
        ids: list[int] = []
        for sym in symbols:
            if not sym:
                continue
            token = self.token_to_id.get(sym)
            if token is not None:
                ids.append(token)
                continue
            for byte in sym.encode("utf-8"):
                fallback = self.byte_ids.get(byte, self.vocab.unk_id)
                if fallback is None:
                    raise FormatError(f"cannot encode byte 0x{byte:02X}: no byte token and no unknown token")
                ids.append(fallback)
        return ids

    def token_bytes(self, token_id: int) -> bytes:
        """The raw bytes a token stands for ("▁" as a space, <0xXX> as its byte; a special token gives its text)."""
        if not 0 <= token_id < self.vocab_size:
            raise ArgumentError(f"token id {token_id} is outside the vocabulary of {self.vocab_size} tokens")
        token = self.vocab.tokens[token_id]
        if self.vocab.token_types[token_id] == TokenType.BYTE:
            match = _BYTE_TOKEN.fullmatch(token)
            if match:
                return bytes([int(match.group(1), 16)])
        return token.replace(SPACE, " ").encode("utf-8")

    def decode(self, ids: Sequence[int], skip_special: bool = False) -> str:
        """Text of `ids`, without the space the encoder put in front (as llama.cpp's detokenizer)."""
        data = b"".join(self.token_bytes(i) for i in ids if not (skip_special and i in self.special_ids))
        text = data.decode("utf-8", errors="replace")
        return text[1:] if self.vocab.add_space_prefix and text.startswith(" ") else text

    def apply_chat_template(self, messages: Sequence[dict], add_generation_prompt: bool = True,
                            tools: list[dict] | None = None) -> str:
        """The model's chat template rendered for `messages` ({role, content} dicts) and optional `tools`."""
        return render_chat(self.vocab.chat_template, messages, add_generation_prompt,
                           bos_token=self._token_text(self.bos_id), eos_token=self._token_text(self.eos_id),
                           tools=tools)

    def _token_text(self, token_id: int | None) -> str:
        return "" if token_id is None else self.vocab.tokens[token_id]
