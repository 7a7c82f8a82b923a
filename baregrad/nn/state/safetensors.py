"""safetensors files: a bounds-checked parser, a lazy mmap-backed loader, and a writer.

File layout (all integers little-endian):
    bytes [0, 8)        u64 N, the length of the JSON header
    bytes [8, 8+N)      UTF-8 JSON object, optionally padded with trailing spaces:
                        {"__metadata__": {str: str}?,
                         "<name>": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...}
    bytes [8+N, EOF)    the data buffer; each tensor's bytes are buffer[begin:end], C order, little-endian.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from baregrad import dtype as dt
from baregrad.dtype import DType
from baregrad.errors import ArgumentError, DTypeError, FormatError
from baregrad.nn.state._common import Reader, checked_numel, map_file
from baregrad.nn.state.torch_save import atomic_write

# The reference implementation refuses headers above 100 MB; a larger one is a hostile file.
MAX_HEADER_BYTES = 100_000_000
HEADER_PREFIX_BYTES = 8

DTYPES: dict[str, DType] = {
    "BOOL": dt.bool_, "U8": dt.uint8, "I8": dt.int8, "I16": dt.int16, "U16": dt.uint16, "I32": dt.int32,
    "U32": dt.uint32, "I64": dt.int64, "U64": dt.uint64, "F16": dt.float16, "BF16": dt.bfloat16,
    "F32": dt.float32, "F64": dt.float64,
}
DTYPE_NAMES: dict[str, str] = {d.name: name for name, d in DTYPES.items()}


@dataclass(frozen=True)
class SafetensorsEntry:
    """One tensor of the file: `begin`/`end` are relative to the data buffer, `file_offset` is absolute."""
    name: str
    dtype: DType
    shape: tuple[int, ...]
    begin: int
    end: int
    file_offset: int
    data: memoryview

    @property
    def nbytes(self) -> int:
        return self.end - self.begin


@dataclass(frozen=True)
class SafetensorsHeader:
    metadata: dict[str, str]
    entries: dict[str, SafetensorsEntry]
    data_start: int


def parse_safetensors(buf: bytes | memoryview, what: str = "safetensors") -> SafetensorsHeader:
    """Parse and validate a whole safetensors file held in `buf`; tensor data stays as views into `buf`."""
    reader = Reader(buf, what=what)
    header_len = reader.scalar("<Q", "header length")
    if header_len > MAX_HEADER_BYTES:
        raise reader.fail(f"header length {header_len} exceeds the {MAX_HEADER_BYTES}-byte limit", 0)
    header = _decode_header(reader.take(header_len, f"header of {header_len} bytes"), what)
    data = reader.buf[reader.pos:]
    metadata = _metadata(header.pop("__metadata__", {}), what)
    entries = {name: _entry(name, info, data, reader.pos, what) for name, info in header.items()}
    _check_no_overlap(entries, what)
    return SafetensorsHeader(metadata, entries, reader.pos)


def _decode_header(raw: memoryview, what: str) -> dict[str, Any]:
    try:
        text = bytes(raw).decode("utf-8")
        header = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except UnicodeDecodeError as e:
        raise FormatError(f"{what}: header is not UTF-8 (at byte {HEADER_PREFIX_BYTES + e.start})") from e
    except json.JSONDecodeError as e:
        raise FormatError(f"{what}: header is not valid JSON: {e.msg} (at byte {HEADER_PREFIX_BYTES + e.pos})") from e
    except ValueError as e:  # e.g. an integer literal longer than Python's int-parsing limit
        raise FormatError(f"{what}: header JSON is invalid: {e} (at byte {HEADER_PREFIX_BYTES})") from e
    except RecursionError as e:
        raise FormatError(f"{what}: header JSON is nested too deeply (at byte {HEADER_PREFIX_BYTES})") from e
    except _DuplicateKey as e:
        raise FormatError(f"{what}: header has the key {e.args[0]!r} twice (at byte {HEADER_PREFIX_BYTES})") from e
    if not isinstance(header, dict):
        raise FormatError(f"{what}: header is a JSON {type(header).__name__}, not an object (at byte 8)")
    return header


class _DuplicateKey(Exception):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads silently keeps the last duplicate; two entries with one name are ambiguous, so refuse them.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _metadata(meta: Any, what: str) -> dict[str, str]:
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise FormatError(f"{what}: __metadata__ must map strings to strings (in the header at byte 8)")
    return meta


def _entry(name: str, info: Any, data: memoryview, data_start: int, what: str) -> SafetensorsEntry:
    where = f"{what}: tensor {name!r} (header at byte {HEADER_PREFIX_BYTES})"
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= info.keys():
        raise FormatError(f"{where}: needs dtype, shape and data_offsets, got {info!r:.200}")
    dtype = DTYPES.get(info["dtype"]) if isinstance(info["dtype"], str) else None
    if dtype is None:
        raise FormatError(f"{where}: unknown dtype {info['dtype']!r:.50}; known: {', '.join(DTYPES)}")
    shape = info["shape"]
    if not isinstance(shape, list):
        raise FormatError(f"{where}: shape {shape!r:.100} is not a list")
    numel = checked_numel(shape, where, dtype.itemsize)
    begin, end = _offsets(info["data_offsets"], len(data), where)
    if end - begin != numel * dtype.itemsize:
        raise FormatError(f"{where}: data_offsets [{begin}, {end}] hold {end - begin} bytes but shape {shape} of "
                          f"{dtype.name} needs {numel * dtype.itemsize} (data at byte {data_start + begin})")
    return SafetensorsEntry(name, dtype, tuple(shape), begin, end, data_start + begin, data[begin:end])


def _offsets(offsets: Any, data_len: int, where: str) -> tuple[int, int]:
    valid = (isinstance(offsets, list) and len(offsets) == 2
             and all(isinstance(o, int) and not isinstance(o, bool) for o in offsets))
    if not valid:
        raise FormatError(f"{where}: data_offsets {offsets!r:.100} is not a pair of integers")
    begin, end = offsets
    if not 0 <= begin <= end <= data_len:
        raise FormatError(f"{where}: data_offsets [{begin}, {end}] fall outside the {data_len}-byte data buffer")
    return begin, end


def _check_no_overlap(entries: dict[str, SafetensorsEntry], what: str) -> None:
    # Gaps between tensors are tolerated; two tensors sharing bytes are not (a hostile file aliasing weights).
    previous: SafetensorsEntry | None = None
    for entry in sorted(entries.values(), key=lambda e: (e.begin, e.end)):
        if previous is not None and entry.begin < previous.end:
            raise FormatError(f"{what}: tensors {previous.name!r} and {entry.name!r} overlap "
                              f"(at byte {entry.file_offset})")
        if entry.end > entry.begin:
            previous = entry


class SafetensorsFile(Mapping):
    """A read-only mapping name -> Tensor over a mapped file; each Tensor is created (copied into a device
    buffer) when its name is looked up, and not cached, so unused weights cost nothing."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self.header = parse_safetensors(map_file(path), what=self.path)

    @property
    def metadata(self) -> dict[str, str]:
        return self.header.metadata

    @property
    def entries(self) -> dict[str, SafetensorsEntry]:
        return self.header.entries

    def __getitem__(self, name: str):
        from baregrad.tensor import Tensor
        entry = self.header.entries[name]
        return Tensor.from_bytes(entry.data, entry.dtype, entry.shape)

    def __iter__(self) -> Iterator[str]:
        return iter(self.header.entries)

    def __len__(self) -> int:
        return len(self.header.entries)

    def __repr__(self) -> str:
        return f"SafetensorsFile({self.path!r}, {len(self)} tensors)"


def safe_load(path: str | os.PathLike) -> SafetensorsFile:
    """Open a safetensors file: the header is parsed and checked now, each tensor is built on access."""
    return SafetensorsFile(path)


def safe_load_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The `__metadata__` strings of a safetensors file (after checking the whole header)."""
    return parse_safetensors(map_file(path), what=os.fspath(path)).metadata


def safe_save(tensors: Mapping[str, Any], path: str | os.PathLike, metadata: Mapping[str, str] | None = None) -> None:
    """Write `tensors` (anything with .dtype, .shape and .to_bytes()) as a safetensors file.

    Tensors are ordered by decreasing itemsize, then name, and the header is padded to 8 bytes, so every
    tensor starts aligned to its itemsize with no gaps (the layout the reference reader requires)."""
    meta = dict(metadata or {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise ArgumentError("safe_save: metadata must map str to str")
    header: dict[str, Any] = {"__metadata__": meta} if meta else {}
    chunks, offset = [], 0
    for name, tensor in sorted(tensors.items(), key=lambda kv: (-kv[1].dtype.itemsize, kv[0])):
        raw = _tensor_bytes(name, tensor)
        header[name] = {"dtype": DTYPE_NAMES[tensor.dtype.name], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(HEADER_PREFIX_BYTES + len(text)) % 8)
    def write(f: BinaryIO) -> None:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for raw in chunks:
            f.write(raw)
    # a crash, a SIGKILL or a Ctrl-C mid-write leaves the old file and no temporary one, never a truncated file
    atomic_write(path, write)


def _tensor_bytes(name: Any, tensor: Any) -> bytes:
    if not isinstance(name, str) or name == "__metadata__":
        raise ArgumentError(f"safe_save: tensor name {name!r} must be a str other than '__metadata__'")
    if tensor.dtype.name not in DTYPE_NAMES:
        raise DTypeError(f"safe_save: {name!r} has dtype {tensor.dtype.name}, which safetensors cannot store")
    raw = tensor.to_bytes()
    expected = checked_numel(tuple(tensor.shape), name) * tensor.dtype.itemsize
    if len(raw) != expected:
        raise ArgumentError(f"safe_save: {name!r} gave {len(raw)} bytes, shape {tuple(tensor.shape)} needs {expected}")
    return raw
