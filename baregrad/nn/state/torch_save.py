"""Writing `torch.save` zip checkpoints without torch, readable by `torch.load(weights_only=True)` and torch_load.

Archive layout (every entry stored uncompressed under `archive/`):
    archive/data.pkl      the object tree as a protocol-2 pickle whose opcodes we emit ourselves (no pickle.Pickler,
                          so nothing but the values below can reach the file)
    archive/byteorder     b"little"
    archive/data/<key>    the raw little-endian bytes of one tensor, C order, its start aligned to 64 bytes in the
                          file (a padding extra field, as torch writes) so that torch.load(mmap=True) can map it
    archive/version       b"3\\n", the format version torch writes
What the pickle may hold: None, bool, int, float, str, list, tuple, dict and collections.OrderedDict (with plain
attributes such as a state_dict's `_metadata`) of those, and baregrad Tensors. Each tensor is pickled as
    torch._utils._rebuild_tensor_v2(<storage>, 0, shape, contiguous strides, requires_grad, OrderedDict())
where <storage> is the persistent id ('storage', torch.<Type>Storage, '<key>', 'cpu', numel). torch has no typed
storage for uint16/32/64: those use _rebuild_tensor_v3 with an extra torch.<dtype> argument on a
torch.storage.UntypedStorage, whose numel counts bytes. Tensor objects sharing one buffer share one storage.
Anything else raises ArgumentError naming its key path. The file is written to a temporary name in the same
folder and renamed over `path`, so a failed save never leaves a truncated or half-written checkpoint.
"""
from __future__ import annotations

import collections
import contextlib
import os
import secrets
import struct
import zipfile
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable

from baregrad.dtype import DType
from baregrad.errors import ArgumentError, DTypeError
from baregrad.nn.state._common import contiguous_strides
from baregrad.nn.state.safe_pickle import short_repr
from baregrad.nn.state.torch_zip import STORAGE_DTYPES, V3_DTYPES

ARCHIVE_NAME = "archive"
ROOT = "checkpoint"  # how error messages name the saved object: checkpoint['opt']['state'][0]
ALIGNMENT = 64
MAX_DEPTH = 100  # torch_load refuses deeper nesting, so we never write it
FORMAT_VERSION = b"3\n"
_TYPED_STORAGES: dict[DType, str] = {d: name for name, d in STORAGE_DTYPES.items()}
_UNTYPED_DTYPES: dict[DType, str] = {d: name for name, d in V3_DTYPES.items()}
_SCALARS = (type(None), bool, int, float, str)
_PADDING_FIELD = 0x4246  # the extra-field id of our alignment padding ("FB", as torch's writer uses)
_LOCAL_HEADER_BYTES = 30
_ZIP64_EXTRA_BYTES = 20  # zipfile adds a zip64 field to the local header of an entry near 2 GiB or more


class _Opcodes:
    """A protocol-2 pickle written opcode by opcode, with a memo for objects that occur more than once."""

    def __init__(self) -> None:
        self.out = bytearray(b"\x80\x02")  # PROTO 2
        self.memo: dict[Any, int] = {}

    def emit(self, raw: bytes) -> None:
        self.out += raw

    def scalar(self, value: Any) -> None:
        if value is None or isinstance(value, bool):
            self.emit({None: b"N", True: b"\x88", False: b"\x89"}[value])
        elif isinstance(value, int):
            self.integer(value)
        elif isinstance(value, float):
            self.emit(b"G" + struct.pack(">d", value))  # BINFLOAT
        else:
            raw = value.encode("utf-8", "surrogatepass")
            self.emit(b"X" + struct.pack("<I", len(raw)) + raw)  # BINUNICODE

    def integer(self, n: int) -> None:
        if 0 <= n < 1 << 8:
            self.emit(b"K" + bytes([n]))  # BININT1
        elif 0 <= n < 1 << 16:
            self.emit(b"M" + struct.pack("<H", n))  # BININT2
        elif -1 << 31 <= n < 1 << 31:
            self.emit(b"J" + struct.pack("<i", n))  # BININT
        else:
            raw = n.to_bytes(n.bit_length() // 8 + 1, "little", signed=True)
            self.emit(b"\x8a" + bytes([len(raw)]) + raw if len(raw) < 256 else  # LONG1
                      b"\x8b" + struct.pack("<I", len(raw)) + raw)  # LONG4

    def global_(self, module: str, name: str) -> None:
        if not self.get(("global", module, name)):
            self.emit(b"c" + f"{module}\n{name}\n".encode("ascii"))  # GLOBAL
            self.put(("global", module, name))

    def int_tuple(self, values: tuple[int, ...]) -> None:
        self.emit(b"(")  # MARK
        for v in values:
            self.integer(v)
        self.emit(b"t")  # TUPLE

    def put(self, key: Any) -> None:
        index = self.memo[key] = len(self.memo)
        self.emit(b"q" + bytes([index]) if index < 256 else b"r" + struct.pack("<I", index))  # BINPUT, LONG_BINPUT

    def get(self, key: Any) -> bool:
        """Push the memoized object for `key` if there is one (BINGET, LONG_BINGET)."""
        index = self.memo.get(key)
        if index is not None:
            self.emit(b"h" + bytes([index]) if index < 256 else b"j" + struct.pack("<I", index))
        return index is not None


@dataclass
class _Storage:
    """One `data/<key>` entry and the tensor whose bytes it holds."""
    key: str
    tensor: Any

    def payload(self) -> bytes:
        raw = self.tensor.to_bytes()
        expected = self.tensor.numel() * self.tensor.dtype.itemsize
        if len(raw) != expected:
            raise ArgumentError(f"save_torch_zip: storage {self.key} got {len(raw)} bytes, its tensor has {expected}")
        return raw


class _CheckpointPickler:
    """Walks the object tree, checking every value, and writes data.pkl's opcodes and the list of storages."""

    def __init__(self) -> None:
        from baregrad.tensor import Tensor
        self.tensor_type = Tensor
        self.ops = _Opcodes()
        self.storages: dict[int, _Storage] = {}  # id of a tensor's node -> its storage
        self.active: set[int] = set()  # ids of the containers on the current path, to catch reference cycles

    def dump(self, obj: Any) -> bytes:
        self.save(obj, ROOT, 0)
        self.ops.emit(b".")  # STOP
        return bytes(self.ops.out)

    def save(self, obj: Any, path: str, depth: int) -> None:
        if type(obj) in _SCALARS:
            self.ops.scalar(obj)
        elif isinstance(obj, self.tensor_type):
            self.save_tensor(obj, path)
        elif type(obj) in (list, tuple, dict, collections.OrderedDict):
            self.save_container(obj, path, depth)
        else:
            raise ArgumentError(f"{path}: cannot save a {_type_name(obj)}; a checkpoint holds only Tensors, None, "
                                "bool, int, float, str, and lists, tuples and dicts of them")

    def save_container(self, obj: Any, path: str, depth: int) -> None:
        if id(obj) in self.active:
            raise ArgumentError(f"{path}: the {type(obj).__name__} contains itself (a reference cycle)")
        if depth >= MAX_DEPTH:
            raise ArgumentError(f"{path}: containers nested more than {MAX_DEPTH} deep")
        if self.ops.get(id(obj)):
            return  # the same object again: a memo reference keeps it one object when loaded
        self.active.add(id(obj))
        if isinstance(obj, tuple):
            self.save_tuple(obj, path, depth)
        elif isinstance(obj, list):
            self.save_list(obj, path, depth)
        else:
            self.save_dict(obj, path, depth)
        self.active.discard(id(obj))

    def save_tuple(self, obj: tuple, path: str, depth: int) -> None:
        self.ops.emit(b"(")  # MARK
        for i, item in enumerate(obj):
            self.save(item, f"{path}[{i}]", depth + 1)
        self.ops.emit(b"t")  # TUPLE
        self.ops.put(id(obj))

    def save_list(self, obj: list, path: str, depth: int) -> None:
        self.ops.emit(b"]")  # EMPTY_LIST
        self.ops.put(id(obj))
        if obj:
            self.ops.emit(b"(")  # MARK
            for i, item in enumerate(obj):
                self.save(item, f"{path}[{i}]", depth + 1)
            self.ops.emit(b"e")  # APPENDS

    def save_dict(self, obj: dict, path: str, depth: int) -> None:
        ordered = type(obj) is collections.OrderedDict
        if ordered:
            self.ops.global_("collections", "OrderedDict")
            self.ops.emit(b")R")  # EMPTY_TUPLE, REDUCE: OrderedDict()
        else:
            self.ops.emit(b"}")  # EMPTY_DICT
        self.ops.put(id(obj))
        if obj:
            self.ops.emit(b"(")  # MARK
            for key, value in obj.items():
                self.save_key(key, path, depth)
                self.save(value, f"{path}[{short_repr(key)}]", depth + 1)
            self.ops.emit(b"u")  # SETITEMS
        if ordered and vars(obj):
            self.save_attributes(obj, path, depth)

    def save_key(self, key: Any, path: str, depth: int) -> None:
        if type(key) not in _SCALARS and not (type(key) is tuple and all(type(k) in _SCALARS for k in key)):
            raise ArgumentError(f"{path}: cannot save a {_type_name(key)} as a dict key ({short_repr(key)})")
        self.save(key, f"{path} key {short_repr(key)}", depth + 1)

    def save_attributes(self, obj: collections.OrderedDict, path: str, depth: int) -> None:
        """An OrderedDict's attributes (a state_dict's `_metadata`), restored by BUILD as torch.load does."""
        attributes = vars(obj)
        self.ops.emit(b"}(")  # EMPTY_DICT, MARK
        for name, value in attributes.items():
            self.ops.scalar(name)
            self.save(value, f"{path}.{name}", depth + 1)
        self.ops.emit(b"ub")  # SETITEMS, BUILD

    def save_tensor(self, t: Any, path: str) -> None:
        if self.ops.get(id(t)):
            return
        untyped = t.dtype in _UNTYPED_DTYPES
        if t.dtype not in _TYPED_STORAGES and not untyped:
            raise DTypeError(f"{path}: cannot save a tensor of dtype {t.dtype.name}; torch has no such dtype")
        self.ops.global_("torch._utils", "_rebuild_tensor_v3" if untyped else "_rebuild_tensor_v2")
        self.ops.emit(b"(")  # MARK: the arguments
        self.save_storage_id(t)
        self.ops.integer(0)  # storage offset
        self.ops.int_tuple(tuple(t.shape))
        self.ops.int_tuple(contiguous_strides(t.shape))
        self.ops.scalar(bool(t.requires_grad))
        self.ops.global_("collections", "OrderedDict")
        self.ops.emit(b")R")  # backward hooks: OrderedDict()
        if untyped:
            self.ops.global_("torch", _UNTYPED_DTYPES[t.dtype])
        self.ops.emit(b"tR")  # TUPLE, REDUCE
        self.ops.put(id(t))

    def save_storage_id(self, t: Any) -> None:
        """The persistent id ('storage', torch.<Type>Storage, key, 'cpu', numel); tensors on one node share it."""
        storage = self.storages.get(id(t.node))
        if storage is None:
            storage = self.storages[id(t.node)] = _Storage(str(len(self.storages)), t)
        self.ops.emit(b"(")  # MARK
        self.ops.scalar("storage")
        if t.dtype in _UNTYPED_DTYPES:
            self.ops.global_("torch.storage", "UntypedStorage")
            numel = t.numel() * t.dtype.itemsize
        else:
            self.ops.global_("torch", _TYPED_STORAGES[t.dtype])
            numel = t.numel()
        self.ops.scalar(storage.key)
        self.ops.scalar("cpu")
        self.ops.integer(numel)
        self.ops.emit(b"tQ")  # TUPLE, BINPERSID


def _type_name(obj: Any) -> str:
    cls = type(obj)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def encode_checkpoint(obj: Any) -> tuple[bytes, list[_Storage]]:
    """data.pkl's bytes for `obj` and the storages it references; raises ArgumentError for an unsavable value."""
    pickler = _CheckpointPickler()
    return pickler.dump(obj), list(pickler.storages.values())


def _add_entry(archive: zipfile.ZipFile, name: str, data: bytes, align: bool = False) -> None:
    info = zipfile.ZipInfo(f"{ARCHIVE_NAME}/{name}", date_time=(1980, 1, 1, 0, 0, 0))  # same object, same bytes
    if align:
        header = _LOCAL_HEADER_BYTES + len(info.filename.encode("utf-8")) + 4
        header += _ZIP64_EXTRA_BYTES if len(data) * 1.05 > zipfile.ZIP64_LIMIT else 0  # zipfile's own test
        pad = -(archive.fp.tell() + header) % ALIGNMENT
        info.extra = struct.pack("<HH", _PADDING_FIELD, pad) + bytes(pad)
    archive.writestr(info, data, zipfile.ZIP_STORED)


def _write_archive(f: BinaryIO, pickle_bytes: bytes, storages: list[_Storage]) -> None:
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as archive:
        _add_entry(archive, "data.pkl", pickle_bytes)
        _add_entry(archive, "byteorder", b"little")
        for storage in storages:
            _add_entry(archive, f"data/{storage.key}", storage.payload(), align=True)
        _add_entry(archive, "version", FORMAT_VERSION)


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call write(file) on a new file beside `path` (through symlinks), then rename it over `path`; on any
    failure the temporary file is removed and `path` is left as it was."""
    target = os.path.realpath(path)
    folder, name = os.path.split(target)
    tmp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save_torch_zip(obj: Any, path: str | os.PathLike) -> None:
    """Save `obj` (Tensors, and None/bool/int/float/str, lists, tuples, dicts and OrderedDicts of them: a state_dict,
    an optimizer's state_dict, a checkpoint dict) as a torch.save zip checkpoint at `path`, replacing it atomically.
    Anything else raises ArgumentError naming where it is, before any file is touched."""
    pickle_bytes, storages = encode_checkpoint(obj)
    atomic_write(path, lambda f: _write_archive(f, pickle_bytes, storages))


__all__ = ["save_torch_zip", "encode_checkpoint", "atomic_write"]
