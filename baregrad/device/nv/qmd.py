"""Queue Meta Data (QMD): the launch descriptor the compute engine reads, as field tables plus encode/decode.

Field positions are (hi_bit, lo_bit) in the QMD bit string, copied as numbers from NVIDIA open-gpu-doc
classes/compute/clc6c0qmd.h (NVC6C0_QMDV03_00_*, Ampere/Ada) and clcbc0qmd.h (NVCBC0_QMDV04_00_*, Hopper).
Only the fields this driver writes or the mock reads are listed. Both versions keep QMD_MAJOR_VERSION at 583:580,
which is how a reader tells them apart.
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass, field, replace

Field = tuple[int, int]  # (hi_bit, lo_bit), inclusive


def _indexed(name: str, hi: int, lo: int, stride: int, count: int) -> dict[str, Field]:
    """Expand an indexed header field MW((hi+i*stride):(lo+i*stride)) into NAME_0 .. NAME_{count-1}."""
    return {f"{name}_{i}": (hi + i * stride, lo + i * stride) for i in range(count)}


QMD_V3_FIELDS: dict[str, Field] = {
    "QMD_GROUP_ID": (133, 128),
    "SM_GLOBAL_CACHING_ENABLE": (134, 134),
    "INVALIDATE_TEXTURE_HEADER_CACHE": (186, 186),
    "INVALIDATE_TEXTURE_SAMPLER_CACHE": (187, 187),
    "INVALIDATE_TEXTURE_DATA_CACHE": (188, 188),
    "INVALIDATE_SHADER_DATA_CACHE": (189, 189),
    "INVALIDATE_INSTRUCTION_CACHE": (190, 190),
    "INVALIDATE_SHADER_CONSTANT_CACHE": (191, 191),
    "PROGRAM_PREFETCH_ADDR_LOWER_SHIFTED": (287, 256),
    "CWD_MEMBAR_TYPE": (369, 368),
    "API_VISIBLE_CALL_LIMIT": (378, 378),
    "SAMPLER_INDEX": (382, 382),
    "CTA_RASTER_WIDTH": (415, 384),
    "CTA_RASTER_HEIGHT": (431, 416),
    "CTA_RASTER_DEPTH": (463, 448),
    "SHARED_MEMORY_SIZE": (561, 544),
    "MIN_SM_CONFIG_SHARED_MEM_SIZE": (567, 562),
    "MAX_SM_CONFIG_SHARED_MEM_SIZE": (574, 569),
    "QMD_VERSION": (579, 576),
    "QMD_MAJOR_VERSION": (583, 580),
    "CTA_THREAD_DIMENSION0": (607, 592),
    "CTA_THREAD_DIMENSION1": (623, 608),
    "CTA_THREAD_DIMENSION2": (639, 624),
    **_indexed("CONSTANT_BUFFER_VALID", 640, 640, 1, 8),
    "REGISTER_COUNT_V": (656, 648),
    "TARGET_SM_CONFIG_SHARED_MEM_SIZE": (662, 657),
    "SHADER_LOCAL_MEMORY_LOW_SIZE": (759, 736),
    "BARRIER_COUNT": (767, 763),
    "RELEASE0_ADDRESS_LOWER": (799, 768),
    "RELEASE0_ADDRESS_UPPER": (807, 800),
    "RELEASE0_MEMBAR_TYPE": (819, 819),
    "RELEASE0_ENABLE": (823, 823),
    "RELEASE0_PAYLOAD64B": (829, 829),
    "RELEASE0_STRUCTURE_SIZE": (831, 830),
    "RELEASE0_PAYLOAD_LOWER": (863, 832),
    "RELEASE0_PAYLOAD_UPPER": (895, 864),
    **_indexed("CONSTANT_BUFFER_ADDR_LOWER", 1055, 1024, 64, 8),
    **_indexed("CONSTANT_BUFFER_ADDR_UPPER", 1072, 1056, 64, 8),
    **_indexed("CONSTANT_BUFFER_PREFETCH_POST", 1073, 1073, 64, 8),
    **_indexed("CONSTANT_BUFFER_INVALIDATE", 1074, 1074, 64, 8),
    **_indexed("CONSTANT_BUFFER_SIZE_SHIFTED4", 1087, 1075, 64, 8),
    "PROGRAM_ADDRESS_LOWER": (1567, 1536),
    "PROGRAM_ADDRESS_UPPER": (1584, 1568),
    "SHADER_LOCAL_MEMORY_HIGH_SIZE": (1623, 1600),
    "PROGRAM_PREFETCH_ADDR_UPPER_SHIFTED": (1640, 1632),
    "PROGRAM_PREFETCH_SIZE": (1649, 1641),
    "SASS_VERSION": (1663, 1656),
}

QMD_V4_FIELDS: dict[str, Field] = {
    "QMD_GROUP_ID": (21, 16),
    "QMD_TYPE": (25, 23),
    **_indexed("RELEASE_ENABLE", 320, 320, 16, 3),
    **_indexed("RELEASE_STRUCTURE_SIZE", 322, 321, 16, 3),
    **_indexed("RELEASE_MEMBAR_TYPE", 323, 323, 16, 3),
    **_indexed("RELEASE_PAYLOAD64B", 332, 332, 16, 3),
    **_indexed("CONSTANT_BUFFER_VALID", 416, 416, 4, 8),
    **_indexed("CONSTANT_BUFFER_PREFETCH", 418, 417, 4, 8),
    **_indexed("CONSTANT_BUFFER_INVALIDATE", 419, 419, 4, 8),
    "SHADER_LOCAL_MEMORY_LOW_SIZE": (535, 512),
    "SASS_VERSION": (543, 536),
    "SHADER_LOCAL_MEMORY_HIGH_SIZE": (567, 544),
    "API_VISIBLE_CALL_LIMIT": (568, 568),
    "SAMPLER_INDEX": (569, 569),
    "QMD_MINOR_VERSION": (579, 576),
    "QMD_MAJOR_VERSION": (583, 580),
    "SHARED_MEMORY_SIZE": (601, 584),
    "INVALIDATE_TEXTURE_HEADER_CACHE": (602, 602),
    "INVALIDATE_TEXTURE_SAMPLER_CACHE": (603, 603),
    "INVALIDATE_TEXTURE_DATA_CACHE": (604, 604),
    "INVALIDATE_SHADER_DATA_CACHE": (605, 605),
    "INVALIDATE_INSTRUCTION_CACHE": (606, 606),
    "INVALIDATE_SHADER_CONSTANT_CACHE": (607, 607),
    "MIN_SM_CONFIG_SHARED_MEM_SIZE": (613, 608),
    "MAX_SM_CONFIG_SHARED_MEM_SIZE": (619, 614),
    "TARGET_SM_CONFIG_SHARED_MEM_SIZE": (625, 620),
    "RELEASE_SEMAPHORE0_ADDR_LOWER": (671, 640),
    "RELEASE_SEMAPHORE0_ADDR_UPPER": (696, 672),
    "RELEASE_SEMAPHORE0_PAYLOAD_LOWER": (735, 704),
    "RELEASE_SEMAPHORE0_PAYLOAD_UPPER": (767, 736),
    "GRID_WIDTH": (1055, 1024),
    "GRID_HEIGHT": (1071, 1056),
    "GRID_DEPTH": (1103, 1088),
    "CWD_MEMBAR_TYPE": (1137, 1136),
    "CTA_THREAD_DIMENSION0": (1167, 1152),
    "CTA_THREAD_DIMENSION1": (1183, 1168),
    "CTA_THREAD_DIMENSION2": (1199, 1184),
    "REGISTER_COUNT": (1208, 1200),
    "BARRIER_COUNT": (1215, 1211),
    "PROGRAM_ADDRESS_LOWER": (1247, 1216),
    "PROGRAM_ADDRESS_UPPER": (1272, 1248),
    "PROGRAM_PREFETCH_ADDR_LOWER_SHIFTED": (1375, 1344),
    "PROGRAM_PREFETCH_ADDR_UPPER_SHIFTED": (1392, 1376),
    "PROGRAM_PREFETCH_SIZE": (1401, 1393),
    **_indexed("CONSTANT_BUFFER_ADDR_LOWER_SHIFTED6", 1567, 1536, 64, 8),
    **_indexed("CONSTANT_BUFFER_ADDR_UPPER_SHIFTED6", 1586, 1568, 64, 8),
    **_indexed("CONSTANT_BUFFER_SIZE_SHIFTED4", 1599, 1587, 64, 8),
}

QMD_TYPE_GRID_CTA = 2          # NVCBC0_QMDV04_00_QMD_TYPE_GRID_CTA
CWD_MEMBAR_TYPE_L1_SYSMEMBAR = 1
QMD_MAJOR_VERSION_FIELD: Field = (583, 580)


@dataclass(frozen=True)
class QmdLayout:
    """One QMD version: its size, field table, and the names that hold each launch quantity."""
    major: int
    size_bytes: int
    fields: dict[str, Field]
    grid: tuple[str, str, str]
    block: tuple[str, str, str]
    register_count: str
    cbuf_addr_shift: int  # constant buffer address is stored >> this many bits
    cbuf_lower: str       # prefix of the indexed lower/upper address fields
    cbuf_upper: str


QMD_V3 = QmdLayout(major=3, size_bytes=0x100, fields=QMD_V3_FIELDS,
                   grid=("CTA_RASTER_WIDTH", "CTA_RASTER_HEIGHT", "CTA_RASTER_DEPTH"),
                   block=("CTA_THREAD_DIMENSION0", "CTA_THREAD_DIMENSION1", "CTA_THREAD_DIMENSION2"),
                   register_count="REGISTER_COUNT_V", cbuf_addr_shift=0,
                   cbuf_lower="CONSTANT_BUFFER_ADDR_LOWER", cbuf_upper="CONSTANT_BUFFER_ADDR_UPPER")
QMD_V4 = QmdLayout(major=4, size_bytes=0x180, fields=QMD_V4_FIELDS,
                   grid=("GRID_WIDTH", "GRID_HEIGHT", "GRID_DEPTH"),
                   block=("CTA_THREAD_DIMENSION0", "CTA_THREAD_DIMENSION1", "CTA_THREAD_DIMENSION2"),
                   register_count="REGISTER_COUNT", cbuf_addr_shift=6,
                   cbuf_lower="CONSTANT_BUFFER_ADDR_LOWER_SHIFTED6", cbuf_upper="CONSTANT_BUFFER_ADDR_UPPER_SHIFTED6")
QMD_LAYOUTS = {3: QMD_V3, 4: QMD_V4}
QMD_SLOT_BYTES = 0x200  # every QMD sits in a 256-byte aligned slot this big (SEND_PCAS_A takes address >> 8)


class Qmd:
    """A QMD being built or read: named-field access over a little-endian bit string."""

    def __init__(self, layout: QmdLayout, data: bytes | None = None):
        self.layout = layout
        self.value = int.from_bytes(data[:layout.size_bytes], "little") if data is not None else 0

    def set(self, name: str, value: int) -> None:
        hi, lo = self.layout.fields[name]
        width = hi - lo + 1
        if not 0 <= value < (1 << width):
            raise ValueError(f"QMD v{self.layout.major} field {name} is {width} bits; {value:#x} does not fit")
        mask = ((1 << width) - 1) << lo
        self.value = (self.value & ~mask) | (value << lo)

    def get(self, name: str) -> int:
        hi, lo = self.layout.fields[name]
        return (self.value >> lo) & ((1 << (hi - lo + 1)) - 1)

    def set_split64(self, lower: str, upper: str, value: int) -> None:
        """Write a 64-bit quantity held as a 32-bit lower field and a narrower upper field."""
        self.set(lower, value & 0xFFFFFFFF)
        self.set(upper, value >> 32)

    def get_split64(self, lower: str, upper: str) -> int:
        return self.get(lower) | (self.get(upper) << 32)

    def to_bytes(self) -> bytes:
        return self.value.to_bytes(self.layout.size_bytes, "little")


def qmd_major_version(data: bytes) -> int:
    """QMD_MAJOR_VERSION of raw QMD bytes (same bit position in v3 and v4)."""
    hi, lo = QMD_MAJOR_VERSION_FIELD
    return (int.from_bytes(data[:hi // 8 + 1], "little") >> lo) & ((1 << (hi - lo + 1)) - 1)


@dataclass
class LaunchDesc:
    """The launch quantities a QMD carries, version independent."""
    program_va: int
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    cbufs: dict[int, tuple[int, int]] = field(default_factory=dict)  # index -> (va, size)
    shared_bytes: int = 0
    registers: int = 0
    local_bytes_per_thread: int = 0
    sass_version: int = 0
    max_shared_config: int = 0


# Shared-memory carveouts (KiB) an SM can be split into, ascending. libcuda asks for at least 32 KiB (seen in the
# QMD it wrote on an H200 for a kernel with no shared memory: MIN/TARGET config 9 = 32 KiB); a smaller one (4 KiB,
# config 2) made that GPU raise a GR exception on launch.
SMEM_CARVEOUTS_KIB = (32, 64, 100, 132, 164, 196, 228)
REGISTER_GRANULE = 8  # libcuda rounds a kernel's register count up to a multiple of 8 in the QMD (12 -> 16)


def smem_config(nbytes: int) -> int:
    """The QMD's SM carveout code for a block needing `nbytes` of shared memory: KiB / 4 + 1 of the smallest
    supported carveout that holds it."""
    kib = next((c for c in SMEM_CARVEOUTS_KIB if c * 1024 >= nbytes), SMEM_CARVEOUTS_KIB[-1])
    return kib // 4 + 1


def encode_launch(layout: QmdLayout, desc: LaunchDesc) -> bytes:
    """Build a QMD for one grid launch."""
    q = Qmd(layout)
    _set_constant_fields(q, layout)
    for name, value in zip(layout.grid, desc.grid):
        q.set(name, value)
    for name, value in zip(layout.block, desc.block):
        q.set(name, value)
    _set_program(q, desc)
    _set_resources(q, layout, desc)
    for index, (va, size) in desc.cbufs.items():
        _set_cbuf(q, layout, index, va, size)
    return q.to_bytes()


def _set_constant_fields(q: Qmd, layout: QmdLayout) -> None:
    q.set("QMD_MAJOR_VERSION", layout.major)
    q.set("QMD_GROUP_ID", 0x3F)
    if layout.major >= 4:
        q.set("QMD_TYPE", QMD_TYPE_GRID_CTA)
    else:
        q.set("SM_GLOBAL_CACHING_ENABLE", 1)
    # Invalidate caches at launch so buffers and constants written since the last launch are seen.
    for name in ("INVALIDATE_TEXTURE_HEADER_CACHE", "INVALIDATE_TEXTURE_SAMPLER_CACHE", "INVALIDATE_TEXTURE_DATA_CACHE",
                 "INVALIDATE_SHADER_DATA_CACHE", "INVALIDATE_INSTRUCTION_CACHE", "INVALIDATE_SHADER_CONSTANT_CACHE"):
        q.set(name, 1)
    q.set("CWD_MEMBAR_TYPE", CWD_MEMBAR_TYPE_L1_SYSMEMBAR)
    q.set("API_VISIBLE_CALL_LIMIT", 1)  # NO_CHECK
    q.set("SAMPLER_INDEX", 1)           # VIA_HEADER_INDEX


def _set_program(q: Qmd, desc: LaunchDesc) -> None:
    q.set_split64("PROGRAM_ADDRESS_LOWER", "PROGRAM_ADDRESS_UPPER", desc.program_va)
    q.set("PROGRAM_PREFETCH_ADDR_LOWER_SHIFTED", (desc.program_va >> 8) & 0xFFFFFFFF)
    q.set("PROGRAM_PREFETCH_ADDR_UPPER_SHIFTED", desc.program_va >> 40)
    q.set("SASS_VERSION", desc.sass_version)


def _set_resources(q: Qmd, layout: QmdLayout, desc: LaunchDesc) -> None:
    q.set(layout.register_count, -(-desc.registers // REGISTER_GRANULE) * REGISTER_GRANULE)
    q.set("BARRIER_COUNT", 1)
    shared = max(0x400, (desc.shared_bytes + 0xFF) & ~0xFF)
    q.set("SHARED_MEMORY_SIZE", shared)
    config = smem_config(shared)
    top = max(config, desc.max_shared_config)
    q.set("MIN_SM_CONFIG_SHARED_MEM_SIZE", config)
    # a kernel that really uses shared memory wants the carveout that fits the most blocks per SM (with only
    # the smallest one that fits a block, a 37 KiB matmul tile ran one block per SM: 0.6x the CUDA device);
    # one that does not keeps the rest of the SM's memory as L1 cache
    q.set("TARGET_SM_CONFIG_SHARED_MEM_SIZE", top if desc.shared_bytes > 0x400 else config)
    q.set("MAX_SM_CONFIG_SHARED_MEM_SIZE", top)
    q.set("SHADER_LOCAL_MEMORY_HIGH_SIZE", desc.local_bytes_per_thread)


def _set_cbuf(q: Qmd, layout: QmdLayout, index: int, va: int, size: int) -> None:
    if va % (1 << max(layout.cbuf_addr_shift, 4)):
        raise ValueError(f"constant buffer {index} at 0x{va:x} is not aligned for QMD v{layout.major}")
    q.set_split64(f"{layout.cbuf_lower}_{index}", f"{layout.cbuf_upper}_{index}", va >> layout.cbuf_addr_shift)
    q.set(f"CONSTANT_BUFFER_SIZE_SHIFTED4_{index}", (size + 15) >> 4)
    q.set(f"CONSTANT_BUFFER_VALID_{index}", 1)
    q.set(f"CONSTANT_BUFFER_INVALIDATE_{index}", 1)


def decode_launch(data: bytes) -> LaunchDesc:
    """Read the launch quantities back out of a QMD (the mock GPU does this)."""
    layout = QMD_LAYOUTS.get(qmd_major_version(data))
    if layout is None:
        raise ValueError(f"unknown QMD major version {qmd_major_version(data)}")
    q = Qmd(layout, data)
    cbufs = {}
    for i in range(8):
        if q.get(f"CONSTANT_BUFFER_VALID_{i}"):
            va = q.get_split64(f"{layout.cbuf_lower}_{i}", f"{layout.cbuf_upper}_{i}") << layout.cbuf_addr_shift
            cbufs[i] = (va, q.get(f"CONSTANT_BUFFER_SIZE_SHIFTED4_{i}") << 4)
    return LaunchDesc(program_va=q.get_split64("PROGRAM_ADDRESS_LOWER", "PROGRAM_ADDRESS_UPPER"),
                      grid=tuple(q.get(n) for n in layout.grid), block=tuple(q.get(n) for n in layout.block),
                      cbufs=cbufs, shared_bytes=q.get("SHARED_MEMORY_SIZE"), registers=q.get(layout.register_count),
                      local_bytes_per_thread=q.get("SHADER_LOCAL_MEMORY_HIGH_SIZE"), sass_version=q.get("SASS_VERSION"),
                      max_shared_config=q.get("MAX_SM_CONFIG_SHARED_MEM_SIZE"))


class QmdTemplate:
    """A launch's QMD with everything but grid, block and constant bank 0 filled in, so a launch costs a few ORs.

    Every per-launch field sits inside one 32-bit word in both QMD versions, so a launch copies the template's
    words and ORs nine values into place."""

    def __init__(self, layout: QmdLayout, desc: LaunchDesc):
        self.layout = layout
        fixed = replace(desc, grid=(0, 0, 0), block=(0, 0, 0), cbufs={i: v for i, v in desc.cbufs.items() if i})
        q = Qmd(layout, encode_launch(layout, fixed))
        q.set("CONSTANT_BUFFER_VALID_0", 1)
        q.set("CONSTANT_BUFFER_INVALIDATE_0", 1)
        self.base = q.value
        self.words = array("I", q.to_bytes())
        names = (*layout.grid, *layout.block, f"{layout.cbuf_lower}_0", f"{layout.cbuf_upper}_0",
                 "CONSTANT_BUFFER_SIZE_SHIFTED4_0")
        self.slots = []
        for name in names:
            hi, lo = layout.fields[name]
            if hi // 32 != lo // 32:
                raise ValueError(f"QMD v{layout.major} field {name} spans two words")
            self.slots.append((lo // 32, lo % 32))
        self._shaped: dict[tuple, array] = {}

    @property
    def cb0_address_slots(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """(word index, bit shift) of constant bank 0's address, lower then upper part."""
        return self.slots[6], self.slots[7]

    def shaped(self, grid: tuple[int, int, int], block: tuple[int, int, int], cb_size: int) -> array:
        """The QMD words of one shape, constant bank 0's address left zero (the caller must not modify them)."""
        key = (grid, block, cb_size)
        words = self._shaped.get(key)
        if words is None:  # a kernel is launched with few shapes: OR those fields in once per shape
            words = array("I", self.words)
            for (index, shift), value in zip(self.slots[:6] + self.slots[8:], (*grid, *block, (cb_size + 15) >> 4)):
                words[index] |= value << shift
            self._shaped[key] = words
        return words

    def build(self, grid: tuple[int, int, int], block: tuple[int, int, int], cb_va: int, cb_size: int) -> bytes:
        """QMD bytes for one launch; the caller has range-checked grid and block and aligned cb_va."""
        addr = cb_va >> self.layout.cbuf_addr_shift
        words = array("I", self.shaped(grid, block, cb_size))
        (lo, lo_shift), (hi, hi_shift) = self.cb0_address_slots
        words[lo] |= (addr & 0xFFFFFFFF) << lo_shift
        words[hi] |= (addr >> 32) << hi_shift
        return words.tobytes()
