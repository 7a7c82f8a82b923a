"""Unpickling restricted to a whitelist of globals, for checkpoint formats that are pickles.

A pickle is a program: GLOBAL/STACK_GLOBAL/INST name any importable object and REDUCE calls it, so an
ordinary `pickle.load` of a hostile file runs `os.system`. `SafeUnpickler.find_class` resolves only the
(module, name) pairs it is given, mapped to stand-ins we wrote, and raises FormatError naming anything else.
A pre-scan refuses the EXT1/EXT2/EXT4 opcodes, which look globals up in copyreg's extension cache without
calling find_class. Every failure of a malformed pickle surfaces as FormatError with a byte offset.
"""
from __future__ import annotations

import io
import pickle
import pickletools
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from typing import Any

from baregrad.errors import FormatError

GlobalName = tuple[str, str]

# Opcodes that fetch a global without going through find_class.
_FORBIDDEN_OPCODES = {"EXT1", "EXT2", "EXT4"}


@dataclass(frozen=True, slots=True)
class SafeCallable:
    """A whitelisted global: frozen and slotted, so a pickle's BUILD opcode cannot set attributes on it."""
    qualname: str
    fn: Callable[..., Any]

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)


@dataclass(frozen=True, slots=True)
class Marker:
    """A whitelisted global that is only passed around as data (e.g. `torch.FloatStorage`), never called."""
    qualname: str
    value: Any = None


class SafeUnpickler(pickle.Unpickler):
    """An Unpickler whose globals come only from `allowed`.

    `allowed` is either a mapping (module, name) -> stand-in object, or a set of (module, name) pairs that
    are imported for real (for callers who trust exactly those objects). `persistent_load`, if given,
    handles persistent ids (PyTorch's storages); without it a persistent id is a FormatError."""

    def __init__(self, file: io.BytesIO, allowed: Mapping[GlobalName, Any] | Set[GlobalName],
                 persistent_load: Callable[[Any], Any] | None = None, encoding: str = "ASCII", what: str = "pickle"):
        super().__init__(file, encoding=encoding)
        self._file, self._allowed, self._persistent, self._what = file, allowed, persistent_load, what

    def where(self) -> str:
        return f"{self._what}: at byte {self._file.tell()}"

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        if key not in self._allowed:
            raise FormatError(f"{self.where()}: global {module}.{name} is not in the whitelist; refusing to load it")
        if isinstance(self._allowed, Mapping):
            return self._allowed[key]
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        if self._persistent is None:
            raise FormatError(f"{self.where()}: persistent id {pid!r:.100} is not allowed here")
        return self._persistent(pid)


def prescan(data: bytes | memoryview, what: str = "pickle") -> None:
    """Walk the opcodes once: refuse truncated/invalid streams and opcodes that bypass find_class."""
    pos = 0
    try:
        for opcode, _arg, pos in pickletools.genops(io.BytesIO(data)):
            if opcode.name in _FORBIDDEN_OPCODES:
                raise FormatError(f"{what}: opcode {opcode.name} (copyreg extension) is not allowed (at byte {pos})")
    except FormatError:
        raise
    except Exception as e:  # genops reports bad streams with ValueError and friends; all mean "malformed"
        raise FormatError(f"{what}: malformed pickle after the opcode at byte {pos}: {type(e).__name__}: {e}") from e


def run_unpickler(data: bytes | memoryview, allowed: Mapping[GlobalName, Any] | Set[GlobalName],
                  persistent_load: Callable[[Any], Any] | None = None, encoding: str = "ASCII",
                  what: str = "pickle") -> Any:
    """Pre-scan then unpickle `data` with only `allowed` globals; any failure becomes a FormatError."""
    prescan(data, what)
    file = io.BytesIO(data)
    unpickler = SafeUnpickler(file, allowed, persistent_load, encoding, what)
    try:
        return unpickler.load()
    except FormatError:
        raise
    except Exception as e:  # a malformed stream or wrong arguments to a stand-in; never let it escape raw
        raise FormatError(f"{unpickler.where()}: malformed pickle: {type(e).__name__}: {e}") from e


def safe_unpickle(data: bytes | memoryview, allowed: Set[GlobalName] | Mapping[GlobalName, Any]) -> Any:
    """Unpickle `data` allowing only the globals in `allowed` (a set of (module, name) pairs imported for real,
    or a mapping from such pairs to stand-in objects). Anything else raises FormatError before it runs."""
    return run_unpickler(data, allowed)
