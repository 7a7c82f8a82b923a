"""Helpers shared by the model-file parsers: mapping files, a bounds-checked reader, checked element counts,
strided copies and byte swapping. Pure Python, no third-party imports."""
from __future__ import annotations

import mmap
import os
import struct
from typing import Sequence

from baregrad.errors import FormatError

# No real tensor has more elements than a signed 64-bit offset can address; a larger count is hostile.
MAX_NUMEL = 2 ** 63 - 1
MAX_DIMS = 64

_UINT_FORMAT = {1: "B", 2: "H", 4: "I", 8: "Q"}


def map_file(path: str | os.PathLike) -> memoryview:
    """Map `path` read-only and return a byte view of it; an empty file gives an empty view
    (mmap refuses empty files, and callers report the truncation themselves)."""
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                return memoryview(b"")
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except IsADirectoryError as e:
        raise FormatError(f"{path}: is a directory, not a model file (at byte 0)") from e
    return memoryview(mapped)


class Reader:
    """A cursor over a byte view whose every read is checked against the end, so a hostile length field can
    never make us read past the buffer or allocate more than the file holds."""

    def __init__(self, buf: bytes | memoryview, pos: int = 0, what: str = "file"):
        self.buf = memoryview(buf).cast("B")
        self.pos = pos
        self.what = what

    @property
    def remaining(self) -> int:
        return len(self.buf) - self.pos

    def fail(self, message: str, at: int | None = None) -> FormatError:
        return FormatError(f"{self.what}: {message} (at byte {self.pos if at is None else at})")

    def need(self, n: int, what: str) -> None:
        if n < 0 or n > self.remaining:
            raise self.fail(f"{what} needs {n} bytes but only {self.remaining} remain (file size {len(self.buf)})")

    def take(self, n: int, what: str) -> memoryview:
        self.need(n, what)
        view = self.buf[self.pos:self.pos + n]
        self.pos += n
        return view

    def unpack(self, fmt: str, what: str) -> tuple:
        size = struct.calcsize(fmt)
        self.need(size, what)
        values = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return values

    def scalar(self, fmt: str, what: str):
        return self.unpack(fmt, what)[0]


def checked_numel(shape: Sequence[int], where: str, itemsize: int = 1) -> int:
    """The product of `shape`, refusing negative or non-integer dims and shapes of `itemsize`-byte elements
    beyond MAX_NUMEL bytes (Python ints never overflow, but a C consumer of the same numbers would). The
    nonzero dims are checked even when a zero dim empties the shape: numpy and C code multiply them too."""
    if len(shape) > MAX_DIMS:
        raise FormatError(f"{where}: {len(shape)} dims is more than the {MAX_DIMS} allowed")
    numel, span = 1, itemsize
    for d in shape:
        if not isinstance(d, int) or isinstance(d, bool) or d < 0:
            raise FormatError(f"{where}: shape {list(shape)!r} has an invalid dim {d!r}")
        numel *= d
        span *= max(d, 1)
        if span > MAX_NUMEL:
            raise FormatError(f"{where}: shape {list(shape)!r} of {itemsize}-byte elements spans more than "
                              "2**63-1 bytes")
    return numel


def contiguous_strides(shape: Sequence[int]) -> tuple[int, ...]:
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= max(d, 1)
    return tuple(reversed(strides))


def strided_extent(shape: Sequence[int], strides: Sequence[int], offset: int) -> int:
    """One past the largest element index a strided view touches (0 for an empty view)."""
    if any(d == 0 for d in shape):
        return 0
    return offset + sum((d - 1) * s for d, s in zip(shape, strides)) + 1


def gather_strided(data: memoryview, itemsize: int, shape: Sequence[int], strides: Sequence[int],
                   offset: int) -> bytes:
    """Copy a strided view of `data` (offset and strides counted in elements) into C-order bytes.
    The caller has checked that the view lies inside `data`; one slice is copied per innermost row."""
    numel = checked_numel(shape, "strided view")
    if numel == 0:
        return b""
    if _is_contiguous(shape, strides):
        return bytes(data[offset * itemsize:(offset + numel) * itemsize])
    if not shape:
        return bytes(data[offset * itemsize:(offset + 1) * itemsize])
    elems = data if itemsize == 1 else data[:len(data) - len(data) % itemsize].cast(_UINT_FORMAT[itemsize])
    rows: list[bytes] = []
    _gather_rows(elems, tuple(shape), tuple(strides), offset, rows)
    return b"".join(rows)


def _is_contiguous(shape: Sequence[int], strides: Sequence[int]) -> bool:
    # Dims of size 1 may carry any stride without changing the layout.
    return all(d == 1 or s == c for d, s, c in zip(shape, strides, contiguous_strides(shape)))


def _gather_rows(elems: memoryview, shape: tuple[int, ...], strides: tuple[int, ...], start: int,
                 rows: list[bytes]) -> None:
    n, step = shape[-1], strides[-1]
    if len(shape) == 1:
        # A zero stride (an expanded dim) repeats one element; a slice with step 0 is not allowed.
        rows.append(elems[start:start + 1].tobytes() * n if step == 0 else
                    elems[start:start + (n - 1) * step + 1:step].tobytes())
        return
    for i in range(shape[0]):
        _gather_rows(elems, shape[1:], strides[1:], start + i * strides[0], rows)


def byteswap(data: bytes | memoryview, itemsize: int) -> bytes:
    """Reverse the byte order of every `itemsize`-byte element (big-endian files to our little-endian)."""
    if itemsize == 1:
        return bytes(data)
    src = memoryview(data).cast("B")
    out = bytearray(len(src))
    for i in range(itemsize):
        out[i::itemsize] = src[itemsize - 1 - i::itemsize]
    return bytes(out)
