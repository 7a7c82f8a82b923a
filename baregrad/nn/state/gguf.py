"""GGUF files (versions 2 and 3, little-endian): a bounds-checked parser over a mapped file.

Layout (all integers little-endian; `string` is a u64 byte length then UTF-8 bytes, no terminator):
    magic "GGUF" | u32 version | u64 tensor_count | u64 metadata_kv_count
    metadata_kv_count x (string key | u32 value_type | value)
        value: a scalar of GGUFValueType, a string, or an array: u32 element_type | u64 count | count values
    tensor_count x (string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset)
    padding to `general.alignment` (default 32) | tensor data; each tensor at data_start + offset
ne[0] is the contiguous dimension, so the PyTorch shape is reversed(ne). Block layouts are in quant.py.
Metadata string values are decoded as UTF-8 with errors="surrogateescape", so odd tokenizer bytes survive.
"""
from __future__ import annotations

import enum
import os
import struct
from dataclasses import dataclass
from typing import Any

from baregrad import dtype as dt
from baregrad.nn.state._common import MAX_NUMEL, Reader, checked_numel, map_file
from baregrad.nn.state.quant import LAYOUTS, GGMLType, layout

MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
GGML_MAX_DIMS = 4
MAX_ARRAY_DEPTH = 4   # arrays of arrays are legal; deeper nesting only serves to exhaust the stack


class GGUFValueType(enum.IntEnum):
    UINT8 = 0
    INT8 = 1
    UINT16 = 2
    INT16 = 3
    UINT32 = 4
    INT32 = 5
    FLOAT32 = 6
    BOOL = 7
    STRING = 8
    ARRAY = 9
    UINT64 = 10
    INT64 = 11
    FLOAT64 = 12


_SCALAR_FORMATS = {
    GGUFValueType.UINT8: "B", GGUFValueType.INT8: "b", GGUFValueType.UINT16: "H", GGUFValueType.INT16: "h",
    GGUFValueType.UINT32: "I", GGUFValueType.INT32: "i", GGUFValueType.FLOAT32: "f", GGUFValueType.BOOL: "B",
    GGUFValueType.UINT64: "Q", GGUFValueType.INT64: "q", GGUFValueType.FLOAT64: "d",
}
# The fewest bytes one value of each type can occupy; bounds array counts before any allocation.
_MIN_SIZE = {**{t: struct.calcsize("<" + f) for t, f in _SCALAR_FORMATS.items()},
             GGUFValueType.STRING: 8, GGUFValueType.ARRAY: 12}
_MIN_KV_SIZE = 8 + 4 + 1          # empty key, value type, smallest value
_MIN_TENSOR_INFO_SIZE = 8 + 4 + 4 + 8  # empty name, n_dims, type, offset

_TENSOR_DTYPES = {GGMLType.F32: dt.float32, GGMLType.F16: dt.float16, GGMLType.BF16: dt.bfloat16,
                  GGMLType.F64: dt.float64, GGMLType.I8: dt.int8, GGMLType.I16: dt.int16, GGMLType.I32: dt.int32,
                  GGMLType.I64: dt.int64}


@dataclass(frozen=True)
class MetadataType:
    """The stored type of a metadata value; arrays also name their element type."""
    type: GGUFValueType
    element_type: GGUFValueType | None = None


@dataclass(frozen=True)
class GGUFTensor:
    """One tensor: `shape` in PyTorch order (reversed `ne`), `offset` absolute in the file, `data` its bytes."""
    name: str
    ggml_type: GGMLType
    shape: tuple[int, ...]
    ne: tuple[int, ...]
    offset: int
    nbytes: int
    data: memoryview

    @property
    def n_elements(self) -> int:
        return checked_numel(self.ne, self.name)


@dataclass(frozen=True)
class GGUFFile:
    path: str
    version: int
    alignment: int
    data_offset: int
    metadata: dict[str, Any]
    metadata_types: dict[str, MetadataType]
    tensors: dict[str, GGUFTensor]


def gguf_load(path: str | os.PathLike) -> GGUFFile:
    """Map and parse a GGUF file; tensor data stays in the mapping until a Tensor is made from it."""
    return parse_gguf(map_file(path), what=os.fspath(path))


def parse_gguf(buf: bytes | memoryview, what: str = "gguf") -> GGUFFile:
    """Parse and validate a whole GGUF file held in `buf`."""
    r = Reader(buf, what=what)
    version = _header(r)
    n_tensors, n_kv = r.unpack("<QQ", "tensor and metadata counts")
    _check_count(r, n_kv, _MIN_KV_SIZE, "metadata key/value pairs")
    metadata, types, value_offsets = _metadata(r, n_kv)
    alignment = _alignment(r, metadata, types, value_offsets)
    _check_count(r, n_tensors, _MIN_TENSOR_INFO_SIZE, "tensor infos")
    infos = [_tensor_info(r) for _ in range(n_tensors)]
    data_offset = -(-r.pos // alignment) * alignment
    tensors: dict[str, GGUFTensor] = {}
    for info in infos:
        tensor = _tensor(r, info, data_offset, alignment)
        if tensor.name in tensors:
            raise r.fail(f"tensor name {tensor.name!r} appears twice", info.at)
        tensors[tensor.name] = tensor
    _check_no_overlap(r, tensors)
    return GGUFFile(what, version, alignment, data_offset, metadata, types, tensors)


def _header(r: Reader) -> int:
    magic = bytes(r.take(4, "magic"))
    if magic != MAGIC:
        raise r.fail(f"magic {magic!r} is not {MAGIC!r}; not a GGUF file", 0)
    version = r.scalar("<I", "version")
    if version in SUPPORTED_VERSIONS:
        return version
    if int.from_bytes(version.to_bytes(4, "little"), "big") in SUPPORTED_VERSIONS:
        raise r.fail("big-endian GGUF files are not supported", 4)
    raise r.fail(f"GGUF version {version} is not supported (only {SUPPORTED_VERSIONS})", 4)


def _check_count(r: Reader, count: int, min_size: int, what: str) -> None:
    # Each item takes at least min_size bytes, so a count the rest of the file cannot hold is a lie.
    if count * min_size > r.remaining:
        raise r.fail(f"{count} {what} cannot fit in the {r.remaining} bytes left")


def _string(r: Reader, what: str, strict: bool = False) -> str:
    at = r.pos
    length = r.scalar("<Q", f"{what} length")
    raw = bytes(r.take(length, f"{what} of {length} bytes"))
    try:
        return raw.decode("utf-8", "strict" if strict else "surrogateescape")
    except UnicodeDecodeError as e:
        raise r.fail(f"{what} is not UTF-8", at + 8 + e.start) from e


def _metadata(r: Reader, n_kv: int) -> tuple[dict[str, Any], dict[str, MetadataType], dict[str, int]]:
    metadata: dict[str, Any] = {}
    types: dict[str, MetadataType] = {}
    value_offsets: dict[str, int] = {}  # where each value starts, for error messages about its meaning
    for _ in range(n_kv):
        at = r.pos
        key = _string(r, "metadata key", strict=True)
        if key in metadata:
            raise r.fail(f"metadata key {key!r} appears twice", at)
        value_type = _value_type(r, r.scalar("<I", f"type of {key!r}"))
        value_offsets[key] = r.pos
        metadata[key], types[key] = _value(r, value_type, 0)
    return metadata, types, value_offsets


def _value_type(r: Reader, type_id: int) -> GGUFValueType:
    try:
        return GGUFValueType(type_id)
    except ValueError:
        raise r.fail(f"unknown metadata value type {type_id}", r.pos - 4) from None


def _value(r: Reader, value_type: GGUFValueType, depth: int) -> tuple[Any, MetadataType]:
    if value_type is GGUFValueType.STRING:
        return _string(r, "string value"), MetadataType(value_type)
    if value_type is GGUFValueType.ARRAY:
        return _array(r, depth)
    at = r.pos
    value = r.scalar("<" + _SCALAR_FORMATS[value_type], value_type.name)
    if value_type is GGUFValueType.BOOL:
        value = _bool(r, value, at)
    return value, MetadataType(value_type)


def _bool(r: Reader, value: int, at: int) -> bool:
    if value not in (0, 1):
        raise r.fail(f"bool value {value} is neither 0 nor 1", at)
    return bool(value)


def _array(r: Reader, depth: int) -> tuple[list[Any], MetadataType]:
    if depth >= MAX_ARRAY_DEPTH:
        raise r.fail(f"arrays nested more than {MAX_ARRAY_DEPTH} deep")
    element_type = _value_type(r, r.scalar("<I", "array element type"))
    count = r.scalar("<Q", "array length")
    _check_count(r, count, _MIN_SIZE[element_type], f"{element_type.name} array elements")
    if element_type in _SCALAR_FORMATS:
        at = r.pos
        fmt = _SCALAR_FORMATS[element_type]
        values = list(struct.unpack(f"<{count}{fmt}", r.take(count * _MIN_SIZE[element_type], "array")))
        if element_type is GGUFValueType.BOOL:
            values = [_bool(r, v, at + i) for i, v in enumerate(values)]
    else:
        values = [_value(r, element_type, depth + 1)[0] for _ in range(count)]
    return values, MetadataType(GGUFValueType.ARRAY, element_type)


def _alignment(r: Reader, metadata: dict[str, Any], types: dict[str, MetadataType], offsets: dict[str, int]) -> int:
    key = "general.alignment"
    if key not in metadata:
        return DEFAULT_ALIGNMENT
    value = metadata[key]
    if types[key].type is not GGUFValueType.UINT32 or value == 0 or value & (value - 1):
        raise r.fail(f"{key} {value!r:.40} must be a UINT32 power of two", offsets[key])
    return value


@dataclass(frozen=True)
class _TensorInfo:
    at: int
    name: str
    ne: tuple[int, ...]
    type_id: int
    offset: int


def _tensor_info(r: Reader) -> _TensorInfo:
    at = r.pos
    name = _string(r, "tensor name", strict=True)
    n_dims = r.scalar("<I", f"n_dims of {name!r}")
    if n_dims > GGML_MAX_DIMS:
        raise r.fail(f"tensor {name!r} has {n_dims} dims, more than ggml's {GGML_MAX_DIMS}", at)
    ne = r.unpack(f"<{n_dims}Q", f"dims of {name!r}")
    type_id, offset = r.unpack("<IQ", f"type and offset of {name!r}")
    return _TensorInfo(at, name, ne, type_id, offset)


def _tensor(r: Reader, info: _TensorInfo, data_offset: int, alignment: int) -> GGUFTensor:
    where = f"tensor {info.name!r}"
    lay = layout(info.type_id, f"{r.what}: {where} (info at byte {info.at}): ")
    if any(d > MAX_NUMEL for d in info.ne):
        raise r.fail(f"{where} has a dim above 2**63-1: {info.ne}", info.at)
    # a block type stores under one byte per element; round up so the byte bound stays an upper bound
    numel = checked_numel(info.ne, f"{r.what}: {where} (info at byte {info.at})", -(-lay.type_size // lay.block_size))
    if (info.ne[0] if info.ne else 1) % lay.block_size:
        raise r.fail(f"{where}: row length {info.ne[0] if info.ne else 1} is not a multiple of the "
                     f"{lay.ggml_type.name} block size {lay.block_size}", info.at)
    if info.offset % alignment:
        raise r.fail(f"{where}: data offset {info.offset} is not a multiple of the alignment {alignment}", info.at)
    nbytes = numel // lay.block_size * lay.type_size
    start = data_offset + info.offset
    if start + nbytes > len(r.buf):
        raise r.fail(f"{where}: data [{start}, {start + nbytes}) runs past the end of the {len(r.buf)}-byte file",
                     info.at)
    return GGUFTensor(info.name, lay.ggml_type, tuple(reversed(info.ne)), tuple(info.ne), start, nbytes,
                      r.buf[start:start + nbytes])


def _check_no_overlap(r: Reader, tensors: dict[str, GGUFTensor]) -> None:
    previous: GGUFTensor | None = None
    for tensor in sorted(tensors.values(), key=lambda t: (t.offset, t.nbytes)):
        if previous is not None and tensor.offset < previous.offset + previous.nbytes:
            raise r.fail(f"tensors {previous.name!r} and {tensor.name!r} overlap", tensor.offset)
        if tensor.nbytes:
            previous = tensor


def gguf_tensor(tensor: GGUFTensor):
    """A Tensor from a GGUF tensor. Plain types keep their dtype and shape; block-quantized types come back
    as their raw bytes, uint8 of shape (*shape[:-1], shape[-1] // block_size * type_size) — one row of
    blocks per row — for the Tensor-op dequantization to decode (layouts in quant.py)."""
    from baregrad.tensor import Tensor
    if tensor.ggml_type in _TENSOR_DTYPES:
        return Tensor.from_bytes(tensor.data, _TENSOR_DTYPES[tensor.ggml_type], tensor.shape)
    lay = LAYOUTS[tensor.ggml_type]
    row_bytes = tensor.shape[-1] // lay.block_size * lay.type_size
    return Tensor.from_bytes(tensor.data, dt.uint8, (*tensor.shape[:-1], row_bytes))
