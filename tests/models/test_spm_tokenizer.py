"""The SentencePiece-style GGUF tokenizer against the `tokenizers` library's BPE built from the same vocabulary.

llama.cpp's SPM encoder merges the adjacent pair whose result has the highest score; Hugging Face's converter for
these vocabularies makes a BPE whose merges are ranked by that same score, with byte fallback. On a random
vocabulary (distinct scores, so no ties) both must give the same ids for any text.
"""
from __future__ import annotations

import numpy as np
import pytest

from baregrad.models.spm_tokenizer import SPACE, SPMTokenizer, SPMVocab
from baregrad.models.tokenizer import TokenType

tokenizers = pytest.importorskip("tokenizers")

WORDS = ["hello", "world", "the", "tokenizer", "merges", "pairs", "by", "score", "naïve", "café", "ab", "ba", "aaa"]


def random_vocab(seed: int = 0) -> SPMVocab:
    rng = np.random.default_rng(seed)
    tokens = ["<unk>", "<s>", "</s>", "<end_of_turn>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
    pieces: list[str] = []
    for word in WORDS:
        text = SPACE + word
        pieces += [text[i:j] for i in range(len(text)) for j in range(i + 1, min(len(text), i + 5) + 1)]
    # single characters always, longer pieces at random, so some words fall apart into characters; none with é or
    # ï, which take the byte fallback (sentencepiece vocabularies hold every character their pieces use, so the
    # two engines' different handling of a piece over a missing character never arises)
    pieces = [p for p in dict.fromkeys(pieces) if not set(p) & set("éï") and (len(p) == 1 or rng.random() < 0.6)]
    tokens += pieces
    types += [TokenType.NORMAL] * len(pieces)
    scores = [0.0] * 260 + list(-rng.permutation(len(pieces)).astype(float) - 1.0)
    return SPMVocab(tokens, scores, [int(t) for t in types], 1, 2, 0, True, True, None)


def hf_tokenizer(vocab: SPMVocab):
    from tokenizers import Tokenizer, models, normalizers
    ids = {t: i for i, t in enumerate(vocab.tokens)}
    merges = []
    for i, tok in enumerate(vocab.tokens):
        if vocab.token_types[i] != TokenType.NORMAL:
            continue
        merges += [(vocab.scores[i], tok[:k], tok[k:]) for k in range(1, len(tok)) if tok[:k] in ids and tok[k:] in ids]
    merges.sort(key=lambda m: -m[0])
    hf = Tokenizer(models.BPE(vocab=ids, merges=[(a, b) for _, a, b in merges], unk_token="<unk>",
                              byte_fallback=True, fuse_unk=False))
    hf.normalizer = normalizers.Sequence([normalizers.Prepend(SPACE), normalizers.Replace(" ", SPACE)])
    return hf


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_tokenizers_bpe(seed: int) -> None:
    vocab = random_vocab(seed)
    ours, theirs = SPMTokenizer(vocab), hf_tokenizer(vocab)
    rng = np.random.default_rng(seed + 10)
    texts = ["hello world", "the tokenizer merges pairs by score", "naïve café", "aaaa abab baba", "日本 ok",
             " two  spaces", "ünïcode"] + [" ".join(rng.choice(WORDS, 6)) for _ in range(20)]
    for text in texts:
        expected = theirs.encode(text, add_special_tokens=False).ids
        assert ours.encode(text, add_bos=False) == expected, text
        assert ours.decode(expected) == text


def test_special_tokens_bos_and_streaming_bytes() -> None:
    tok = SPMTokenizer(random_vocab())
    ids = tok.encode("hello<end_of_turn>world")
    assert ids[0] == 1 and 3 in ids
    assert tok.eos_ids == frozenset({2, 3})
    assert ids[ids.index(3) + 1:] == tok.encode("world", add_bos=False)  # a space prefix after a special token
    assert b"".join(tok.token_bytes(i) for i in tok.encode("日本", add_bos=False)) == " 日本".encode()
