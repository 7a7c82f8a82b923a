"""GGML tensor types: block layouts as data, and a slow pure-Python reference dequantizer.

A GGML tensor of type T with ggml shape ne = (ne0, ne1, ...) (ne0 is the contiguous row; PyTorch order is
reversed) is stored row by row; each row of ne0 elements is ne0 / block_size consecutive blocks of
type_size bytes, so nbytes = numel / block_size * type_size and ne0 must be a multiple of block_size.
All multi-byte fields are little-endian; `half` is IEEE float16, converted to float32 before use.
In the formulas below, element e of a block is written y[e]; q[...] are the stored bytes (uint8 unless
stated); arithmetic is in float32.

Plain types (block_size 1): F32 (4 B), F16 (2 B), BF16 (2 B, the top half of a float32), F64 (8 B),
I8 / I16 / I32 / I64 (1/2/4/8 B, signed).

Q4_0 — 32 elements, 18 bytes
    [0:2] d (half)   [2:18] qs[16]
    y[j]      = ((qs[j] & 0x0F) - 8) * d          j = 0..15   (low nibbles are the first 16 elements)
    y[j + 16] = ((qs[j] >> 4)   - 8) * d                      (high nibbles are the last 16)

Q4_1 — 32 elements, 20 bytes
    [0:2] d (half)   [2:4] m (half)   [4:20] qs[16]
    y[j] = (qs[j] & 0x0F) * d + m,  y[j + 16] = (qs[j] >> 4) * d + m

Q5_0 — 32 elements, 22 bytes
    [0:2] d (half)   [2:6] qh (uint32, bit i is the 5th bit of element i)   [6:22] qs[16]
    y[j]      = (((qs[j] & 0x0F) | ((qh >> j) & 1) << 4) - 16) * d
    y[j + 16] = (((qs[j] >> 4)   | ((qh >> (j + 16)) & 1) << 4) - 16) * d

Q5_1 — 32 elements, 24 bytes
    [0:2] d (half)   [2:4] m (half)   [4:8] qh (uint32)   [8:24] qs[16]
    as Q5_0 without the "- 16", then "* d + m"

Q8_0 — 32 elements, 34 bytes
    [0:2] d (half)   [2:34] qs[32] (int8)          y[j] = qs[j] * d

IQ4_NL — 32 elements, 18 bytes: Q4_0's layout, the nibble indexing a fixed non-linear table of 16 int8 levels
    [0:2] d (half)   [2:18] qs[16]
    y[j] = d * IQ4_NL_LEVELS[qs[j] & 0x0F],  y[j + 16] = d * IQ4_NL_LEVELS[qs[j] >> 4]

K-quants — 256 elements ("super-block") split into sub-blocks.

Q4_K — 256 elements, 144 bytes: 8 sub-blocks of 32, each with a 6-bit scale sc[i] and 6-bit min mn[i]
    [0:2] d (half)   [2:4] dmin (half)   [4:16] scales[12]   [16:144] qs[128]
    6-bit scale/min unpacking (see unpack_k4_scales), for i = 0..7 and s = scales:
        i < 4:  sc[i] = s[i] & 63                          mn[i] = s[i + 4] & 63
        i >= 4: sc[i] = (s[i + 4] & 0x0F) | ((s[i - 4] >> 6) << 4)
                mn[i] = (s[i + 4] >> 4)   | ((s[i] >> 6) << 4)
    For chunk c = 0..3 (64 elements each), bytes b = qs[32c : 32c + 32], l = 0..31:
        y[64c + l]      = d * sc[2c]     * (b[l] & 0x0F) - dmin * mn[2c]
        y[64c + 32 + l] = d * sc[2c + 1] * (b[l] >> 4)   - dmin * mn[2c + 1]

Q5_K — 256 elements, 176 bytes: as Q4_K plus a 5th bit per element
    [0:2] d   [2:4] dmin   [4:16] scales[12] (packed as Q4_K)   [16:48] qh[32]   [48:176] qs[128]
    For chunk c = 0..3, l = 0..31, with b = qs[32c : 32c + 32]:
        y[64c + l]      = d * sc[2c]     * ((b[l] & 0x0F) + 16 * ((qh[l] >> (2c)) & 1))     - dmin * mn[2c]
        y[64c + 32 + l] = d * sc[2c + 1] * ((b[l] >> 4)   + 16 * ((qh[l] >> (2c + 1)) & 1)) - dmin * mn[2c + 1]

Q2_K — 256 elements, 84 bytes: 16 sub-blocks of 16, each with a 4-bit scale and a 4-bit min
    [0:16] scales[16] (low nibble scale, high nibble min)   [16:80] qs[64]   [80:82] d (half)   [82:84] dmin (half)
    element e = 128h + 32j + 16k + l (h, k < 2; j < 4; l < 16), with s = scales[8h + 2j + k]:
        y[e] = d * (s & 0x0F) * ((qs[32h + 16k + l] >> 2j) & 3) - dmin * (s >> 4)

Q3_K — 256 elements, 110 bytes: 16 sub-blocks of 16, each with a 6-bit signed scale
    [0:32] hmask[32]   [32:96] qs[64]   [96:108] scales[12]   [108:110] d (half)
    scale i (0..15), s = scales: low 4 bits s[i] & 0x0F (i < 8) or s[i - 8] >> 4 (i >= 8),
        high 2 bits (s[8 + i % 4] >> 2 * (i // 4)) & 3; sc[i] = (low | high << 4) - 32
    element e = 128h + 32j + 16k + l as in Q2_K:
        q = ((qs[32h + 16k + l] >> 2j) & 3) - (4 if bit (4h + j) of hmask[16k + l] is 0 else 0)
        y[e] = d * sc[8h + 2j + k] * q

Q6_K — 256 elements, 210 bytes: 16 sub-blocks of 16, each with an int8 scale
    [0:128] ql[128] (low 4 bits)   [128:192] qh[64] (high 2 bits)   [192:208] scales[16] (int8)   [208:210] d (half)
    For half h = 0..1 (128 elements each), L = ql[64h:], H = qh[32h:], l = 0..31:
        q(128h + l)      = (L[l] & 0x0F)      | ((H[l] >> 0) & 3) << 4
        q(128h + l + 32) = (L[l + 32] & 0x0F) | ((H[l] >> 2) & 3) << 4
        q(128h + l + 64) = (L[l] >> 4)        | ((H[l] >> 4) & 3) << 4
        q(128h + l + 96) = (L[l + 32] >> 4)   | ((H[l] >> 6) & 3) << 4
        y[e] = d * scales[e // 16] * (q(e) - 32)
"""
from __future__ import annotations

import enum
import struct
from array import array
from dataclasses import dataclass

from baregrad.errors import FormatError


class GGMLType(enum.IntEnum):
    """ggml's type ids as stored in GGUF tensor infos (ids 4 and 5 were removed upstream)."""
    F32 = 0
    F16 = 1
    Q4_0 = 2
    Q4_1 = 3
    Q5_0 = 6
    Q5_1 = 7
    Q8_0 = 8
    Q8_1 = 9
    Q2_K = 10
    Q3_K = 11
    Q4_K = 12
    Q5_K = 13
    Q6_K = 14
    Q8_K = 15
    IQ2_XXS = 16
    IQ2_XS = 17
    IQ3_XXS = 18
    IQ1_S = 19
    IQ4_NL = 20
    IQ3_S = 21
    IQ2_S = 22
    IQ4_XS = 23
    I8 = 24
    I16 = 25
    I32 = 26
    I64 = 27
    F64 = 28
    IQ1_M = 29
    BF16 = 30


@dataclass(frozen=True)
class BlockField:
    """One field of a block: `count` items of `fmt` (a struct code; "e" is half) starting at byte `offset`."""
    name: str
    offset: int
    fmt: str
    count: int = 1

    @property
    def nbytes(self) -> int:
        return struct.calcsize("<" + self.fmt) * self.count


@dataclass(frozen=True)
class BlockLayout:
    """How one block of a GGML type is laid out: `block_size` elements in `type_size` bytes."""
    ggml_type: GGMLType
    block_size: int
    type_size: int
    fields: tuple[BlockField, ...]

    def field(self, name: str) -> BlockField:
        return next(f for f in self.fields if f.name == name)


def _plain(t: GGMLType, fmt: str, size: int) -> BlockLayout:
    return BlockLayout(t, 1, size, (BlockField("value", 0, fmt),))


QK = 32      # elements per block of the legacy quants
QK_K = 256   # elements per super-block of the K-quants

LAYOUTS: dict[GGMLType, BlockLayout] = {
    GGMLType.F32: _plain(GGMLType.F32, "f", 4),
    GGMLType.F16: _plain(GGMLType.F16, "e", 2),
    GGMLType.BF16: _plain(GGMLType.BF16, "H", 2),
    GGMLType.F64: _plain(GGMLType.F64, "d", 8),
    GGMLType.I8: _plain(GGMLType.I8, "b", 1),
    GGMLType.I16: _plain(GGMLType.I16, "h", 2),
    GGMLType.I32: _plain(GGMLType.I32, "i", 4),
    GGMLType.I64: _plain(GGMLType.I64, "q", 8),
    GGMLType.Q4_0: BlockLayout(GGMLType.Q4_0, QK, 18, (BlockField("d", 0, "e"), BlockField("qs", 2, "B", 16))),
    GGMLType.Q4_1: BlockLayout(GGMLType.Q4_1, QK, 20, (BlockField("d", 0, "e"), BlockField("m", 2, "e"),
                                                       BlockField("qs", 4, "B", 16))),
    GGMLType.Q5_0: BlockLayout(GGMLType.Q5_0, QK, 22, (BlockField("d", 0, "e"), BlockField("qh", 2, "I"),
                                                       BlockField("qs", 6, "B", 16))),
    GGMLType.Q5_1: BlockLayout(GGMLType.Q5_1, QK, 24, (BlockField("d", 0, "e"), BlockField("m", 2, "e"),
                                                       BlockField("qh", 4, "I"), BlockField("qs", 8, "B", 16))),
    GGMLType.Q8_0: BlockLayout(GGMLType.Q8_0, QK, 34, (BlockField("d", 0, "e"), BlockField("qs", 2, "b", 32))),
    GGMLType.IQ4_NL: BlockLayout(GGMLType.IQ4_NL, QK, 18, (BlockField("d", 0, "e"), BlockField("qs", 2, "B", 16))),
    GGMLType.Q2_K: BlockLayout(GGMLType.Q2_K, QK_K, 84, (
        BlockField("scales", 0, "B", 16), BlockField("qs", 16, "B", 64), BlockField("d", 80, "e"),
        BlockField("dmin", 82, "e"))),
    GGMLType.Q3_K: BlockLayout(GGMLType.Q3_K, QK_K, 110, (
        BlockField("hmask", 0, "B", 32), BlockField("qs", 32, "B", 64), BlockField("scales", 96, "B", 12),
        BlockField("d", 108, "e"))),
    GGMLType.Q4_K: BlockLayout(GGMLType.Q4_K, QK_K, 144, (
        BlockField("d", 0, "e"), BlockField("dmin", 2, "e"), BlockField("scales", 4, "B", 12),
        BlockField("qs", 16, "B", 128))),
    GGMLType.Q5_K: BlockLayout(GGMLType.Q5_K, QK_K, 176, (
        BlockField("d", 0, "e"), BlockField("dmin", 2, "e"), BlockField("scales", 4, "B", 12),
        BlockField("qh", 16, "B", 32), BlockField("qs", 48, "B", 128))),
    GGMLType.Q6_K: BlockLayout(GGMLType.Q6_K, QK_K, 210, (
        BlockField("ql", 0, "B", 128), BlockField("qh", 128, "B", 64), BlockField("scales", 192, "b", 16),
        BlockField("d", 208, "e"))),
}


# IQ4_NL's 16 levels (ggml's kvalues_iq4nl): denser near zero, where weights are
IQ4_NL_LEVELS = (-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113)


def layout(type_id: int, where: str = "") -> BlockLayout:
    """The layout of a type id, or FormatError naming the id when we do not know or support it."""
    try:
        ggml_type = GGMLType(type_id)
    except ValueError:
        raise FormatError(f"{where}unknown ggml type id {type_id}") from None
    if ggml_type not in LAYOUTS:
        raise FormatError(f"{where}ggml type {ggml_type.name} (id {type_id}) is not supported; supported: "
                          f"{', '.join(t.name for t in LAYOUTS)}")
    return LAYOUTS[ggml_type]


def row_nbytes(ggml_type: GGMLType, n_elements: int) -> int:
    """Bytes of `n_elements` (a multiple of the block size) of `ggml_type`."""
    lay = LAYOUTS[ggml_type]
    if n_elements % lay.block_size:
        raise FormatError(f"{n_elements} elements of {ggml_type.name} are not whole {lay.block_size}-element blocks")
    return n_elements // lay.block_size * lay.type_size


def unpack_q3k_scales(scales: bytes) -> list[int]:
    """The 16 signed six-bit scales packed in the 12 `scales` bytes of Q3_K."""
    s = scales
    return [((s[i] & 0x0F if i < 8 else s[i - 8] >> 4) | ((s[8 + i % 4] >> (2 * (i // 4))) & 3) << 4) - 32
            for i in range(16)]


def unpack_k4_scales(scales: bytes) -> tuple[list[int], list[int]]:
    """The 8 six-bit scales and 8 six-bit mins packed in the 12 `scales` bytes of Q4_K / Q5_K."""
    s = scales
    sc = [s[i] & 63 for i in range(4)] + [(s[i + 4] & 0x0F) | ((s[i - 4] >> 6) << 4) for i in range(4, 8)]
    mn = [s[i + 4] & 63 for i in range(4)] + [(s[i + 4] >> 4) | ((s[i] >> 6) << 4) for i in range(4, 8)]
    return sc, mn


def _half(raw: bytes, offset: int) -> float:
    return struct.unpack_from("<e", raw, offset)[0]


def _q4_0(b: bytes) -> list[float]:
    d = _half(b, 0)
    qs = b[2:18]
    return [((q & 0x0F) - 8) * d for q in qs] + [((q >> 4) - 8) * d for q in qs]


def _q4_1(b: bytes) -> list[float]:
    d, m = _half(b, 0), _half(b, 2)
    qs = b[4:20]
    return [(q & 0x0F) * d + m for q in qs] + [(q >> 4) * d + m for q in qs]


def _q5(qs: bytes, qh: int) -> list[int]:
    low = [(q & 0x0F) | ((qh >> j) & 1) << 4 for j, q in enumerate(qs)]
    high = [(q >> 4) | ((qh >> (j + 16)) & 1) << 4 for j, q in enumerate(qs)]
    return low + high


def _q5_0(b: bytes) -> list[float]:
    d, qh = _half(b, 0), struct.unpack_from("<I", b, 2)[0]
    return [(q - 16) * d for q in _q5(b[6:22], qh)]


def _q5_1(b: bytes) -> list[float]:
    d, m, qh = _half(b, 0), _half(b, 2), struct.unpack_from("<I", b, 4)[0]
    return [q * d + m for q in _q5(b[8:24], qh)]


def _q8_0(b: bytes) -> list[float]:
    d = _half(b, 0)
    return [q * d for q in struct.unpack_from("<32b", b, 2)]


def _iq4_nl(b: bytes) -> list[float]:
    d = _half(b, 0)
    qs = b[2:18]
    return [d * IQ4_NL_LEVELS[q & 0x0F] for q in qs] + [d * IQ4_NL_LEVELS[q >> 4] for q in qs]


def _k_small_index(e: int) -> tuple[int, int, int]:
    """For element e = 128h + 32j + 16k + l of Q2_K / Q3_K: its qs byte, its 2-bit shift index j, its scale."""
    h, j, k, low = e // 128, e // 32 % 4, e // 16 % 2, e % 16
    return 32 * h + 16 * k + low, j, 8 * h + 2 * j + k


def _q2_k(b: bytes) -> list[float]:
    scales, qs = b[0:16], b[16:80]
    d, dmin = _half(b, 80), _half(b, 82)
    out: list[float] = []
    for e in range(QK_K):
        byte, j, i = _k_small_index(e)
        out.append(d * (scales[i] & 0x0F) * ((qs[byte] >> (2 * j)) & 3) - dmin * (scales[i] >> 4))
    return out


def _q3_k(b: bytes) -> list[float]:
    hmask, qs = b[0:32], b[32:96]
    sc = unpack_q3k_scales(b[96:108])
    d = _half(b, 108)
    out: list[float] = []
    for e in range(QK_K):
        byte, j, i = _k_small_index(e)
        high = (hmask[byte % 32] >> (4 * (e // 128) + j)) & 1
        out.append(d * sc[i] * (((qs[byte] >> (2 * j)) & 3) - (0 if high else 4)))
    return out


def _q4_k(b: bytes) -> list[float]:
    d, dmin = _half(b, 0), _half(b, 2)
    sc, mn = unpack_k4_scales(b[4:16])
    out: list[float] = []
    for c in range(4):
        chunk = b[16 + 32 * c:48 + 32 * c]
        out += [d * sc[2 * c] * (q & 0x0F) - dmin * mn[2 * c] for q in chunk]
        out += [d * sc[2 * c + 1] * (q >> 4) - dmin * mn[2 * c + 1] for q in chunk]
    return out


def _q5_k(b: bytes) -> list[float]:
    d, dmin = _half(b, 0), _half(b, 2)
    sc, mn = unpack_k4_scales(b[4:16])
    qh = b[16:48]
    out: list[float] = []
    for c in range(4):
        chunk = b[48 + 32 * c:80 + 32 * c]
        lo, hi = 2 * c, 2 * c + 1
        out += [d * sc[lo] * ((q & 0x0F) + 16 * ((h >> lo) & 1)) - dmin * mn[lo] for q, h in zip(chunk, qh)]
        out += [d * sc[hi] * ((q >> 4) + 16 * ((h >> hi) & 1)) - dmin * mn[hi] for q, h in zip(chunk, qh)]
    return out


def _q6_k(b: bytes) -> list[float]:
    ql, qh = b[0:128], b[128:192]
    scales = struct.unpack_from("<16b", b, 192)
    d = _half(b, 208)
    q = [0] * QK_K
    for h in range(2):
        L, H = ql[64 * h:64 * h + 64], qh[32 * h:32 * h + 32]
        for j in range(32):
            q[128 * h + j] = (L[j] & 0x0F) | ((H[j] >> 0) & 3) << 4
            q[128 * h + j + 32] = (L[j + 32] & 0x0F) | ((H[j] >> 2) & 3) << 4
            q[128 * h + j + 64] = (L[j] >> 4) | ((H[j] >> 4) & 3) << 4
            q[128 * h + j + 96] = (L[j + 32] >> 4) | ((H[j] >> 6) & 3) << 4
    return [d * scales[e // 16] * (q[e] - 32) for e in range(QK_K)]


_BLOCK_DECODERS = {GGMLType.Q4_0: _q4_0, GGMLType.Q4_1: _q4_1, GGMLType.Q5_0: _q5_0, GGMLType.Q5_1: _q5_1,
                   GGMLType.Q8_0: _q8_0, GGMLType.Q4_K: _q4_k, GGMLType.Q5_K: _q5_k, GGMLType.Q6_K: _q6_k,
                   GGMLType.IQ4_NL: _iq4_nl, GGMLType.Q2_K: _q2_k, GGMLType.Q3_K: _q3_k}


def _plain_values(ggml_type: GGMLType, raw: bytes, n: int) -> list[float]:
    if ggml_type is GGMLType.BF16:
        # bfloat16 is the upper 16 bits of a float32.
        return list(struct.unpack(f"<{n}f", b"".join(b"\0\0" + raw[2 * i:2 * i + 2] for i in range(n))))
    return [float(v) for v in struct.unpack_from(f"<{n}{LAYOUTS[ggml_type].fields[0].fmt}", raw)]


def dequantize_reference(ggml_type: GGMLType | int, raw: bytes | memoryview, n_elements: int) -> list[float]:
    """Decode the first `n_elements` of `raw` (a whole number of blocks) to float32 values, block by block,
    following the layouts in this module's docstring. Slow: meant to check the fast Tensor-op path."""
    lay = layout(int(ggml_type))
    if n_elements < 0 or n_elements % lay.block_size:
        raise FormatError(f"{n_elements} elements of {lay.ggml_type.name} are not whole {lay.block_size}-blocks")
    nbytes = n_elements // lay.block_size * lay.type_size
    if len(raw) < nbytes:
        raise FormatError(f"{lay.ggml_type.name}: {n_elements} elements need {nbytes} bytes, got {len(raw)}")
    raw = bytes(raw[:nbytes])
    if lay.block_size == 1:
        values = _plain_values(lay.ggml_type, raw, n_elements)
    else:
        decode = _BLOCK_DECODERS[lay.ggml_type]
        values = []
        for start in range(0, nbytes, lay.type_size):
            values += decode(raw[start:start + lay.type_size])
    # Round to float32, as ggml computes; the Python arithmetic above was in double precision.
    return array("f", values).tolist() if lay.ggml_type not in _EXACT_INT_TYPES else values


_EXACT_INT_TYPES = {GGMLType.I32, GGMLType.I64, GGMLType.F64}
