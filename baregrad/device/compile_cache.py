"""The on-disk compile cache: binaries keyed by a hash of source, compiler and flags, safe against damage.

An entry is two files in `cache_dir()/key[:2]/`: the binary, named after its own content hash, and a small
record `key.entry` (JSON: format version, target identity, binary name, size, SHA-256). Both are written to a
unique temporary name and renamed into place, so a reader sees an old entry or a whole new one, never half of
one, and two processes building the same key at once both succeed. An entry that does not verify (random
bytes, truncation, a wrong size, another format version, a binary built for another CPU/GPU) is rebuilt with
one CacheWarning. A cache directory that cannot be written (read-only, full, not a directory) is replaced for
the rest of the process by a private temporary one, with one CacheWarning: running without the disk cache.
"""
from __future__ import annotations

import atexit
import contextlib
import errno
import glob
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass

from baregrad import config, stats
from baregrad.errors import CacheWarning, CompileError

FORMAT_VERSION = 2
RECORD_SUFFIX = ".entry"
MAX_RECORD_BYTES = 1 << 16  # a record is ~300 bytes; anything much larger is damage, not a record
ROOM_NEEDED = 1 << 20  # under this many free bytes a failed build is blamed on a full disk
# errors that mean "this directory cannot take the file", not "the compiler is broken"
UNWRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.ENOTDIR,
              errno.EEXIST}

# cache root that could not be written -> the private directory used instead, for this process
_fallback_dirs: dict[str, str] = {}


@dataclass(frozen=True)
class EntryRecord:
    """What `key.entry` says about a cached binary; every field is checked before the binary is used."""
    version: int
    target: str
    binary: str  # file name in the same folder
    size: int
    sha256: str

    def encode(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @staticmethod
    def decode(data: bytes) -> EntryRecord:
        """The record in `data`; ValueError (with the reason) for anything that is not one."""
        try:
            fields = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as e:
            raise ValueError("the record is not text") from e
        except RecursionError as e:  # '[[[[...' nested deeper than the parser's stack
            raise ValueError("the record nests too deeply") from e
        if not isinstance(fields, dict) or set(fields) != {"version", "target", "binary", "size", "sha256"}:
            raise ValueError("the record has the wrong fields")
        types = {"version": int, "target": str, "binary": str, "size": int, "sha256": str}
        if any(type(fields[k]) is not t for k, t in types.items()):
            raise ValueError("a record field has the wrong type")
        if os.path.basename(fields["binary"]) != fields["binary"] or fields["binary"] in ("", ".", ".."):
            raise ValueError("the record names a file outside its folder")
        return EntryRecord(**fields)


def cache_key(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cached_build(key: str, suffix: str, build: Callable[[str], None], target: str = "") -> str:
    """Path to a verified cache entry for `key`, running build(path) to produce it when missing or damaged.
    `target` names what the binary runs on (CPU model and features, GPU arch): an entry for another target
    is rebuilt, never loaded."""
    root = config.cache_dir()
    if root not in _fallback_dirs:
        try:
            return _build_in(os.path.join(root, key[:2]), key, suffix, build, target)
        except OSError as e:
            if e.errno not in UNWRITABLE:
                raise
            _give_up_disk_cache(root, f"{e.strerror or e}")
        except CompileError:
            if _free_bytes(os.path.join(root, key[:2])) >= ROOM_NEEDED:
                raise
            _give_up_disk_cache(root, "no space left on its disk")
    return _build_in(os.path.join(_fallback_dirs[root], key[:2]), key, suffix, build, target)


def _build_in(folder: str, key: str, suffix: str, build: Callable[[str], None], target: str) -> str:
    record_path = os.path.join(folder, key + RECORD_SUFFIX)
    found = _verified_binary(record_path, target)
    if found:
        return found
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".build-", suffix=suffix)
    os.close(fd)
    try:
        build(tmp)
        with open(tmp, "rb") as f:
            data = f.read()
        digest = _digest(data)
        binary = f"{key}-{digest[:16]}{suffix}"
        os.replace(tmp, os.path.join(folder, binary))
    finally:
        _remove_build_leftovers(tmp)
    record = EntryRecord(FORMAT_VERSION, target, binary, len(data), digest)
    _write_atomically(record_path, record.encode())
    stats.bump("compiles")
    return os.path.join(folder, binary)


def _verified_binary(record_path: str, target: str) -> str | None:
    """The binary `record_path` describes when every check passes; None when there is no entry. A damaged entry
    gives one CacheWarning and None (the caller rebuilds it)."""
    try:
        with open(record_path, "rb") as f:
            data = f.read(MAX_RECORD_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):  # no entry (or no cache folder at all)
        return None
    except OSError as e:  # unreadable (a directory in its place, permissions): rebuild as if damaged
        return _damaged(record_path, None, f"it cannot be read ({e.strerror or e})")
    try:
        if len(data) > MAX_RECORD_BYTES:
            raise ValueError(f"the record is over {MAX_RECORD_BYTES} bytes")
        record = EntryRecord.decode(data)
    except ValueError as e:
        return _damaged(record_path, None, str(e))
    if record.version != FORMAT_VERSION:
        return _damaged(record_path, None, f"format version {record.version}, this baregrad uses {FORMAT_VERSION}")
    binary_path = os.path.join(os.path.dirname(record_path), record.binary)
    if record.target != target:
        return _damaged(record_path, binary_path, f"built for {record.target!r}, this is {target!r}")
    problem = _binary_problem(binary_path, record)
    return _damaged(record_path, binary_path, problem) if problem else binary_path


def _binary_problem(path: str, record: EntryRecord) -> str | None:
    try:
        size = os.path.getsize(path)
        if size != record.size:
            return f"{record.binary} has {size} bytes, its record says {record.size}"
        with open(path, "rb") as f:
            if _digest(f.read()) != record.sha256:
                return f"{record.binary} does not match its SHA-256"
    except OSError as e:
        return f"{record.binary} cannot be read ({e.strerror or e})"
    return None


def _damaged(record_path: str, binary_path: str | None, reason: str) -> None:
    warnings.warn(f"baregrad compile cache: entry {record_path} is damaged ({reason}); rebuilding it",
                  CacheWarning, stacklevel=4)
    for path in (record_path, binary_path):
        if path:
            with contextlib.suppress(OSError):  # a read-only cache keeps its damage; we rebuild elsewhere
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)


def _write_atomically(path: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".record-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        _remove_build_leftovers(tmp)


def _remove_build_leftovers(tmp: str) -> None:
    """Delete a temporary file and any siblings a builder made from its (unique) name, e.g. CPU's `tmp.c`: after
    an error or a Ctrl-C nothing half-written stays in the cache."""
    for path in [tmp, *glob.glob(glob.escape(tmp) + ".*")]:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _free_bytes(folder: str) -> int:
    while folder and not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    try:
        st = os.statvfs(folder or ".")
    except OSError:
        return 0
    return st.f_bavail * st.f_frsize


def _give_up_disk_cache(root: str, reason: str) -> None:
    private = tempfile.mkdtemp(prefix="baregrad-cache-")
    atexit.register(shutil.rmtree, private, True)
    _fallback_dirs[root] = private
    warnings.warn(f"baregrad compile cache: cannot write to {root} ({reason}); running without the disk cache "
                  f"(kernels compiled in this process are kept in {private} until it exits)", CacheWarning,
                  stacklevel=4)


def disk_cache_usable() -> bool:
    """False once this process gave up writing to the configured cache directory."""
    return config.cache_dir() not in _fallback_dirs
