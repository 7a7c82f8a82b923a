"""PyTorch `torch.save` checkpoints in the legacy format, read without torch: what torch wrote before 1.6 (and
since, with `_use_new_zipfile_serialization=False`); most published ImageNet weights, torchvision's among them.

File layout: five pickles one after another, then the raw storages
    1. the magic number 0x1950a86a20f9469cfc6c           2. the protocol version 1001
    3. system info {'protocol_version', 'little_endian', 'type_sizes'}: ignored, torch writes storages
       little-endian on every machine
    4. the object tree, pickled as in the zip format's data.pkl, except that a storage's persistent id has a sixth
       field: ('storage', torch.<Type>Storage, '<key>', '<location>', numel, view), where view is None, or, in files
       of PyTorch < 1.0, ('<view key>', offset, numel): a slice of the root storage, counted in its elements
    5. the list of storage keys, in the order their data follows
    then for each listed key: its element count (8 bytes, little-endian) and count * itemsize bytes of data.
The data section can only be walked once each key's dtype is known, and that is in the object tree, so the tree is
unpickled twice with the zip format's whitelist: once to collect and check the storage ids, once with the storages'
bytes (views into the mapped file) in place. Every count and size is checked against what the file holds.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import Any

from baregrad.errors import FormatError
from baregrad.nn.state._common import map_file
from baregrad.nn.state.safe_pickle import pickle_end, run_unpickler, short_repr
from baregrad.nn.state.torch_zip import (
    MAX_PICKLE_BYTES,
    StorageId,
    StorageRecord,
    TorchCheckpoint,
    check_tree,
    parse_storage_id,
    same_storage,
    torch_globals,
)

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
# The header pickles and the key list are small: a few hundred bytes, plus about 20 per storage key.
MAX_SMALL_PICKLE_BYTES = 1 << 24
_COUNT = struct.Struct("<q")


@dataclass(frozen=True)
class StorageView:
    """A persistent id's view field: `numel` elements of root storage `root` from element `offset`."""
    key: str
    root: str
    offset: int
    numel: int


class _Cursor:
    """Where the next section starts in the mapped file; every section is checked to lie inside it."""

    def __init__(self, path: str):
        self.path = path
        self.buf = map_file(path)
        self.pos = 0

    def pickle(self, section: str, limit: int) -> tuple[bytes, str]:
        """The next pickle's bytes and how error messages name it; the cursor moves past it."""
        what = f"{self.path}: {section} (the pickle at byte {self.pos})"
        if self.pos >= len(self.buf):
            raise FormatError(f"{self.path}: the file ends (at byte {self.pos}) where the {section} should start")
        end = pickle_end(self.buf, self.pos, limit, what)
        data, self.pos = bytes(self.buf[self.pos:end]), end
        return data, what

    def plain_value(self, section: str, limit: int = MAX_SMALL_PICKLE_BYTES) -> Any:
        """A pickle of plain data: no global at all is allowed, nor any persistent id."""
        data, what = self.pickle(section, limit)
        return run_unpickler(data, {}, encoding="utf-8", what=what)

    def storage_data(self, sid: StorageId) -> memoryview:
        """The next storage: its element count, which must be the id's, then exactly its bytes."""
        at = self.pos
        if len(self.buf) - at < _COUNT.size:
            raise FormatError(f"{self.path}: storage {sid.key}'s element count needs {_COUNT.size} bytes but "
                              f"{len(self.buf) - at} remain (at byte {at})")
        (count,) = _COUNT.unpack_from(self.buf, at)
        if count != sid.numel:
            raise FormatError(f"{self.path}: storage {sid.key} holds {count} elements but the pickle says "
                              f"{sid.dtype.name}[{sid.numel}] (at byte {at})")
        start = at + _COUNT.size
        if sid.nbytes > len(self.buf) - start:
            raise FormatError(f"{self.path}: storage {sid.key} needs {sid.nbytes} bytes but {len(self.buf) - start} "
                              f"remain (at byte {start})")
        self.pos = start + sid.nbytes
        return self.buf[start:self.pos]


class _LegacyStorages:
    """persistent_load for the legacy format's tree. Until `roots` have their data it hands out empty stand-ins
    (the first pass only collects and checks ids); then the records that hold the bytes."""

    def __init__(self, what: str):
        self.what = what
        self.ids: dict[str, StorageId] = {}
        self.views: dict[str, StorageView] = {}
        self.records: dict[str, StorageRecord] | None = None

    def __call__(self, pid: Any) -> StorageRecord:
        sid = parse_storage_id(pid, 6, self.what)
        known = self.ids.setdefault(sid.key, sid)
        same_storage(known, sid, self.what)
        view = None if pid[5] is None else self._view(sid, pid[5])
        if self.records is None:
            numel = sid.numel if view is None else view.numel
            return StorageRecord(sid.key if view is None else view.key, sid.dtype, numel, sid.location, b"")
        return self._record(sid, view)

    def _view(self, sid: StorageId, field: Any) -> StorageView:
        ok = (isinstance(field, tuple) and len(field) == 3 and isinstance(field[0], str) and field[0].isdigit()
              and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in field[1:]))
        if not ok:
            raise FormatError(f"{self.what}: storage {sid.key}'s view {short_repr(field)} is not (key, offset, n)")
        view = StorageView(field[0], sid.key, field[1], field[2])
        if view.offset + view.numel > sid.numel:
            raise FormatError(f"{self.what}: view {view.key} of elements {view.offset}..{view.offset + view.numel} "
                              f"lies outside storage {sid.key} of {sid.numel} elements")
        if self.views.setdefault(view.key, view) != view:
            raise FormatError(f"{self.what}: view {view.key} is given as {self.views[view.key]} and as {view}")
        return view

    def check_keys(self) -> None:
        """A view's key must not also name a root storage: torch would hand out whichever it met first."""
        both = sorted(set(self.ids) & set(self.views))
        if both:
            raise FormatError(f"{self.what}: key {both[0]} names both a storage and a view of one")

    def _record(self, sid: StorageId, view: StorageView | None) -> StorageRecord:
        records = self.records if self.records is not None else {}
        root = records[sid.key]
        if view is None:
            return root
        if view.key not in records:
            itemsize = sid.dtype.itemsize
            data = root.data[view.offset * itemsize:(view.offset + view.numel) * itemsize]
            records[view.key] = StorageRecord(view.key, sid.dtype, view.numel, sid.location, data)
        return records[view.key]


def parse_torch_legacy(path: str | os.PathLike) -> TorchCheckpoint:
    """Parse a legacy (non-zip) torch.save checkpoint into a TorchCheckpoint without creating any Tensor."""
    cursor = _Cursor(os.fspath(path))
    try:
        magic = cursor.plain_value("magic number", 64)
    except FormatError as e:
        raise FormatError(f"{cursor.path}: not a torch.save checkpoint: neither a zip archive nor the legacy "
                          f"format, whose first pickle is a magic number ({e})") from e
    if type(magic) is not int or magic != MAGIC_NUMBER:
        raise FormatError(f"{cursor.path}: not a torch.save checkpoint: neither a zip archive nor the legacy format's "
                          f"magic number (got {short_repr(magic)} at byte 0)")
    version = cursor.plain_value("protocol version")
    if version != PROTOCOL_VERSION:
        raise FormatError(f"{cursor.path}: legacy protocol version {short_repr(version)}, not {PROTOCOL_VERSION} "
                          "(at byte 15)")
    info = cursor.plain_value("system info")
    if not isinstance(info, dict):
        raise FormatError(f"{cursor.path}: the system info is a {type(info).__name__}, not a dict")
    tree_bytes, what = cursor.pickle("object tree", MAX_PICKLE_BYTES)
    storages = _LegacyStorages(what)
    run_unpickler(tree_bytes, torch_globals(), storages, encoding="utf-8", what=what)  # collects the ids
    storages.check_keys()
    keys = cursor.plain_value("storage key list")
    storages.records = _read_storages(cursor, keys, storages.ids)
    if cursor.pos != len(cursor.buf):
        raise FormatError(f"{cursor.path}: {len(cursor.buf) - cursor.pos} bytes follow the last storage "
                          f"(at byte {cursor.pos})")
    roots = dict(storages.records)
    tree = run_unpickler(tree_bytes, torch_globals(), storages, encoding="utf-8", what=what)
    check_tree(tree, what)
    return TorchCheckpoint(tree, roots, "little")


def _read_storages(cursor: _Cursor, keys: Any, ids: dict[str, StorageId]) -> dict[str, StorageRecord]:
    """Each listed storage's bytes, in the list's order; the list must name every storage the tree uses, once."""
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        raise FormatError(f"{cursor.path}: the storage key list is {short_repr(keys)}, not a list of strings")
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise FormatError(f"{cursor.path}: storage key {key!r:.40} is listed twice")
        seen.add(key)
    unknown = [k for k in keys if k not in ids]
    if unknown:
        raise FormatError(f"{cursor.path}: the key list names storage {unknown[0]!r:.40}, which the pickle never uses")
    missing = sorted(set(ids) - set(keys))
    if missing:
        raise FormatError(f"{cursor.path}: storage {missing[0]!r:.40} is used by the pickle but has no data")
    records = {}
    for key in keys:
        sid = ids[key]
        records[key] = StorageRecord(key, sid.dtype, sid.numel, sid.location, cursor.storage_data(sid))
    return records
