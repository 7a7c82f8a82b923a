"""PyTorch `torch.save` checkpoints (the zip format, PyTorch >= 1.6), read without torch.

Archive layout: every entry sits under one folder `<prefix>/`:
    <prefix>/data.pkl      the pickled object tree (protocol 2); tensors pickle as
                           torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
                           backward_hooks[, metadata]), parameters wrap that in _rebuild_parameter(tensor, ...);
                           uint16/32/64 tensors use _rebuild_tensor_v3(..., backward_hooks, torch.<dtype>[, metadata])
                           on a torch.storage.UntypedStorage, whose numel counts bytes
    <prefix>/data/<key>    raw bytes of one storage, referenced from the pickle by the persistent id
                           ('storage', torch.<Type>Storage, '<key>', '<location>', numel)
    <prefix>/byteorder     'little' or 'big' (absent in old files: little)
    <prefix>/version, .format_version, .storage_alignment, .data/serialization_id   ignored
Storage entries are stored uncompressed, so their bytes are views into the mapped file.
"""
from __future__ import annotations

import collections
import lzma
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

from baregrad import dtype as dt
from baregrad.dtype import DType
from baregrad.errors import FormatError
from baregrad.nn.state._common import byteswap, checked_numel, gather_strided, map_file, strided_extent
from baregrad.nn.state.safe_pickle import Marker, SafeCallable, refuse_build, run_unpickler, short_repr

STORAGE_DTYPES: dict[str, DType] = {
    "FloatStorage": dt.float32, "DoubleStorage": dt.float64, "HalfStorage": dt.float16,
    "BFloat16Storage": dt.bfloat16, "LongStorage": dt.int64, "IntStorage": dt.int32, "ShortStorage": dt.int16,
    "CharStorage": dt.int8, "ByteStorage": dt.uint8, "BoolStorage": dt.bool_,
}
# dtypes torch has no typed storage class for: their tensors name the dtype (torch.uint16) and use an UntypedStorage
V3_DTYPES: dict[str, DType] = {"uint16": dt.uint16, "uint32": dt.uint32, "uint64": dt.uint64}
# Largest pickle we accept; real data.pkl files are kilobytes, the weights live in the storages.
MAX_PICKLE_BYTES = 1 << 30
# Deflate cannot compress better than about 1032:1; a claimed size beyond that is a zip bomb.
MAX_DEFLATE_RATIO = 1032
# A view with more elements than its storage (zero or overlapping strides, e.g. torch.zeros(1).expand(n)) is
# legal, but we materialize it; past this many elements a few bytes of pickle would ask for gigabytes.
MAX_EXPANDED_NUMEL = 1 << 24
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, (version..sizes), name length, extra length
_LOCAL_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class StorageRecord:
    """One `data/<key>` entry: `data` holds exactly numel * itemsize bytes in the file's byte order."""
    key: str
    dtype: DType
    numel: int
    location: str
    data: memoryview | bytes
    big_endian: bool = False
    __setstate__ = refuse_build  # the pickle holds these; BUILD must not change them after their checks


@dataclass(frozen=True)
class TensorRecord:
    """A tensor as the pickle describes it: a strided view (in elements) of a storage."""
    storage: StorageRecord
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    requires_grad: bool = False
    __setstate__ = refuse_build  # the pickle holds these; BUILD must not change them after their checks

    @property
    def dtype(self) -> DType:
        return self.storage.dtype

    def contiguous_bytes(self) -> bytes:
        """The tensor's values as C-order little-endian bytes (non-contiguous views are gathered)."""
        itemsize = self.dtype.itemsize
        raw = gather_strided(memoryview(self.storage.data), itemsize, self.shape, self.stride, self.offset)
        return byteswap(raw, itemsize) if self.storage.big_endian else raw


@dataclass
class TorchCheckpoint:
    """The parsed checkpoint: the object tree with TensorRecord leaves, and the storages it uses."""
    tree: Any
    storages: dict[str, StorageRecord] = field(default_factory=dict)
    byteorder: str = "little"


class _Archive:
    """The zip file plus the mapped bytes behind it, with the checks torch's reader skips."""

    def __init__(self, path: str):
        self.path = path
        self.buf = map_file(path)
        try:
            self.zip = zipfile.ZipFile(path)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError,
                struct.error) as e:
            raise FormatError(f"{path}: not a readable zip archive (at byte 0): {e}") from e
        self.infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            # zipfile keeps every entry of a name and we would silently use the last; the file is ambiguous
            if info.filename in self.infos:
                raise FormatError(f"{path}: entry {info.filename} appears twice (at byte {info.header_offset})")
            self.infos[info.filename] = info
        self.prefix = self._find_prefix()

    def _find_prefix(self) -> str:
        pickles = [n for n in self.infos if n.endswith("/data.pkl") and n.count("/") == 1] or \
                  [n for n in self.infos if n == "data.pkl"]
        if len(pickles) != 1:
            raise FormatError(f"{self.path}: expected exactly one <prefix>/data.pkl entry, found {pickles[:5]} "
                              f"(central directory at byte {self._directory_offset()})")
        return pickles[0][:-len("data.pkl")]

    def _directory_offset(self) -> int:
        return getattr(self.zip, "start_dir", 0)

    def read_small(self, name: str, limit: int) -> bytes:
        """Read a whole entry through zipfile (CRC checked) after checking its size."""
        info = self._info(name)
        self._check_ratio(info)
        if info.file_size > limit:
            raise FormatError(f"{self.path}: {name} is {info.file_size} bytes, over the {limit}-byte limit "
                              f"(at byte {info.header_offset})")
        try:
            return self.zip.read(info)
        # RuntimeError: zipfile's answer to an entry flagged as encrypted (a corrupt flag bit does it);
        # zlib.error and LZMAError: corrupt deflate or lzma data, which zipfile passes through as they are
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError,
                struct.error, zlib.error, lzma.LZMAError) as e:
            raise FormatError(f"{self.path}: cannot read {name}: {e} (at byte {info.header_offset})") from e

    def has(self, name: str) -> bool:
        return self.prefix + name in self.infos

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = self.infos.get(self.prefix + name)
        if info is None:
            raise FormatError(f"{self.path}: missing entry {self.prefix + name} "
                              f"(central directory at byte {self._directory_offset()})")
        return info

    def _check_ratio(self, info: zipfile.ZipInfo) -> None:
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > MAX_DEFLATE_RATIO * info.compress_size + 64:
            raise FormatError(f"{self.path}: {info.filename} claims {info.file_size} bytes from {info.compress_size} "
                              f"compressed (at byte {info.header_offset})")

    def entry_bytes(self, name: str, nbytes: int) -> memoryview | bytes:
        """The first `nbytes` of an entry: a view into the mapped file when stored, else decompressed."""
        info = self._info(name)
        if info.file_size < nbytes:
            raise FormatError(f"{self.path}: {info.filename} holds {info.file_size} bytes but the pickle needs "
                              f"{nbytes} (at byte {info.header_offset})")
        if info.compress_type != zipfile.ZIP_STORED:
            return self.read_small(name, info.file_size)[:nbytes]
        start = self._data_start(info)
        return self.buf[start:start + nbytes]

    def _data_start(self, info: zipfile.ZipInfo) -> int:
        at = info.header_offset
        if at < 0 or at + _LOCAL_HEADER.size > len(self.buf):
            raise FormatError(f"{self.path}: local header of {info.filename} lies outside the file (at byte {at})")
        magic, name_len, extra_len = _LOCAL_HEADER.unpack_from(self.buf, at)
        if magic != _LOCAL_MAGIC:
            raise FormatError(f"{self.path}: bad local header signature for {info.filename} (at byte {at})")
        start = at + _LOCAL_HEADER.size + name_len + extra_len
        if start + info.file_size > len(self.buf) or info.compress_size != info.file_size:
            raise FormatError(f"{self.path}: data of {info.filename} ({info.file_size} bytes) runs past the end "
                              f"of the file (at byte {start})")
        return start


def parse_torch_zip(path: str | os.PathLike) -> TorchCheckpoint:
    """Parse a torch.save zip checkpoint into a TorchCheckpoint without creating any Tensor."""
    archive = _Archive(os.fspath(path))
    byteorder = "little"
    if archive.has("byteorder"):
        byteorder = archive.read_small("byteorder", 16).decode("ascii", "replace").strip()
        if byteorder not in ("little", "big"):
            raise FormatError(f"{archive.path}: byteorder entry says {byteorder!r:.20}, not little or big")
    checkpoint = TorchCheckpoint(None, {}, byteorder)
    data = archive.read_small("data.pkl", MAX_PICKLE_BYTES)
    what = f"{archive.path}:{archive.prefix}data.pkl"
    loader = _StorageLoader(archive, checkpoint, what)
    checkpoint.tree = run_unpickler(data, torch_globals(), loader, encoding="utf-8", what=what)
    check_tree(checkpoint.tree, what)
    return checkpoint


@dataclass(frozen=True)
class StorageId:
    """The checked fields of a storage's persistent id ('storage', torch.<Type>Storage, key, location, numel)."""
    dtype: DType
    key: str
    location: str
    numel: int

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize


def parse_storage_id(pid: Any, length: int, what: str) -> StorageId:
    """Check a persistent id of `length` fields whose first five are ('storage', type, key, location, numel):
    the zip format's has five, the legacy format's a sixth (a view). Its size is checked to fit 2**63 bytes."""
    if not (isinstance(pid, tuple) and len(pid) == length and pid[0] == "storage"):
        raise FormatError(f"{what}: persistent id {short_repr(pid)} is not ('storage', type, key, location, n"
                          f"{', view' if length == 6 else ''})")
    storage_type, key, location, numel = pid[1:5]
    valid = (isinstance(storage_type, Marker) and isinstance(storage_type.value, DType)
             and isinstance(key, str) and key.isdigit() and isinstance(location, str)
             and isinstance(numel, int) and not isinstance(numel, bool) and numel >= 0)
    if not valid:
        raise FormatError(f"{what}: malformed storage id {short_repr(pid)}")
    checked_numel((numel, storage_type.value.itemsize), f"{what}: storage {key}")
    return StorageId(storage_type.value, key, location, numel)


def same_storage(known: StorageId | StorageRecord, sid: StorageId, what: str) -> None:
    """A key names one storage: every id that repeats it must give the same dtype and size."""
    if (known.dtype, known.numel) != (sid.dtype, sid.numel):
        raise FormatError(f"{what}: storage {sid.key} used as {known.dtype.name}[{known.numel}] and "
                          f"{sid.dtype.name}[{sid.numel}]")


class _StorageLoader:
    """persistent_load for zip checkpoints: validates the id and maps the storage entry once per key."""

    def __init__(self, archive: _Archive, checkpoint: TorchCheckpoint, what: str):
        self.archive, self.checkpoint, self.what = archive, checkpoint, what

    def __call__(self, pid: Any) -> StorageRecord:
        sid = parse_storage_id(pid, 5, self.what)
        cached = self.checkpoint.storages.get(sid.key)
        if cached is not None:
            same_storage(cached, sid, self.what)
            return cached
        data = self.archive.entry_bytes(f"data/{sid.key}", sid.nbytes)
        record = StorageRecord(sid.key, sid.dtype, sid.numel, sid.location, data, self.checkpoint.byteorder == "big")
        self.checkpoint.storages[sid.key] = record
        return record


def _rebuild_tensor_v2(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any = False,
                       backward_hooks: Any = None, metadata: Any = None) -> TensorRecord:
    if not isinstance(storage, StorageRecord):
        raise FormatError(f"_rebuild_tensor_v2 got {type(storage).__name__}, not a storage")
    where = f"tensor on storage {storage.key}"
    if not (_is_int_tuple(size) and _is_int_tuple(stride) and len(size) == len(stride)):
        raise FormatError(f"{where}: size {short_repr(size)} and stride {short_repr(stride)} must be int tuples of "
                          "one length")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise FormatError(f"{where}: storage offset {short_repr(offset)} must be a non-negative int")
    numel = checked_numel(size, where, storage.dtype.itemsize)
    if any(s < 0 for s in stride):
        raise FormatError(f"{where}: negative stride {stride}")
    if strided_extent(size, stride, offset) > storage.numel:
        raise FormatError(f"{where}: offset {offset}, size {size}, stride {stride} reach element "
                          f"{strided_extent(size, stride, offset) - 1} of a {storage.numel}-element storage")
    if numel > max(storage.numel, MAX_EXPANDED_NUMEL):
        raise FormatError(f"{where}: size {size} with stride {stride} is a view of {numel} elements on a "
                          f"{storage.numel}-element storage, more than the {MAX_EXPANDED_NUMEL} we expand")
    return TensorRecord(storage, offset, tuple(size), tuple(stride), bool(requires_grad))


def _is_int_tuple(x: Any) -> bool:
    return isinstance(x, tuple) and all(isinstance(i, int) and not isinstance(i, bool) for i in x)


@dataclass(frozen=True)
class _DTypeName:
    """The value of a whitelisted dtype global (torch.uint16): only _rebuild_tensor_v3 takes one."""
    dtype: DType
    __setstate__ = refuse_build


def _rebuild_tensor_v3(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any, backward_hooks: Any,
                       dtype: Any, metadata: Any = None) -> TensorRecord:
    """A tensor on an untyped (byte) storage: the storage is read as `dtype`, offset and strides in its elements."""
    if not (isinstance(storage, StorageRecord) and storage.dtype is dt.uint8):
        raise FormatError(f"_rebuild_tensor_v3 got {short_repr(storage)}, not an untyped storage")
    if not (isinstance(dtype, Marker) and isinstance(dtype.value, _DTypeName)):
        raise FormatError(f"_rebuild_tensor_v3 got dtype {short_repr(dtype)}, not a torch dtype")
    d = dtype.value.dtype
    if storage.numel % d.itemsize:
        raise FormatError(f"tensor on storage {storage.key}: {storage.numel} bytes are not whole {d.name} elements")
    numel = storage.numel // d.itemsize
    typed = StorageRecord(storage.key, d, numel, storage.location, storage.data[:numel * d.itemsize],
                          storage.big_endian)
    return _rebuild_tensor_v2(typed, offset, size, stride, requires_grad)


def _rebuild_parameter(data: Any, requires_grad: Any = True, backward_hooks: Any = None) -> TensorRecord:
    if not isinstance(data, TensorRecord):
        raise FormatError(f"_rebuild_parameter got {type(data).__name__}, not a tensor")
    return TensorRecord(data.storage, data.offset, data.shape, data.stride, bool(requires_grad))


def torch_globals() -> dict[tuple[str, str], Any]:
    """The whitelist for torch checkpoints, each name mapped to a stand-in that builds records, not tensors."""
    table: dict[tuple[str, str], Any] = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): SafeCallable("torch._utils._rebuild_tensor_v2", _rebuild_tensor_v2),
        ("torch._utils", "_rebuild_parameter"): SafeCallable("torch._utils._rebuild_parameter", _rebuild_parameter),
    }
    for name, dtype in STORAGE_DTYPES.items():
        table[("torch", name)] = Marker(f"torch.{name}", dtype)
    table[("torch._utils", "_rebuild_tensor_v3")] = SafeCallable("torch._utils._rebuild_tensor_v3", _rebuild_tensor_v3)
    table[("torch.storage", "UntypedStorage")] = Marker("torch.storage.UntypedStorage", dt.uint8)  # numel in bytes
    for name, dtype in V3_DTYPES.items():
        table[("torch", name)] = Marker(f"torch.{name}", _DTypeName(dtype))
    return table


def check_tree(obj: Any, what: str, depth: int = 0, checked: set[int] | None = None) -> None:
    """Refuse bare whitelisted objects at the leaves and cycles/absurd nesting before anyone walks the tree.
    `checked` holds the ids of containers already passed: memo references can share one container from 2**n
    paths, and each is checked once (an id joins only after its contents, so a cycle still hits the depth)."""
    checked = set() if checked is None else checked
    if depth > 100:
        raise FormatError(f"{what}: containers nested more than 100 deep (or a reference cycle)")
    if isinstance(obj, (Marker, SafeCallable, StorageRecord)) or obj is collections.OrderedDict:
        raise FormatError(f"{what}: the tree holds a bare {short_repr(obj)}; only tensors and plain data are allowed")
    if id(obj) in checked:
        return
    if isinstance(obj, dict):
        for key, value in obj.items():
            check_tree(key, what, depth + 1, checked)
            check_tree(value, what, depth + 1, checked)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for item in obj:
            check_tree(item, what, depth + 1, checked)
    else:
        return
    checked.add(id(obj))  # the tree keeps obj alive, so its id is not reused during the walk


def records_to_tensors(obj: Any, done: dict[int, Any] | None = None, device: Any = None) -> Any:
    """Replace every TensorRecord in a checked tree by a Tensor on `device` (None: the default device); containers
    keep their types. `done` maps the id of each record or container already converted to its result, so shared
    objects stay shared and are converted once however many paths lead to them."""
    from baregrad.tensor import Tensor
    done = {} if done is None else done
    if id(obj) in done:
        return done[id(obj)]
    if isinstance(obj, TensorRecord):
        out: Any = Tensor.from_bytes(obj.contiguous_bytes(), obj.dtype, obj.shape, device)
    elif isinstance(obj, collections.OrderedDict):
        out = collections.OrderedDict((k, records_to_tensors(v, done, device)) for k, v in obj.items())
        out.__dict__.update(obj.__dict__)  # keeps a state_dict's `_metadata` (module versions)
    elif isinstance(obj, dict):
        out = {k: records_to_tensors(v, done, device) for k, v in obj.items()}
    elif isinstance(obj, (list, tuple)):
        out = type(obj)(records_to_tensors(v, done, device) for v in obj)
    else:
        return obj
    done[id(obj)] = out  # the tree keeps obj alive, so its id is not reused during the walk
    return out

