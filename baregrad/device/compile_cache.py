"""The on-disk compile cache: binaries keyed by a hash of source, compiler and flags.

Each entry is stored with the SHA-256 of its content; an entry whose content no longer matches (a
truncated write, disk corruption) is deleted and rebuilt, never loaded.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Callable

from baregrad import config, stats


def cache_key(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cached_build(key: str, suffix: str, build: Callable[[str], None]) -> str:
    """Path to a verified cache entry for `key`, running build(path) to produce it when missing or bad."""
    folder = os.path.join(config.cache_dir(), key[:2])
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, key + suffix)
    check = path + ".sha256"
    if os.path.exists(path) and os.path.exists(check):
        with open(path, "rb") as f, open(check) as c:
            if _digest(f.read()) == c.read().strip():
                return path
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=suffix)
    os.close(fd)
    try:
        build(tmp)
        with open(tmp, "rb") as f:
            digest = _digest(f.read())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    # a unique temporary name: processes building the same key at once (pytest -n) must not share one
    fd, check_tmp = tempfile.mkstemp(dir=folder, suffix=".sha256.tmp")
    with os.fdopen(fd, "w") as c:
        c.write(digest)
    os.replace(check_tmp, check)
    stats.bump("compiles")
    return path
