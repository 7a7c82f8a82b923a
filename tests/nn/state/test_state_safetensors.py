"""safetensors: parsing hand-built files, writing, and refusing every malformed header with FormatError."""
import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from state_builders import FakeTensor, safetensors_bytes, tensor_class

from baregrad import dtype as dt
from baregrad.errors import FormatError
from baregrad.nn.state import parse_safetensors, safe_load, safe_load_metadata, safe_save

A = np.arange(6, dtype=np.float32).reshape(2, 3)
B = np.array([1, -2], dtype=np.int64)


def good_file() -> bytes:
    data = A.tobytes() + B.tobytes()
    entries = {"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
               "b": {"dtype": "I64", "shape": [2], "data_offsets": [24, 40]}}
    return safetensors_bytes(entries, data, metadata={"format": "pt"})


def test_parse_hand_built_file():
    header = parse_safetensors(good_file())
    assert header.metadata == {"format": "pt"}
    a, b = header.entries["a"], header.entries["b"]
    assert (a.dtype, a.shape, b.dtype, b.shape) == (dt.float32, (2, 3), dt.int64, (2,))
    assert np.array_equal(np.frombuffer(a.data, np.float32).reshape(2, 3), A)
    assert np.array_equal(np.frombuffer(b.data, np.int64), B)
    assert b.file_offset == header.data_start + 24


def test_safe_save_layout_and_reparse(tmp_path):
    tensors = {"w": FakeTensor(dt.float16, (3,), np.ones(3, np.float16).tobytes()),
               "big": FakeTensor(dt.float64, (2,), np.array([1.5, 2.5]).tobytes()),
               "flag": FakeTensor(dt.bool_, (1,), b"\x01")}
    path = tmp_path / "x.safetensors"
    safe_save(tensors, path, metadata={"k": "v"})
    raw = path.read_bytes()
    header_len = struct.unpack_from("<Q", raw)[0]
    assert (8 + header_len) % 8 == 0
    header = parse_safetensors(raw)
    assert list(sorted(header.entries, key=lambda n: header.entries[n].begin)) == ["big", "w", "flag"]
    for name, t in tensors.items():
        entry = header.entries[name]
        assert entry.file_offset % t.dtype.itemsize == 0 and bytes(entry.data) == t.raw
    assert safe_load_metadata(path) == {"k": "v"}
    assert set(safe_load(path)) == {"w", "big", "flag"}  # keys need no Tensor


def test_safe_load_round_trip_with_tensor(tmp_path):
    Tensor = tensor_class()
    tensors = {"a": Tensor.from_bytes(A.tobytes(), dt.float32, (2, 3)),
               "b": Tensor.from_bytes(B.tobytes(), dt.int64, (2,))}
    path = tmp_path / "rt.safetensors"
    safe_save(tensors, path)
    loaded = safe_load(path)
    for name, t in tensors.items():
        assert loaded[name].shape == t.shape and loaded[name].dtype is t.dtype
        assert loaded[name].to_bytes() == t.to_bytes()


def test_reads_file_written_by_torch_layout(tmp_path):
    # safetensors as the reference writer lays it out: header padded with spaces, tensors back to back.
    t = np.linspace(-1, 1, 8, dtype=np.float32)
    raw = safetensors_bytes({"t": {"dtype": "BF16", "shape": [8], "data_offsets": [0, 16]}},
                            (t.view(np.uint32) >> 16).astype(np.uint16).tobytes(), pad=5)
    entry = parse_safetensors(raw).entries["t"]
    got = (np.frombuffer(entry.data, np.uint16).astype(np.uint32) << 16).view(np.float32)
    assert np.allclose(got, t, atol=1e-2)


def _entries(**overrides):
    entry = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    entry.update(overrides)
    return {"t": entry}


ENTRY_TEXT = '"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}'
DUPLICATE = ("{" + ENTRY_TEXT + "," + ENTRY_TEXT + "}").encode()

BAD_FILES = {
    "empty": b"",
    "short length": b"\x01\x00",
    "header longer than file": struct.pack("<Q", 1000) + b"{}",
    "absurd header length": struct.pack("<Q", 2 ** 63) + b"{}",
    "not json": struct.pack("<Q", 5) + b"{abc}",
    "not utf8": struct.pack("<Q", 4) + b'{"\xff"',
    "json list": struct.pack("<Q", 2) + b"[]",
    "huge int": struct.pack("<Q", 5008) + b'{"a":' + b"9" * 5000 + b"}" + b"\0" * 0,
    "deep nesting": struct.pack("<Q", 200000) + b"[" * 100000 + b"]" * 100000,
    "unknown dtype": safetensors_bytes(_entries(dtype="F8_E4M3"), bytes(8)),
    "dtype not str": safetensors_bytes(_entries(dtype=3), bytes(8)),
    "missing shape": safetensors_bytes({"t": {"dtype": "F32", "data_offsets": [0, 8]}}, bytes(8)),
    "entry not dict": safetensors_bytes({"t": [1, 2]}, bytes(8)),
    "negative dim": safetensors_bytes(_entries(shape=[-2]), bytes(8)),
    "float dim": safetensors_bytes(_entries(shape=[2.0]), bytes(8)),
    "bool dim": safetensors_bytes(_entries(shape=[True, 2]), bytes(8)),
    "shape not list": safetensors_bytes(_entries(shape="2"), bytes(8)),
    "overflowing shape": safetensors_bytes(_entries(shape=[2 ** 40, 2 ** 40]), bytes(8)),
    "too many dims": safetensors_bytes(_entries(shape=[1] * 100), bytes(8)),
    "offsets past end": safetensors_bytes(_entries(data_offsets=[0, 16], shape=[4]), bytes(8)),
    "offsets reversed": safetensors_bytes(_entries(data_offsets=[8, 0]), bytes(8)),
    "negative offset": safetensors_bytes(_entries(data_offsets=[-8, 0]), bytes(8)),
    "offsets not pair": safetensors_bytes(_entries(data_offsets=[0]), bytes(8)),
    "offsets strings": safetensors_bytes(_entries(data_offsets=["0", "8"]), bytes(8)),
    "size mismatch": safetensors_bytes(_entries(shape=[3]), bytes(8)),
    "overlap": safetensors_bytes({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                  "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12)),
    "duplicate name": struct.pack("<Q", len(DUPLICATE)) + DUPLICATE + b"\0",
    "metadata not str": safetensors_bytes({}, b"", metadata={"a": 1}),
    "metadata not dict": safetensors_bytes({}, b"", metadata=["a"]),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_malformed_files_raise_format_error(name):
    with pytest.raises(FormatError, match="byte"):
        parse_safetensors(BAD_FILES[name])


def test_duplicate_builder_is_well_formed_apart_from_the_duplicate():
    raw = BAD_FILES["duplicate name"]
    assert json.loads(raw[8:8 + struct.unpack_from("<Q", raw)[0]]) is not None  # plain json accepts it


def test_empty_and_directory_paths(tmp_path):
    (tmp_path / "empty.safetensors").write_bytes(b"")
    with pytest.raises(FormatError):
        safe_load(tmp_path / "empty.safetensors")
    with pytest.raises(FormatError):
        safe_load(tmp_path)


def test_every_truncation_fails():
    raw = good_file()
    for n in range(len(raw)):
        with pytest.raises(FormatError):
            parse_safetensors(raw[:n])


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_corruption_parses_or_raises_format_error(data):
    raw = bytearray(good_file())
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        parse_safetensors(bytes(raw))
    except FormatError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=5), st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8), max_size=4), st.binary(max_size=64))
def test_arbitrary_json_headers_never_crash(header, data):
    text = json.dumps(header).encode()
    try:
        parse_safetensors(struct.pack("<Q", len(text)) + text + data)
    except FormatError:
        pass
