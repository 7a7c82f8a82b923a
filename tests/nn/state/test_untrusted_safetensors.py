"""Hostile safetensors headers: empty shapes whose other dims overflow must be refused at parse time, because
every consumer that multiplies the nonzero dims (numpy, C) would overflow where Python does not."""
import pytest
from state_builders import safetensors_bytes

from baregrad.errors import FormatError
from baregrad.nn.state import parse_safetensors


@pytest.mark.parametrize("shape", [[0, 2 ** 63 - 1], [2 ** 62, 0], [0, 2 ** 40, 2 ** 30]])
def test_empty_shape_with_overflowing_dims_is_refused(shape):
    data = safetensors_bytes({"x": {"dtype": "F32", "shape": shape, "data_offsets": [0, 0]}}, b"")
    with pytest.raises(FormatError, match=r"tensor 'x'.*spans more than 2\*\*63-1 bytes"):
        parse_safetensors(data)


def test_empty_shape_with_ordinary_dims_still_parses():
    data = safetensors_bytes({"x": {"dtype": "F32", "shape": [0, 1 << 20], "data_offsets": [0, 0]}}, b"")
    assert parse_safetensors(data).entries["x"].shape == (0, 1 << 20)
