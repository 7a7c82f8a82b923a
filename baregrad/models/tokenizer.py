"""Tokenizers for the models: byte-level BPE read from GGUF metadata, and BERT WordPiece read from tokenizer.json.

Each tokenizer has two interchangeable engines that give identical ids:
  * the `tokenizers` library (an optional extra, imported lazily) when it is installed: fast;
  * a pure-Python engine, so that baregrad itself needs no dependency.
Pick one with `backend="tokenizers"` or `backend="python"`; the default "auto" prefers the library.

Byte-level BPE (GPT-2 family, SmolLM2, StarCoder): text is split on special tokens first (matched as whole
tokens), then pre-tokenized with the model's regex, each piece is mapped byte -> printable unicode char and the
merges are applied lowest rank first. Python's `re` has no \\p{L} / \\p{N}, so the pre-tokenizer regex is a
hand-written scanner over character classes (see `_gpt2_pieces`).
"""

from __future__ import annotations

import enum
import functools
import importlib.util
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from baregrad.errors import ArgumentError, FormatError
from baregrad.models.chat_template import render_chat

Backend = str  # "auto" | "tokenizers" | "python"


class TokenType(enum.IntEnum):
    """llama.cpp's token types, as stored in tokenizer.ggml.token_type."""

    NORMAL = 1
    UNKNOWN = 2
    CONTROL = 3
    USER_DEFINED = 4
    UNUSED = 5
    BYTE = 6


# Pre-tokenizer families (tokenizer.ggml.pre). The "digits" family isolates every number character before the
# GPT-2 regex runs (HF: Sequence[Digits(individual_digits=True), ByteLevel]; llama.cpp: "\p{N}" then GPT-2).
_GPT2_PRE = frozenset({"gpt2", "default", "gpt-2", "jais", "olmo", "poro-chat", "viking"})
_DIGITS_PRE = frozenset({"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva"})

# Texts of end-of-generation tokens across chat formats: generation stops on any of them, not only on eos_id.
_END_OF_TURN_TEXTS = frozenset({"<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "</s>"})

# Unicode White_Space, the set regex engines use for \s (str.isspace also accepts \x1c-\x1f, which \s does not).
_WHITESPACE = frozenset("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                        "\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def tokenizers_available() -> bool:
    """True when the optional `tokenizers` library can be imported."""
    return importlib.util.find_spec("tokenizers") is not None


def _pick_backend(backend: Backend) -> str:
    if backend not in ("auto", "tokenizers", "python"):
        raise ArgumentError(f"backend must be 'auto', 'tokenizers' or 'python', got {backend!r}")
    if backend == "auto":
        return "tokenizers" if tokenizers_available() else "python"
    if backend == "tokenizers" and not tokenizers_available():
        raise ArgumentError("backend='tokenizers' needs the tokenizers package: pip install tokenizers")
    return backend


@functools.lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from each byte to a printable unicode character (space -> 'Ġ', newline -> 'Ċ')."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    table, shift = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:  # non-printable bytes go to 256+ so that every piece stays a readable string
            table[b] = chr(256 + shift)
            shift += 1
    return table


@functools.lru_cache(maxsize=65536)
def _char_class(ch: str) -> str:
    """'S' whitespace, 'L' letter (\\p{L}), 'N' number (\\p{N}), 'O' anything else."""
    if ch in _WHITESPACE:
        return "S"
    if ch.isalpha():  # str.isalpha is exactly the general categories L*
        return "L"
    return "N" if unicodedata.category(ch)[0] == "N" else "O"


def _gpt2_pieces(text: str) -> list[str]:
    """Split like GPT-2's regex: 's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"""
    classes = [_char_class(c) for c in text]
    pieces, i, n = [], 0, len(text)
    while i < n:
        if text[i] == "'" and i + 1 < n:  # contractions win first, case-sensitive as in GPT-2
            if text.startswith(("re", "ve", "ll"), i + 1):
                pieces.append(text[i:i + 3])
                i += 3
                continue
            if text[i + 1] in "stmd":
                pieces.append(text[i:i + 2])
                i += 2
                continue
        # one literal space may prefix a run of letters, numbers or other symbols
        j = i + 1 if text[i] == " " and i + 1 < n and classes[i + 1] != "S" else i
        kind = classes[j]
        end = j
        while end < n and classes[end] == kind:
            end += 1
        if kind == "S" and end < n and end - i > 1:
            end -= 1  # \s+(?!\S): leave the last space to prefix the next word
        pieces.append(text[i:end])
        i = end
    return pieces


def _digit_isolated_pieces(text: str) -> list[str]:
    """Every number character is its own piece; the GPT-2 regex runs on the text between them."""
    pieces, start = [], 0
    for i, ch in enumerate(text):
        if _char_class(ch) == "N":
            if start < i:
                pieces += _gpt2_pieces(text[start:i])
            pieces.append(ch)
            start = i + 1
    if start < len(text):
        pieces += _gpt2_pieces(text[start:])
    return pieces


def _as_str(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, (bytes, bytearray)) else str(value)


def _meta(metadata: dict, key: str, default: Any = None) -> Any:
    """Read a metadata value, unwrapping parsers that store (type, value) records or numpy scalars."""
    value = metadata.get(key, default)
    value = getattr(value, "value", value)
    if hasattr(value, "tolist"):
        value = value.tolist()
    return value


class VocabIds:
    """vocab_size, bos_id, eos_id and eos_ids of a tokenizer with `.vocab` (tokens, bos_id, eos_id) and
    `.special_ids`; BPETokenizer and SPMTokenizer share it. eos_ids adds the special end-of-turn tokens of common
    chat formats (Gemma's <end_of_turn>, Phi's <|end|>, ...)."""

    @property
    def vocab_size(self) -> int:
        return len(self.vocab.tokens)

    @property
    def bos_id(self) -> int | None:
        return self.vocab.bos_id

    @property
    def eos_id(self) -> int | None:
        return self.vocab.eos_id

    @functools.cached_property
    def eos_ids(self) -> frozenset[int]:
        """Tokens that end a generation: eos_id plus the special end-of-turn tokens of common chat formats."""
        ids = {i for i in self.special_ids if self.vocab.tokens[i] in _END_OF_TURN_TEXTS}
        return frozenset(ids | ({self.eos_id} if self.eos_id is not None else set()))


@dataclass(frozen=True)
class BPEVocab:
    """What a byte-level BPE tokenizer needs, as read from GGUF metadata."""

    tokens: list[str]
    merges: list[str]
    token_types: list[int]
    bos_id: int | None
    eos_id: int | None
    pre: str = "gpt2"
    chat_template: str | None = None
    add_bos: bool = False
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_gguf_metadata(cls, metadata: dict) -> "BPEVocab":
        model = _as_str(_meta(metadata, "tokenizer.ggml.model", ""))
        if model != "gpt2":
            raise FormatError(f"tokenizer.ggml.model={model!r}: only byte-level BPE ('gpt2') is supported")
        tokens = [_as_str(t) for t in _meta_array(metadata, "tokenizer.ggml.tokens", (str, bytes), [])]
        merges = [_as_str(m) for m in _meta_array(metadata, "tokenizer.ggml.merges", (str, bytes), [])]
        if not tokens or not merges:
            raise FormatError("GGUF metadata lacks tokenizer.ggml.tokens or tokenizer.ggml.merges")
        for k, merge in enumerate(merges):
            if len(merge.split(" ")) != 2:  # both engines need exactly "left right"
                raise FormatError(f"tokenizer.ggml.merges[{k}] = {merge[:50]!r} is not two tokens joined by a space")
        types = _meta_array(metadata, "tokenizer.ggml.token_type", int, [TokenType.NORMAL] * len(tokens))
        if len(types) != len(tokens):
            raise FormatError(f"tokenizer.ggml.token_type has {len(types)} entries for {len(tokens)} tokens")
        template = _meta(metadata, "tokenizer.chat_template")
        return cls(tokens=tokens, merges=merges, token_types=types,
                   bos_id=_optional_id(_meta(metadata, "tokenizer.ggml.bos_token_id"), len(tokens)),
                   eos_id=_optional_id(_meta(metadata, "tokenizer.ggml.eos_token_id"), len(tokens)),
                   pre=_as_str(_meta(metadata, "tokenizer.ggml.pre", "gpt2")),
                   chat_template=None if template is None else _as_str(template),
                   add_bos=bool(_meta(metadata, "tokenizer.ggml.add_bos_token", False)))


def _meta_array(metadata: dict, key: str, kinds: type | tuple[type, ...], default: list) -> list:
    """A metadata array whose elements are all of `kinds`; the file decides the types, so check them here
    rather than failing with a TypeError deep inside an engine."""
    value = _meta(metadata, key, default)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, kinds) for v in value):
        names = kinds.__name__ if isinstance(kinds, type) else " or ".join(k.__name__ for k in kinds)
        raise FormatError(f"GGUF metadata {key} must be an array of {names}, got {type(value).__name__} "
                          f"{str(value)[:50]!r}")
    return list(value)


def _optional_id(value: Any, vocab_size: int) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or not 0 <= value < vocab_size:
        raise FormatError(f"token id {str(value)[:50]} is not an int inside the vocabulary of {vocab_size} tokens")
    return value


class BPETokenizer(VocabIds):
    """Byte-level BPE tokenizer (GPT-2 style) built from GGUF metadata."""

    def __init__(self, vocab: BPEVocab, backend: Backend = "auto"):
        if vocab.pre not in _GPT2_PRE | _DIGITS_PRE:
            raise FormatError(f"pre-tokenizer tokenizer.ggml.pre={vocab.pre!r} is not supported "
                              f"(supported: {sorted(_GPT2_PRE | _DIGITS_PRE)})")
        self.vocab = vocab
        self.backend = _pick_backend(backend)
        self.token_to_id = {tok: i for i, tok in reversed(list(enumerate(vocab.tokens)))}  # first id wins
        special_types = (TokenType.CONTROL, TokenType.USER_DEFINED)
        self.special_ids = frozenset(i for i, t in enumerate(vocab.token_types) if t in special_types)
        self._byte_decoder = {ch: b for b, ch in bytes_to_unicode().items()}
        self._engine = _HFBPE(self) if self.backend == "tokenizers" else _PythonBPE(self)

    @classmethod
    def from_gguf_metadata(cls, metadata: dict, backend: Backend = "auto") -> "BPETokenizer":
        return cls(BPEVocab.from_gguf_metadata(metadata), backend)

    @classmethod
    def from_gguf(cls, path: str | Path, backend: Backend = "auto") -> "BPETokenizer":
        from baregrad.nn.state.gguf import gguf_load  # lazy: the GGUF parser is only needed here
        return cls.from_gguf_metadata(gguf_load(path).metadata, backend)

    def encode(self, text: str, add_bos: bool | None = None) -> list[int]:
        """Token ids of `text`; special tokens written in the text become their single ids."""
        ids = self._engine.encode(text)
        if (self.vocab.add_bos if add_bos is None else add_bos) and self.bos_id is not None:
            ids = [self.bos_id] + ids
        return ids

    def token_bytes(self, token_id: int) -> bytes:
        """The raw bytes a token stands for (a special token gives its text): decode streams from these."""
        if not 0 <= token_id < self.vocab_size:
            raise ArgumentError(f"token id {token_id} is outside the vocabulary of {self.vocab_size} tokens")
        token = self.vocab.tokens[token_id]
        if token_id in self.special_ids:
            return token.encode("utf-8")
        decoder = self._byte_decoder
        return bytes(decoder[ch] for ch in token if ch in decoder)

    def decode(self, ids: Sequence[int], skip_special: bool = False) -> str:
        """Text of `ids`; bytes that are not valid UTF-8 become U+FFFD."""
        data = b"".join(self.token_bytes(i) for i in ids if not (skip_special and i in self.special_ids))
        return data.decode("utf-8", errors="replace")

    def apply_chat_template(self, messages: Sequence[dict], add_generation_prompt: bool = True,
                            tools: list[dict] | None = None) -> str:
        """The model's chat template rendered for `messages` ({role, content} dicts) and optional `tools`."""
        return render_chat(self.vocab.chat_template, messages, add_generation_prompt,
                           bos_token=self._token_text(self.bos_id), eos_token=self._token_text(self.eos_id),
                           tools=tools)

    def _token_text(self, token_id: int | None) -> str:
        return "" if token_id is None else self.vocab.tokens[token_id]


class _PythonBPE:
    """Pure-Python BPE engine: merge ranks in a dict, results cached per pre-tokenized piece."""

    def __init__(self, tok: BPETokenizer):
        self.tok = tok
        self.ranks = {tuple(m.split(" ", 1)): rank for rank, m in enumerate(tok.vocab.merges)}
        self.byte_encoder = bytes_to_unicode()
        self.cache: dict[str, list[int]] = {}
        specials = sorted((tok.vocab.tokens[i] for i in tok.special_ids), key=len, reverse=True)
        # longest alternative first, so the leftmost-longest special token wins, as in HF's added-token matcher
        self.special_re = re.compile("(" + "|".join(map(re.escape, specials)) + ")") if specials else None
        self.split = _digit_isolated_pieces if tok.vocab.pre in _DIGITS_PRE else _gpt2_pieces

    def encode(self, text: str) -> list[int]:
        chunks = self.special_re.split(text) if self.special_re else [text]
        ids: list[int] = []
        for k, chunk in enumerate(chunks):
            if k % 2:  # odd chunks are the captured special tokens
                ids.append(self.tok.token_to_id[chunk])
            elif chunk:
                for piece in self.split(chunk):
                    ids += self._bpe(piece)
        return ids

    def _bpe(self, piece: str) -> list[int]:
        cached = self.cache.get(piece)
        if cached is not None:
            return cached
        parts = [self.byte_encoder[b] for b in piece.encode("utf-8")]
        ranks = self.ranks
        while len(parts) > 1:
            best = min(zip(parts, parts[1:]), key=lambda pair: ranks.get(pair, 1 << 62))
            if best not in ranks:
                break
            parts = _merge_pair(parts, best)
        ids = [self._id(p) for p in parts]
        if len(self.cache) < 100_000:
            self.cache[piece] = ids
        return ids

    def _id(self, part: str) -> int:
        token_id = self.tok.token_to_id.get(part)
        if token_id is None:
            raise FormatError(f"BPE produced {part!r}, which is not in the vocabulary")
        return token_id


def _merge_pair(parts: list[str], pair: tuple[str, str]) -> list[str]:
    """Merge every non-overlapping occurrence of `pair`, left to right."""
    out, i, n = [], 0, len(parts)
    while i < n:
        if i + 1 < n and parts[i] == pair[0] and parts[i + 1] == pair[1]:
            out.append(pair[0] + pair[1])
            i += 2
        else:
            out.append(parts[i])
            i += 1
    return out


class _HFBPE:
    """Engine on the `tokenizers` library, built in memory from the vocabulary and merges."""

    def __init__(self, tok: BPETokenizer):
        from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
        merges = [tuple(m.split(" ", 1)) for m in tok.vocab.merges]
        try:
            hf = Tokenizer(models.BPE(vocab=dict(tok.token_to_id), merges=merges, fuse_unk=False))
        # the library raises bare Exception / TypeError for merges of unknown tokens or undecodable tokens
        except Exception as e:
            raise FormatError(f"tokenizers cannot build a BPE model from this vocabulary: {str(e)[:200]}") from e
        byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        if tok.vocab.pre in _DIGITS_PRE:
            hf.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
        else:
            hf.pre_tokenizer = byte_level
        hf.decoder = decoders.ByteLevel()
        specials = [tok.vocab.tokens[i] for i in sorted(tok.special_ids)]
        hf.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
        self.hf = hf

    def encode(self, text: str) -> list[int]:
        return self.hf.encode(text, add_special_tokens=False).ids


# ---------------------------------------------------------------------------------------------------------------
# BERT WordPiece


@dataclass(frozen=True)
class WordPieceConfig:
    """The parts of a BERT tokenizer.json (or vocab.txt with defaults) that decide the ids."""

    vocab: dict[str, int]
    lowercase: bool = True
    strip_accents: bool | None = None  # None: follow lowercase, as BertNormalizer does
    clean_text: bool = True
    handle_chinese_chars: bool = True
    unk_token: str = "[UNK]"
    prefix: str = "##"
    max_input_chars_per_word: int = 100
    cls_token: str = "[CLS]"
    sep_token: str = "[SEP]"
    pad_token: str = "[PAD]"
    max_length: int = 512

    @property
    def strips_accents(self) -> bool:
        return self.lowercase if self.strip_accents is None else self.strip_accents


@dataclass(frozen=True)
class Encoding:
    """One encoded text: ids with [CLS]/[SEP], the attention mask (1 = real token, 0 = padding) and type ids."""

    ids: list[int]
    attention_mask: list[int]
    type_ids: list[int]


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"{path}: not UTF-8 (at byte {e.start})") from e


def _read_json_object(path: Path) -> dict:
    """A JSON file that must hold an object; every way it can be malformed is a FormatError naming the offset."""
    text = _read_text(path)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(f"{path}: invalid JSON: {e.msg} (at character {e.pos})") from e
    except (ValueError, RecursionError) as e:  # over-long integer literals, absurd nesting
        raise FormatError(f"{path}: invalid JSON: {type(e).__name__}: {str(e)[:100]}") from e
    if not isinstance(value, dict):
        raise FormatError(f"{path}: holds a JSON {type(value).__name__}, not an object")
    return value


def _field(path: Path, table: dict, key: str, default: Any, kinds: type | tuple[type, ...]) -> Any:
    """table[key] (or `default`) after checking its JSON type: bool is not accepted where an int is wanted."""
    value = table.get(key, default)
    if not isinstance(value, kinds) or (isinstance(value, bool) and kinds is int):
        raise FormatError(f"{path}: {key} = {str(value)[:50]!r} has the wrong type")
    return value


def _read_wordpiece_config(folder: Path, max_length: int | None) -> WordPieceConfig:
    json_path, vocab_path = folder / "tokenizer.json", folder / "vocab.txt"
    if json_path.exists():
        spec = _read_json_object(json_path)
        model = _field(json_path, spec, "model", {}, dict)
        norm = _field(json_path, spec, "normalizer", None, (dict, type(None))) or {}
        if model.get("type") != "WordPiece":
            raise FormatError(f"{json_path}: model type {str(model.get('type'))[:50]!r} is not WordPiece")
        vocab = _field(json_path, model, "vocab", None, dict)
        if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in vocab.values()):
            raise FormatError(f"{json_path}: model.vocab must map tokens to non-negative ints")
        config = WordPieceConfig(
            vocab=vocab, lowercase=_field(json_path, norm, "lowercase", True, bool),
            strip_accents=_field(json_path, norm, "strip_accents", None, (bool, type(None))),
            clean_text=_field(json_path, norm, "clean_text", True, bool),
            handle_chinese_chars=_field(json_path, norm, "handle_chinese_chars", True, bool),
            unk_token=_field(json_path, model, "unk_token", "[UNK]", str),
            prefix=_field(json_path, model, "continuing_subword_prefix", "##", str),
            max_input_chars_per_word=_field(json_path, model, "max_input_chars_per_word", 100, int))
    elif vocab_path.exists():
        lines = _read_text(vocab_path).splitlines()
        config = WordPieceConfig(vocab={tok: i for i, tok in enumerate(lines)})
    else:
        raise FormatError(f"{folder} has neither tokenizer.json nor vocab.txt")
    # encode() needs these ids; a vocabulary without them fails here rather than on the first text
    missing = [t for t in (config.unk_token, config.cls_token, config.sep_token, config.pad_token)
               if t not in config.vocab]
    if missing:
        raise FormatError(f"{json_path if json_path.exists() else vocab_path}: vocabulary lacks {missing}")
    return _with_max_length(config, folder, max_length)


def _with_max_length(config: WordPieceConfig, folder: Path, max_length: int | None) -> WordPieceConfig:
    """Explicit value, else sentence-transformers' max_seq_length, else the model's 512 positions."""
    if max_length is None:
        st_config = folder / "sentence_bert_config.json"
        if st_config.exists():
            max_length = _field(st_config, _read_json_object(st_config), "max_seq_length", None, (int, type(None)))
            if max_length is not None and max_length >= 1 << 31:  # the tokenizers library wants a usize
                raise FormatError(f"{st_config}: max_seq_length {max_length} is absurd")
    if max_length is None or max_length < 2:
        max_length = 512
    return WordPieceConfig(**{**config.__dict__, "max_length": int(max_length)})


def _is_bert_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True  # all ASCII non-alphanumerics, "$" and "^" included, as BERT does
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF
            or 0x2F800 <= cp <= 0x2FA1F)


class WordPieceTokenizer:
    """BERT tokenizer: normalize (clean, CJK split, accents, lowercase), split, WordPiece with '##', [CLS] [SEP]."""

    def __init__(self, config: WordPieceConfig, backend: Backend = "auto", hf_json: str | None = None):
        self.config = config
        self.backend = _pick_backend(backend) if hf_json is not None or backend == "python" else "python"
        self.ids_to_tokens = {i: t for t, i in config.vocab.items()}
        self._hf = None
        if self.backend == "tokenizers":
            from tokenizers import Tokenizer
            try:
                self._hf = Tokenizer.from_str(hf_json)
            except Exception as e:  # the library raises a bare Exception for JSON it cannot use
                raise FormatError(f"tokenizers cannot read this tokenizer.json: {str(e)[:200]}") from e
            self._hf.no_padding()
            self._hf.enable_truncation(config.max_length)

    @classmethod
    def from_dir(cls, folder: str | Path, backend: Backend = "auto",
                 max_length: int | None = None) -> "WordPieceTokenizer":
        """Read `folder`/tokenizer.json (or vocab.txt with BERT-uncased defaults)."""
        folder = Path(folder)
        config = _read_wordpiece_config(folder, max_length)
        json_path = folder / "tokenizer.json"
        return cls(config, backend, _read_text(json_path) if json_path.exists() else None)

    def _special(self, token: str) -> int:
        return self.config.vocab[token]

    def encode(self, text: str) -> Encoding:
        """[CLS] wordpieces [SEP], truncated to max_length."""
        if self._hf is not None:
            enc = self._hf.encode(text)
            return Encoding(list(enc.ids), list(enc.attention_mask), list(enc.type_ids))
        ids = self.wordpiece_ids(text)[:self.config.max_length - 2]
        ids = [self._special(self.config.cls_token)] + ids + [self._special(self.config.sep_token)]
        return Encoding(ids, [1] * len(ids), [0] * len(ids))

    def encode_batch(self, texts: Sequence[str]) -> list[Encoding]:
        """Encodings padded with [PAD] (mask 0) to the longest text of the batch."""
        encodings = [self.encode(t) for t in texts]
        width = max((len(e.ids) for e in encodings), default=0)
        pad = self._special(self.config.pad_token)
        return [Encoding(e.ids + [pad] * (width - len(e.ids)), e.attention_mask + [0] * (width - len(e.ids)),
                         e.type_ids + [0] * (width - len(e.ids))) for e in encodings]

    def decode(self, ids: Sequence[int]) -> str:
        """Tokens joined back, '##' pieces glued to the previous one, special tokens dropped."""
        specials = {self.config.cls_token, self.config.sep_token, self.config.pad_token}
        words: list[str] = []
        for token in (self.ids_to_tokens.get(i, self.config.unk_token) for i in ids):
            if token in specials:
                continue
            if token.startswith(self.config.prefix) and words:
                words[-1] += token[len(self.config.prefix):]
            else:
                words.append(token)
        return " ".join(words)

    # pure-Python pipeline -----------------------------------------------------------------------------------
    def wordpiece_ids(self, text: str) -> list[int]:
        """Ids of `text` without [CLS]/[SEP] or truncation."""
        ids: list[int] = []
        for word in self._pre_tokenize(self._normalize(text)):
            ids += self._wordpiece(word)
        return ids

    def _normalize(self, text: str) -> str:
        cfg = self.config
        if cfg.clean_text:
            text = "".join(" " if _bert_whitespace(c) else c for c in text if not _bert_removed(c))
        if cfg.handle_chinese_chars:
            text = "".join(f" {c} " if _is_cjk(ord(c)) else c for c in text)
        if cfg.strips_accents:
            text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
        return text.lower() if cfg.lowercase else text

    @staticmethod
    def _pre_tokenize(text: str) -> list[str]:
        words: list[str] = []
        current = ""
        for ch in text:
            if ch in _WHITESPACE:
                words, current = _flush(words, current)
            elif _is_bert_punctuation(ch):
                words, current = _flush(words, current)
                words.append(ch)
            else:
                current += ch
        return _flush(words, current)[0]

    def _wordpiece(self, word: str) -> list[int]:
        cfg, vocab = self.config, self.config.vocab
        if len(word) > cfg.max_input_chars_per_word:
            return [vocab[cfg.unk_token]]
        ids, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:  # longest match first
                piece = word[start:end] if start == 0 else cfg.prefix + word[start:end]
                if piece in vocab:
                    ids.append(vocab[piece])
                    break
                end -= 1
            if end == start:  # no piece fits: the whole word is unknown
                return [vocab[cfg.unk_token]]
            start = end
        return ids


def _flush(words: list[str], current: str) -> tuple[list[str], str]:
    if current:
        words.append(current)
    return words, ""


def _bert_whitespace(ch: str) -> bool:
    return ch in _WHITESPACE


def _bert_removed(ch: str) -> bool:
    """Characters BertNormalizer's clean_text drops: NUL, U+FFFD and control characters other than whitespace."""
    if ch in "\x00\ufffd":
        return True
    return ch not in "\t\n\r" and unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cn", "Cs")
