"""QMD field tables (numbers from clc6c0qmd.h / clcbc0qmd.h) and encode/decode."""
from __future__ import annotations

import pytest

from baregrad.device.nv.qmd import (
    QMD_V3,
    QMD_V4,
    LaunchDesc,
    Qmd,
    decode_launch,
    encode_launch,
    qmd_major_version,
    smem_config,
)


@pytest.mark.parametrize("layout,name,bits", [
    (QMD_V3, "CTA_RASTER_WIDTH", (415, 384)), (QMD_V3, "CTA_THREAD_DIMENSION0", (607, 592)),
    (QMD_V3, "PROGRAM_ADDRESS_UPPER", (1584, 1568)), (QMD_V3, "REGISTER_COUNT_V", (656, 648)),
    (QMD_V3, "CONSTANT_BUFFER_ADDR_LOWER_1", (1119, 1088)), (QMD_V3, "CONSTANT_BUFFER_SIZE_SHIFTED4_0", (1087, 1075)),
    (QMD_V3, "QMD_MAJOR_VERSION", (583, 580)), (QMD_V3, "SHARED_MEMORY_SIZE", (561, 544)),
    (QMD_V4, "GRID_WIDTH", (1055, 1024)), (QMD_V4, "CTA_THREAD_DIMENSION2", (1199, 1184)),
    (QMD_V4, "PROGRAM_ADDRESS_LOWER", (1247, 1216)), (QMD_V4, "REGISTER_COUNT", (1208, 1200)),
    (QMD_V4, "CONSTANT_BUFFER_ADDR_UPPER_SHIFTED6_2", (1714, 1696)), (QMD_V4, "CONSTANT_BUFFER_VALID_3", (428, 428)),
    (QMD_V4, "QMD_TYPE", (25, 23)), (QMD_V4, "SHARED_MEMORY_SIZE", (601, 584)),
])
def test_field_positions(layout, name, bits):
    assert layout.fields[name] == bits


@pytest.mark.parametrize("layout", [QMD_V3, QMD_V4])
def test_fields_fit_and_do_not_overlap(layout):
    spans = sorted((lo, hi, name) for name, (hi, lo) in layout.fields.items())
    for (lo1, hi1, n1), (lo2, _hi2, n2) in zip(spans, spans[1:]):
        assert hi1 < lo2, f"{n1} overlaps {n2}"
    assert spans[-1][1] < layout.size_bytes * 8


def test_set_get_and_width_check():
    q = Qmd(QMD_V4)
    q.set("GRID_HEIGHT", 0xFFFF)
    q.set("CTA_THREAD_DIMENSION0", 1024)
    assert q.get("GRID_HEIGHT") == 0xFFFF and q.get("CTA_THREAD_DIMENSION0") == 1024 and q.get("GRID_WIDTH") == 0
    with pytest.raises(ValueError, match="GRID_HEIGHT"):
        q.set("GRID_HEIGHT", 0x10000)
    raw = q.to_bytes()
    assert len(raw) == QMD_V4.size_bytes and Qmd(QMD_V4, raw).get("GRID_HEIGHT") == 0xFFFF


@pytest.mark.parametrize("layout", [QMD_V3, QMD_V4])
def test_launch_roundtrip(layout):
    desc = LaunchDesc(program_va=0x10_0020_0380, grid=(70000, 3, 2), block=(128, 2, 1),
                      cbufs={0: (0x10_0040_0100, 0x22C), 3: (0x10_0040_1000, 0x40)}, shared_bytes=0x800, registers=40,
                      local_bytes_per_thread=160, sass_version=0x90, max_shared_config=58)
    raw = encode_launch(layout, desc)
    assert qmd_major_version(raw) == layout.major
    back = decode_launch(raw)
    assert (back.program_va, back.grid, back.block, back.registers) == (desc.program_va, desc.grid, desc.block, 40)
    assert back.cbufs == {0: (0x10_0040_0100, 0x230), 3: (0x10_0040_1000, 0x40)}  # sizes round up to 16
    assert back.shared_bytes == 0x800 and back.local_bytes_per_thread == 160 and back.max_shared_config == 58


def test_v4_constant_buffer_alignment():
    desc = LaunchDesc(program_va=0x1000, grid=(1, 1, 1), block=(1, 1, 1), cbufs={0: (0x10_0000_0010, 0x100)})
    with pytest.raises(ValueError, match="aligned"):
        encode_launch(QMD_V4, desc)
    assert decode_launch(encode_launch(QMD_V3, desc)).cbufs[0][0] == 0x10_0000_0010


def test_minimum_shared_memory_and_config():
    raw = encode_launch(QMD_V3, LaunchDesc(program_va=0x1000, grid=(1, 1, 1), block=(1, 1, 1), shared_bytes=0))
    assert decode_launch(raw).shared_bytes == 0x400  # the hardware wants at least 1 KiB
    assert smem_config(0) == 9 and smem_config(33 * 1024) == 17 and smem_config(100 * 1024) == 26
    assert smem_config(228 * 1024) == 58


@pytest.mark.parametrize("shared,target", [(0, 9), (0x400, 9), (37888, 58)])
def test_carveout_target(shared, target):
    """A kernel using shared memory asks for the largest carveout (most blocks per SM); one that does not keeps
    the smallest (32 KiB), leaving the SM's memory to L1. libcuda wrote MIN = TARGET = 9 for a plain kernel."""
    raw = encode_launch(QMD_V4, LaunchDesc(program_va=0x1000, grid=(1, 1, 1), block=(1, 1, 1), shared_bytes=shared,
                                           max_shared_config=58))
    q = Qmd(QMD_V4, raw)
    assert q.get("TARGET_SM_CONFIG_SHARED_MEM_SIZE") == target and q.get("MAX_SM_CONFIG_SHARED_MEM_SIZE") == 58
    assert q.get("MIN_SM_CONFIG_SHARED_MEM_SIZE") == smem_config(max(shared, 0x400))


def test_register_count_rounds_to_eight():
    raw = encode_launch(QMD_V4, LaunchDesc(program_va=0x1000, grid=(1, 1, 1), block=(1, 1, 1), registers=12))
    assert Qmd(QMD_V4, raw).get("REGISTER_COUNT") == 16  # as libcuda writes it for a 12-register kernel
