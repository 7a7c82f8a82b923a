"""Hostile tokenizer data: GGUF tokenizer metadata of the wrong types and malformed tokenizer.json, vocab.txt or
sentence_bert_config.json must raise FormatError when the tokenizer is built, with either engine."""
import importlib.util
import json

import pytest

from baregrad.errors import FormatError
from baregrad.models.tokenizer import BPETokenizer, WordPieceTokenizer

BACKENDS = ["python", pytest.param("tokenizers", marks=pytest.mark.skipif(
    importlib.util.find_spec("tokenizers") is None, reason="optional tokenizers library not installed"))]

GOOD_METADATA = {"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "gpt2",
                 "tokenizer.ggml.tokens": ["h", "i", "hi", "<s>"], "tokenizer.ggml.merges": ["h i"],
                 "tokenizer.ggml.token_type": [1, 1, 1, 3], "tokenizer.ggml.bos_token_id": 3}


@pytest.mark.parametrize("backend", BACKENDS)
def test_good_metadata_builds(backend):
    assert BPETokenizer.from_gguf_metadata(GOOD_METADATA, backend).encode("hi<s>") == [2, 3]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("key, value, message", [
    ("tokenizer.ggml.tokens", 5, "tokens must be an array of str"),
    ("tokenizer.ggml.tokens", [["h"], "i", "hi", "<s>"], "tokens must be an array of str"),
    ("tokenizer.ggml.merges", 7, "merges must be an array of str"),
    ("tokenizer.ggml.merges", ["hi"], r"merges\[0\] = 'hi' is not two tokens"),
    ("tokenizer.ggml.token_type", ["a"] * 4, "token_type must be an array of int"),
    ("tokenizer.ggml.token_type", 3, "token_type must be an array of int"),
    ("tokenizer.ggml.bos_token_id", "x", "token id x is not an int"),
    ("tokenizer.ggml.bos_token_id", float("nan"), "token id nan is not an int"),
    ("tokenizer.ggml.bos_token_id", [1], r"token id \[1\] is not an int"),
])
def test_metadata_of_the_wrong_type_is_refused(backend, key, value, message):
    with pytest.raises(FormatError, match=message):
        BPETokenizer.from_gguf_metadata({**GOOD_METADATA, key: value}, backend)


@pytest.mark.skipif(importlib.util.find_spec("tokenizers") is None, reason="optional tokenizers library not installed")
@pytest.mark.parametrize("key, value", [("tokenizer.ggml.merges", ["h i", "x y"]),
                                        ("tokenizer.ggml.tokens", ["h", "i", "hi", "\udc80"])])
def test_vocabulary_the_library_refuses_is_a_format_error(key, value):
    # a merge of tokens outside the vocabulary; a token that is not valid UTF-8 (kept by surrogateescape)
    with pytest.raises(FormatError, match="tokenizers cannot build a BPE model"):
        BPETokenizer.from_gguf_metadata({**GOOD_METADATA, key: value}, "tokenizers")


def wordpiece_json(**model) -> dict:
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "##s": 5}
    return {"model": {"type": "WordPiece", "vocab": vocab, "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 100, **model},
            "normalizer": {"type": "BertNormalizer", "lowercase": True, "clean_text": True,
                           "handle_chinese_chars": True, "strip_accents": None}}


@pytest.mark.parametrize("backend", BACKENDS)
def test_good_tokenizer_json_builds(tmp_path, backend):
    (tmp_path / "tokenizer.json").write_text(json.dumps(wordpiece_json()))
    assert WordPieceTokenizer.from_dir(tmp_path, backend=backend).wordpiece_ids("hellos") == [4, 5]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name, content, message", [
    ("tokenizer.json", b"{not json", r"invalid JSON: .* \(at character 1\)"),
    ("tokenizer.json", b"\xff\xfe{}", r"not UTF-8 \(at byte 0\)"),
    ("tokenizer.json", b"[" * 100000 + b"]" * 100000, "invalid JSON: RecursionError"),
    ("tokenizer.json", b"[1, 2]", "holds a JSON list, not an object"),
    ("tokenizer.json", json.dumps({"model": []}).encode(), "model = '\\[\\]' has the wrong type"),
    ("tokenizer.json", json.dumps({"model": {"type": "WordPiece"}}).encode(), "vocab = 'None' has the wrong type"),
    ("tokenizer.json", json.dumps(wordpiece_json(vocab=["a", "b"])).encode(), "vocab = .* has the wrong type"),
    ("tokenizer.json", json.dumps(wordpiece_json(vocab={"[UNK]": "1"})).encode(), "vocab must map tokens to"),
    ("tokenizer.json", json.dumps(wordpiece_json(max_input_chars_per_word="100")).encode(),
     "max_input_chars_per_word = '100' has the wrong type"),
    ("tokenizer.json", json.dumps(wordpiece_json(continuing_subword_prefix=5)).encode(),
     "continuing_subword_prefix = '5' has the wrong type"),
    ("tokenizer.json", json.dumps({**wordpiece_json(), "normalizer": [1]}).encode(), "normalizer = .* wrong type"),
    ("tokenizer.json", json.dumps(wordpiece_json(vocab={"[UNK]": 0})).encode(),
     r"vocabulary lacks \['\[CLS\]', '\[SEP\]', '\[PAD\]'\]"),
    ("vocab.txt", b"[PAD]\n[UNK]\n[CLS]\n[SEP]\n\xff\n", r"not UTF-8 \(at byte 24\)"),
    ("vocab.txt", b"a\nb\n", "vocabulary lacks"),
])
def test_malformed_tokenizer_files_are_refused(tmp_path, backend, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(FormatError, match=message):
        WordPieceTokenizer.from_dir(tmp_path, backend=backend)


@pytest.mark.parametrize("content, message", [
    (b"{", "invalid JSON"), (b"[1]", "holds a JSON list"), (b'{"max_seq_length": "12"}', "wrong type"),
    (b'{"max_seq_length": Infinity}', "wrong type"), (b'{"max_seq_length": 1e300}', "wrong type"),
    (b'{"max_seq_length": 100000000000000000000}', "max_seq_length 100000000000000000000 is absurd"),
])
def test_malformed_sentence_bert_config_is_refused(tmp_path, content, message):
    (tmp_path / "tokenizer.json").write_text(json.dumps(wordpiece_json()))
    (tmp_path / "sentence_bert_config.json").write_bytes(content)
    with pytest.raises(FormatError, match=message):
        WordPieceTokenizer.from_dir(tmp_path, backend="python")
