"""Cubin (CUDA ELF) parsing, on kernels nvcc compiles here."""
from __future__ import annotations

import struct

import pytest

from baregrad.device.nv.cubin import KernelParam, parse_cubin
from baregrad.errors import FormatError


def test_add_sm90(cubin_sm90):
    k = parse_cubin(cubin_sm90, "add")
    assert k.sm == 90 and k.param_base == 0x210 and k.param_bytes == 28 and k.cbuf0_bytes == 0x210 + 28
    assert k.params == [KernelParam(0, 0, 8), KernelParam(1, 8, 8), KernelParam(2, 16, 8), KernelParam(3, 24, 4)]
    assert k.entry_offset % 128 == 0 and 0 < k.code_size <= len(k.image) - k.entry_offset
    assert 4 <= k.registers <= 64 and k.shared_bytes == 0 and k.local_bytes == 0


def test_interleaved_params_shared_memory_sm90(cubin_sm90):
    k = parse_cubin(cubin_sm90, "scale")
    assert k.params == [KernelParam(0, 0, 8), KernelParam(1, 8, 4), KernelParam(2, 16, 8), KernelParam(3, 24, 4)]
    assert k.shared_bytes >= 256 * 4


def test_local_memory(cubin_sm90):
    assert parse_cubin(cubin_sm90, "spill").local_bytes >= 64 * 4


def test_sm86_param_base(cubin_sm86):
    k = parse_cubin(cubin_sm86, "add")
    assert k.sm == 86 and k.param_base == 0x160 and k.cbuf0_bytes == 0x160 + 28


def test_image_holds_the_code(cubin_sm90):
    k = parse_cubin(cubin_sm90, "add")
    code = k.image[k.entry_offset:k.entry_offset + k.code_size]
    assert code in cubin_sm90 and any(code)
    assert k.relocated_image(0x10_0000_0000) == k.image  # nothing to relocate in these kernels


def test_bad_input(cubin_sm90):
    with pytest.raises(FormatError, match="ELF"):
        parse_cubin(b"not an elf at all" * 8, "add")
    with pytest.raises(FormatError, match="no kernel named 'nope'.*add"):
        parse_cubin(cubin_sm90, "nope")
    with pytest.raises(FormatError):
        parse_cubin(cubin_sm90[:200], "add")
    wrong_machine = bytearray(cubin_sm90)
    struct.pack_into("<H", wrong_machine, 0x12, 62)
    with pytest.raises(FormatError, match="EM_CUDA"):
        parse_cubin(bytes(wrong_machine), "add")
