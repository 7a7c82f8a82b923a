"""Block-quantized weights as lazy Tensor ops, so a quantized linear layer is one fused kernel.

A GGUF weight of a block type (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) stays in memory
as its raw uint8 blocks. Decoding is written with ordinary Tensor ops on that byte tensor (slices, shifts, masks,
uint16 assembly and a float16 bitcast for the scales), laid out block by block as (rows, n_blocks, *block_axes).
Nothing is computed until the result is consumed: `linear(x, w)` multiplies and reduces over (n_blocks, *block_axes)
directly, and the scheduler fuses the decode into the matmul's reduce kernel, which then reads the packed bytes. The
element order of each block is the one documented in baregrad.nn.state.quant, whose dequantize_reference checks this
module."""
from __future__ import annotations

from dataclasses import dataclass

from baregrad import dtype as dt
from baregrad.errors import FormatError, ShapeError
from baregrad.nn.state.gguf import GGUFTensor, gguf_tensor
from baregrad.nn.state.quant import IQ4_NL_LEVELS, LAYOUTS, GGMLType
from baregrad.tensor import Tensor

PLAIN_TYPES = (GGMLType.F32, GGMLType.F16, GGMLType.BF16)


@dataclass
class QuantWeight:
    """A 2-d weight (out_features, in_features) kept in its GGUF encoding.

    data: for block types the uint8 tensor (out_features, n_blocks * type_size); for plain types the values.
    """
    ggml_type: GGMLType
    shape: tuple[int, int]
    data: Tensor

    @property
    def n_blocks(self) -> int:
        return self.shape[1] // LAYOUTS[self.ggml_type].block_size

    @property
    def nbytes(self) -> int:
        return self.data.numel() * self.data.element_size()


def from_gguf(tensor: GGUFTensor, device: str | None = None) -> QuantWeight:
    """Keep a GGUF tensor as it is stored (no decoding), on `device`."""
    if len(tensor.shape) != 2:
        raise ShapeError(f"{tensor.name}: a quantized weight must be 2-d, got shape {tensor.shape}")
    if tensor.ggml_type not in _DECODERS and tensor.ggml_type not in PLAIN_TYPES:
        raise FormatError(f"{tensor.name}: ggml type {tensor.ggml_type.name} has no Tensor-op decoder")
    data = gguf_tensor(tensor)
    if device is not None:
        data = data.to(device).realize()
    return QuantWeight(tensor.ggml_type, tensor.shape, data)


def quant_weight(raw: Tensor, ggml_type: GGMLType, shape: tuple[int, int]) -> QuantWeight:
    """Wrap raw block bytes (uint8 of any shape holding shape[0] rows) as a QuantWeight."""
    lay = LAYOUTS[ggml_type]
    if shape[1] % lay.block_size:
        raise ShapeError(f"{ggml_type.name}: row length {shape[1]} is not a multiple of {lay.block_size}")
    if ggml_type in PLAIN_TYPES:
        return QuantWeight(ggml_type, shape, raw.reshape(shape))
    return QuantWeight(ggml_type, shape, raw.reshape(shape[0], shape[1] // lay.block_size * lay.type_size))


# ---- decoders: raw bytes (..., n_blocks, type_size) -> float32 (..., n_blocks, *block_axes) ----

def _half(b: Tensor, offset: int) -> Tensor:
    """The float16 at byte `offset` of every block, as float32 with a trailing axis of 1."""
    lo = b[..., offset:offset + 1].cast(dt.uint16)
    hi = b[..., offset + 1:offset + 2].cast(dt.uint16)
    return (lo | (hi << 8)).bitcast(dt.float16).cast(dt.float32)


def _nibbles(qs: Tensor) -> Tensor:
    """(..., n) bytes -> (..., 2, n): low nibbles first, then high nibbles (the ggml order)."""
    shape = qs.shape
    shift = (Tensor.arange(2, dtype=dt.uint8, device=qs.device) * 4).reshape(2, 1)
    return (qs.unsqueeze(-2).expand(*shape[:-1], 2, shape[-1]) >> shift) & 15


def _q4_0(b: Tensor) -> Tensor:
    d = _half(b, 0).unsqueeze(-1)
    return (_nibbles(b[..., 2:18]).cast(dt.float32) - 8.0) * d


def _q4_1(b: Tensor) -> Tensor:
    d, m = _half(b, 0).unsqueeze(-1), _half(b, 2).unsqueeze(-1)
    return _nibbles(b[..., 4:20]).cast(dt.float32) * d + m


def _low_bits(b: Tensor, offset: int) -> Tensor:
    """The 32 fifth bits of Q5_0 / Q5_1 (a little-endian uint32 at `offset`), as (..., 2, 16): bit e of element e."""
    qh = b[..., offset:offset + 4]
    shift = Tensor.arange(8, dtype=dt.uint8, device=b.device)
    bits = (qh.unsqueeze(-1).expand(*qh.shape, 8) >> shift) & 1  # (..., byte, bit)
    return bits.reshape(*b.shape[:-1], 2, 16)


def _q5_0(b: Tensor) -> Tensor:
    d = _half(b, 0).unsqueeze(-1)
    q = _nibbles(b[..., 6:22]) | (_low_bits(b, 2) << 4)
    return (q.cast(dt.float32) - 16.0) * d


def _q5_1(b: Tensor) -> Tensor:
    d, m = _half(b, 0).unsqueeze(-1), _half(b, 2).unsqueeze(-1)
    q = _nibbles(b[..., 8:24]) | (_low_bits(b, 4) << 4)
    return q.cast(dt.float32) * d + m


def _iq4_nl(b: Tensor) -> Tensor:
    # the 16-level table as a sum of steps over the nibble: level(q) = L[0] + sum_{k < q} (L[k + 1] - L[k]),
    # elementwise ops only, so the decode still fuses into the matmul's reduce
    q = _nibbles(b[..., 2:18])
    value = Tensor.full(q.shape, float(IQ4_NL_LEVELS[0]), device=b.device)
    for k in range(1, 16):
        value = value + (q >= k).where(float(IQ4_NL_LEVELS[k] - IQ4_NL_LEVELS[k - 1]), 0.0)
    return value * _half(b, 0).unsqueeze(-1)


def _q8_0(b: Tensor) -> Tensor:
    return b[..., 2:34].bitcast(dt.int8).cast(dt.float32) * _half(b, 0)


def _k4_scales(s: Tensor) -> tuple[Tensor, Tensor]:
    """The 8 six-bit scales and mins of Q4_K (see quant.unpack_k4_scales), as float32 (..., 8)."""
    sc = Tensor.cat([s[..., 0:4] & 63, (s[..., 8:12] & 15) | ((s[..., 0:4] >> 6) << 4)], dim=-1)
    mn = Tensor.cat([s[..., 4:8] & 63, (s[..., 8:12] >> 4) | ((s[..., 4:8] >> 6) << 4)], dim=-1)
    return sc.cast(dt.float32), mn.cast(dt.float32)


def _small_k_low(qs: Tensor) -> Tensor:
    """The 2-bit values of Q2_K / Q3_K, (..., 64) bytes -> (..., h, j, k, 16) for element 128h + 32j + 16k + l."""
    lead = qs.shape[:-1]
    shift = (Tensor.arange(4, dtype=dt.uint8, device=qs.device) * 2).reshape(4, 1, 1)
    return (qs.reshape(*lead, 2, 1, 2, 16).expand(*lead, 2, 4, 2, 16) >> shift) & 3


def _q2_k(b: Tensor) -> Tensor:
    lead = b.shape[:-1]
    s = b[..., 0:16].reshape(*lead, 2, 4, 2, 1)  # scale 8h + 2j + k
    d, dmin = _half(b, 80).reshape(*lead, 1, 1, 1, 1), _half(b, 82).reshape(*lead, 1, 1, 1, 1)
    return _small_k_low(b[..., 16:80]).cast(dt.float32) * (d * (s & 15).cast(dt.float32)) - dmin * (
        s >> 4).cast(dt.float32)


def _q3_k_scales(s: Tensor) -> Tensor:
    """The 16 signed scales of Q3_K (see quant.unpack_q3k_scales), as float32 (..., 16)."""
    lead = s.shape[:-1]
    low = Tensor.cat([s[..., 0:8] & 15, s[..., 0:8] >> 4], dim=-1)
    shift = (Tensor.arange(4, dtype=dt.uint8, device=s.device) * 2).reshape(4, 1)
    high = ((s[..., 8:12].reshape(*lead, 1, 4).expand(*lead, 4, 4) >> shift) & 3).reshape(*lead, 16)
    return (low | (high << 4)).cast(dt.float32) - 32.0


def _q3_k(b: Tensor) -> Tensor:
    lead = b.shape[:-1]
    # the high bit of element 128h + 32j + 16k + l is bit 4h + j of hmask[16k + l]
    shift = (Tensor.arange(2, dtype=dt.uint8, device=b.device).reshape(2, 1, 1, 1) * 4
             + Tensor.arange(4, dtype=dt.uint8, device=b.device).reshape(1, 4, 1, 1))
    high = (b[..., 0:32].reshape(*lead, 1, 1, 2, 16).expand(*lead, 2, 4, 2, 16) >> shift) & 1
    q = _small_k_low(b[..., 32:96]).cast(dt.float32) + high.cast(dt.float32) * 4.0 - 4.0
    scale = _q3_k_scales(b[..., 96:108]).reshape(*lead, 2, 4, 2, 1) * _half(b, 108).reshape(*lead, 1, 1, 1, 1)
    return q * scale


def _q4_k(b: Tensor) -> Tensor:
    lead = b.shape[:-1]
    d, dmin = _half(b, 0), _half(b, 2)
    sc, mn = _k4_scales(b[..., 4:16])
    scale = (d * sc).reshape(*lead, 4, 2, 1)
    offset = (dmin * mn).reshape(*lead, 4, 2, 1)
    q = _nibbles(b[..., 16:144].reshape(*lead, 4, 32))  # (..., chunk, half, 32)
    return q.cast(dt.float32) * scale - offset


def _q5_k(b: Tensor) -> Tensor:
    lead = b.shape[:-1]
    d, dmin = _half(b, 0), _half(b, 2)
    sc, mn = _k4_scales(b[..., 4:16])
    scale = (d * sc).reshape(*lead, 4, 2, 1)
    offset = (dmin * mn).reshape(*lead, 4, 2, 1)
    # element 64c + 32h + l: its fifth bit is bit 2c + h of qh[l]
    shift = (Tensor.arange(8, dtype=dt.uint8, device=b.device)).reshape(4, 2, 1)
    high = (b[..., 16:48].reshape(*lead, 1, 1, 32).expand(*lead, 4, 2, 32) >> shift) & 1
    q = _nibbles(b[..., 48:176].reshape(*lead, 4, 32)) | (high << 4)  # (..., chunk, half, 32)
    return q.cast(dt.float32) * scale - offset


def _q6_k(b: Tensor) -> Tensor:
    # element e = 128h + 64s + 32k + l: low 4 bits from ql[64h + 32k + l] shifted by 4s,
    # high 2 bits from qh[32h + l] shifted by 2(2s + k)
    lead = b.shape[:-1]
    full = (*lead, 2, 2, 2, 32)
    ql = b[..., 0:128].reshape(*lead, 2, 1, 2, 32).expand(*full)
    qh = b[..., 128:192].reshape(*lead, 2, 1, 1, 32).expand(*full)
    s_ax = Tensor.arange(2, dtype=dt.uint8, device=b.device).reshape(2, 1, 1)
    k_ax = Tensor.arange(2, dtype=dt.uint8, device=b.device).reshape(1, 2, 1)
    low = (ql >> (s_ax * 4)) & 15
    high = ((qh >> ((s_ax * 2 + k_ax) * 2)) & 3) << 4
    q = (low | high).cast(dt.float32) - 32.0
    scales = b[..., 192:208].bitcast(dt.int8).cast(dt.float32).reshape(*lead, 2, 2, 2, 2, 1)
    d = _half(b, 208).reshape(*lead, 1, 1, 1, 1, 1)
    return q.reshape(*lead, 2, 2, 2, 2, 16) * (scales * d)


_DECODERS = {GGMLType.Q4_0: _q4_0, GGMLType.Q4_1: _q4_1, GGMLType.Q5_0: _q5_0, GGMLType.Q5_1: _q5_1,
             GGMLType.Q8_0: _q8_0, GGMLType.IQ4_NL: _iq4_nl, GGMLType.Q2_K: _q2_k, GGMLType.Q3_K: _q3_k,
             GGMLType.Q4_K: _q4_k, GGMLType.Q5_K: _q5_k, GGMLType.Q6_K: _q6_k}


def block_values(w: QuantWeight, rows: Tensor | None = None) -> Tensor:
    """Lazy float32 (out_features or len(rows), n_blocks, *block_axes): the decoded weight, block-shaped.

    `rows` (int tensor) picks rows first, so an embedding lookup decodes only the rows it gathers."""
    data = w.data if rows is None else w.data.index_select(0, rows)
    if w.ggml_type in PLAIN_TYPES:
        return data.cast(dt.float32).reshape(data.shape[0], w.shape[1], 1)
    lay = LAYOUTS[w.ggml_type]
    return _DECODERS[w.ggml_type](data.reshape(data.shape[0], w.n_blocks, lay.type_size))


def stack_rows(weights: list[QuantWeight]) -> list[QuantWeight]:
    """The rows of all `weights` as one weight, realized once, so x @ stacked.T is a single kernel computing every
    projection; when types or row lengths differ (e.g. Q4_K_M files keep attn_v in Q6_K), the weights unchanged."""
    first = weights[0]
    if len(weights) == 1 or any(w.ggml_type is not first.ggml_type or w.shape[1] != first.shape[1] for w in weights):
        return list(weights)
    data = Tensor.cat([w.data for w in weights], dim=0).realize()
    return [QuantWeight(first.ggml_type, (sum(w.shape[0] for w in weights), first.shape[1]), data)]


def linear_stacked(x: Tensor, weights: list[QuantWeight]) -> Tensor:
    """x @ W.T for W the rows of `weights` (see stack_rows), each matmul realized as its own kernel."""
    outs = [linear(x, w).contiguous() for w in weights]
    return outs[0] if len(outs) == 1 else Tensor.cat(outs, dim=-1)


def dequantize(w: QuantWeight) -> Tensor:
    """The lazy float32 (out_features, in_features) weight; consumers fuse it, nothing is stored."""
    return block_values(w).reshape(w.shape)


def embedding(w: QuantWeight, ids: Tensor) -> Tensor:
    """Rows `ids` of the weight as float32 (len(ids), in_features): a gather of blocks, then the decode."""
    return block_values(w, ids).reshape(ids.shape[0], w.shape[1])


def linear(x: Tensor, w: QuantWeight) -> Tensor:
    """x @ dequantize(w).T, reduced over the block axes so the kernel indexes blocks without divisions."""
    if x.shape[-1] != w.shape[1]:
        raise ShapeError(f"linear: input {x.shape} does not match weight {w.shape} ({w.ggml_type.name})")
    values = block_values(w)
    lead = x.shape[:-1]
    block_axes = values.shape[1:]
    xb = x.reshape(*lead, 1, *block_axes)
    n_red = len(block_axes)
    return (xb * values).sum(tuple(range(-n_red, 0)))


def weight_bytes(weights: list[QuantWeight]) -> int:
    """Bytes the weights occupy as stored (what a matmul over them reads)."""
    return sum(w.nbytes for w in weights)

