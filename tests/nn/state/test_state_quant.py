"""GGML block layouts and the reference dequantizer: hand-built blocks with known values, and random blocks
checked against the gguf package's NumPy dequantization."""
import struct

import numpy as np
import pytest

from baregrad.errors import FormatError
from baregrad.nn.state import LAYOUTS, GGMLType, dequantize_reference
from baregrad.nn.state.quant import layout, unpack_k4_scales


def test_layout_fields_fill_each_block_exactly():
    for lay in LAYOUTS.values():
        spans = sorted((f.offset, f.offset + f.nbytes) for f in lay.fields)
        assert spans[0][0] == 0 and spans[-1][1] == lay.type_size
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])), lay.ggml_type


def test_q4_0_nibble_order():
    qs = bytes((hi << 4) | lo for lo, hi in zip(range(16), range(15, -1, -1)))
    values = dequantize_reference(GGMLType.Q4_0, struct.pack("<e", 2.0) + qs, 32)
    assert values == [2.0 * (j - 8) for j in range(16)] + [2.0 * (15 - j - 8) for j in range(16)]


def test_q4_1_scale_and_min():
    qs = bytes([0x21] * 16)  # low nibble 1, high nibble 2
    values = dequantize_reference(GGMLType.Q4_1, struct.pack("<ee", 0.5, -1.0) + qs, 32)
    assert values == [-0.5] * 16 + [0.0] * 16


def test_q5_0_high_bits():
    qh = 1 | (1 << 16)  # the 5th bit of element 0 and of element 16
    values = dequantize_reference(GGMLType.Q5_0, struct.pack("<eI", 1.0, qh) + bytes(16), 32)
    assert values[0] == 0.0 and values[16] == 0.0 and values[1] == -16.0 and values[17] == -16.0


def test_q8_0_signed_values():
    block = struct.pack("<e32b", 0.25, *range(-16, 16))
    assert dequantize_reference(GGMLType.Q8_0, block * 2, 64) == [0.25 * i for i in range(-16, 16)] * 2


def test_k4_scale_unpacking():
    s = bytes([0xC1, 0x82, 0x43, 0x04, 0xC5, 0x86, 0x47, 0x08, 0x9A, 0xBC, 0xDE, 0xF0])
    sc, mn = unpack_k4_scales(s)
    assert sc[:4] == [1, 2, 3, 4] and mn[:4] == [5, 6, 7, 8]
    assert sc[4] == (0x9A & 0xF) | (3 << 4) and mn[4] == (0x9A >> 4) | (3 << 4)
    assert sc[7] == (0xF0 & 0xF) | (0 << 4) and mn[7] == (0xF0 >> 4) | (0 << 4)


def test_q4_k_hand_built_block():
    scales = bytes([1, 2, 3, 4, 1, 1, 1, 1, 0x10, 0x10, 0x10, 0x10])  # sc 1..4 then 0, mins 1 then 1
    qs = bytes([0x53] * 128)  # low nibble 3, high nibble 5
    values = dequantize_reference(GGMLType.Q4_K, struct.pack("<ee", 1.0, 0.5) + scales + qs, 256)
    assert values[:32] == [1 * 3 - 0.5] * 32 and values[32:64] == [2 * 5 - 0.5] * 32
    assert values[128:160] == [0 * 3 - 0.5] * 32


def test_q6_k_scale_index_is_element_over_16():
    scales = struct.pack("<16b", *range(1, 17))
    block = bytes(128) + bytes(64) + scales + struct.pack("<e", 1.0)  # every q is 0 -> value -32 * scale
    values = dequantize_reference(GGMLType.Q6_K, block, 256)
    assert values == [-32.0 * (e // 16 + 1) for e in range(256)]


def test_plain_types():
    assert dequantize_reference(GGMLType.F16, struct.pack("<2e", 1.5, -2.0), 2) == [1.5, -2.0]
    assert dequantize_reference(GGMLType.BF16, struct.pack("<2H", 0x3FC0, 0xC000), 2) == [1.5, -2.0]
    assert dequantize_reference(GGMLType.I32, struct.pack("<2i", -7, 9), 2) == [-7.0, 9.0]


def test_errors():
    with pytest.raises(FormatError, match="type id 99"):
        layout(99)
    with pytest.raises(FormatError, match="IQ2_XXS"):
        layout(GGMLType.IQ2_XXS)
    with pytest.raises(FormatError):
        dequantize_reference(GGMLType.Q8_0, bytes(34), 33)
    with pytest.raises(FormatError):
        dequantize_reference(GGMLType.Q8_0, bytes(33), 32)


def random_blocks(lay, n_blocks, rng):
    raw = rng.integers(0, 256, size=n_blocks * lay.type_size, dtype=np.uint8)
    for field in lay.fields:
        if field.fmt == "e":  # keep scales finite so both sides compute the same numbers
            for b in range(n_blocks):
                at = b * lay.type_size + field.offset
                raw[at:at + 2] = np.frombuffer(np.float16(rng.uniform(-2, 2)).tobytes(), np.uint8)
    return raw


@pytest.mark.parametrize("ggml_type", [t for t, lay in LAYOUTS.items() if lay.block_size > 1])
def test_matches_gguf_package(ggml_type):
    gguf = pytest.importorskip("gguf")
    from gguf.quants import dequantize
    lay = LAYOUTS[ggml_type]
    ref_type = gguf.GGMLQuantizationType[ggml_type.name]
    assert int(ref_type) == int(ggml_type)
    assert gguf.GGML_QUANT_SIZES[ref_type] == (lay.block_size, lay.type_size)
    raw = random_blocks(lay, 4, np.random.default_rng(int(ggml_type)))
    ours = np.array(dequantize_reference(ggml_type, raw.tobytes(), 4 * lay.block_size), np.float32)
    assert np.array_equal(ours, dequantize(raw, ref_type).reshape(-1))


def test_type_ids_match_gguf_package():
    gguf = pytest.importorskip("gguf")
    for t in GGMLType:
        assert gguf.GGMLQuantizationType[t.name] == t.value
