"""Protobuf wire-format decoding with bounds checks: the bytes layer under the ONNX reader.

A protobuf message is a run of fields, each a varint key (field number << 3 | wire type) then a value: a varint,
8 or 4 fixed bytes, or a varint length and that many bytes (a sub-message, a string, or a packed repeated field).
Every offset here is absolute in the one buffer the file was read into, so an error names the byte where it
happened. No value is copied until asked for: a length-delimited field is a (start, end) span.
"""
from __future__ import annotations

import struct
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

from baregrad.errors import FormatError


class WireType(IntEnum):
    VARINT = 0
    FIXED64 = 1
    LEN = 2
    START_GROUP = 3   # deprecated groups: ONNX never uses them, so they are rejected
    END_GROUP = 4
    FIXED32 = 5


_MAX_VARINT_BYTES = 10
_U64 = 1 << 64
_I64_SIGN = 1 << 63


@dataclass(frozen=True)
class Field:
    """One decoded field. For VARINT/FIXED* `value` is the integer (fixed: its raw unsigned bits); for LEN the
    payload is buf[start:end]. `offset` is where the field's key starts (for error messages)."""
    number: int
    wire: WireType
    value: int
    start: int
    end: int
    offset: int


def read_varint(buf: bytes | memoryview, pos: int, end: int, what: str) -> tuple[int, int]:
    """The unsigned varint at buf[pos:end] and the position after it."""
    result = shift = 0
    start = pos
    while True:
        if pos >= end:
            raise FormatError(f"{what}: varint truncated at byte {start} (the message ends at byte {end})")
        if pos - start >= _MAX_VARINT_BYTES:
            raise FormatError(f"{what}: varint longer than {_MAX_VARINT_BYTES} bytes at byte {start}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & (_U64 - 1), pos
        shift += 7


def to_signed64(v: int) -> int:
    """A varint's 64 bits read as two's complement (int32 and int64 fields are sign-extended to 64 bits)."""
    return v - _U64 if v & _I64_SIGN else v


def iter_fields(buf: bytes | memoryview, start: int, end: int, what: str) -> Iterator[Field]:
    """Every field of the message at buf[start:end], in file order, each checked to lie inside the message."""
    pos = start
    while pos < end:
        offset = pos
        key, pos = read_varint(buf, pos, end, what)
        number, wire = key >> 3, key & 7
        if number == 0 or number >= 1 << 29:
            raise FormatError(f"{what}: invalid field number {number} at byte {offset}")
        if wire == WireType.VARINT:
            value, pos = read_varint(buf, pos, end, f"{what} field {number}")
            yield Field(number, WireType.VARINT, value, pos, pos, offset)
        elif wire == WireType.FIXED64 or wire == WireType.FIXED32:
            size = 8 if wire == WireType.FIXED64 else 4
            if pos + size > end:
                raise FormatError(f"{what} field {number}: {size}-byte value at byte {pos} runs past the end of "
                                  f"the message (byte {end})")
            value = int.from_bytes(buf[pos:pos + size], "little")
            yield Field(number, WireType(wire), value, pos, pos + size, offset)
            pos += size
        elif wire == WireType.LEN:
            length, pos = read_varint(buf, pos, end, f"{what} field {number} length")
            if length > end - pos:
                raise FormatError(f"{what} field {number}: length {length} at byte {offset} runs past the end of "
                                  f"the message ({end - pos} bytes left)")
            yield Field(number, WireType.LEN, length, pos, pos + length, offset)
            pos += length
        else:
            raise FormatError(f"{what}: field {number} at byte {offset} has wire type {wire}, which ONNX files "
                              f"do not use (groups or an invalid type)")


def expect(f: Field, wire: WireType, what: str) -> None:
    if f.wire != wire:
        raise FormatError(f"{what} (field {f.number}) at byte {f.offset}: wire type {int(f.wire)}, expected "
                          f"{int(wire)} ({wire.name})")


def as_int64(f: Field, what: str) -> int:
    expect(f, WireType.VARINT, what)
    return to_signed64(f.value)


def as_float(f: Field, what: str) -> float:
    expect(f, WireType.FIXED32, what)
    return struct.unpack("<f", f.value.to_bytes(4, "little"))[0]


def as_bytes(buf: bytes | memoryview, f: Field, what: str) -> bytes:
    expect(f, WireType.LEN, what)
    return bytes(buf[f.start:f.end])


def as_str(buf: bytes | memoryview, f: Field, what: str) -> str:
    raw = as_bytes(buf, f, what)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"{what} at byte {f.offset}: not valid UTF-8 ({e.reason} at byte {f.start + e.start})") \
            from None


def packed_varints(buf: bytes | memoryview, start: int, end: int, what: str) -> list[int]:
    """A packed repeated varint field's values, unsigned (the count is bounded by the bytes: one or more each)."""
    out = []
    pos = start
    while pos < end:
        v, pos = read_varint(buf, pos, end, what)
        out.append(v)
    return out


def repeated_int64(buf: bytes | memoryview, f: Field, into: list[int], what: str) -> None:
    """Append a repeated int64 field's values: protobuf writers may send it packed (LEN) or one per key."""
    if f.wire == WireType.LEN:
        into.extend(to_signed64(v) for v in packed_varints(buf, f.start, f.end, what))
    else:
        into.append(as_int64(f, what))


def repeated_fixed(buf: bytes | memoryview, f: Field, code: str, into: array, what: str) -> None:
    """Append a repeated fixed-width field (code 'f' float32, 'd' double) sent packed or one per key."""
    size = array(code).itemsize
    if f.wire == WireType.LEN:
        if (f.end - f.start) % size:
            raise FormatError(f"{what} at byte {f.offset}: {f.end - f.start} bytes is not a whole number of "
                              f"{size}-byte values")
        chunk = array(code)
        chunk.frombytes(bytes(buf[f.start:f.end]))
        into.extend(chunk)
    else:
        expect(f, WireType.FIXED32 if size == 4 else WireType.FIXED64, what)
        chunk = array(code)
        chunk.frombytes(f.value.to_bytes(size, "little"))
        into.extend(chunk)
