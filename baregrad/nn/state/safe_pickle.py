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
import reprlib
import warnings
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from typing import Any

from baregrad.errors import FormatError

GlobalName = tuple[str, str]

# Opcodes that fetch a global without going through find_class.
_FORBIDDEN_OPCODES = {"EXT1", "EXT2", "EXT4"}
# Opcodes that store into the memo at an explicit index (MEMOIZE uses the next free one).
_MEMO_PUT_OPCODES = {"PUT", "BINPUT", "LONG_BINPUT"}

# Memo references let a few bytes stand for 2**n shared objects, so a plain repr() in an error message could
# run forever; this one stops at a few levels and items.
_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 60


def short_repr(obj: Any) -> str:
    """A repr of untrusted data that is bounded in size and time, for error messages."""
    return _SHORT_REPR.repr(obj)


def refuse_build(self: Any, state: Any) -> None:
    """`__setstate__` for read-only objects a pickle can reach. BUILD calls __setstate__ when there is one, and
    the one dataclasses add to frozen slotted classes rewrites every field; without one, a dict state goes
    straight into __dict__. Either way a checked object could be changed after its checks, so assign this in the
    class body (dataclasses only keep a __setstate__ the class defines itself)."""
    raise FormatError(f"BUILD on a {type(self).__name__} is not allowed; it is read-only")


@dataclass(frozen=True, slots=True)
class SafeCallable:
    """A whitelisted global: frozen, slotted and refusing BUILD, so a pickle cannot change what it calls."""
    qualname: str
    fn: Callable[..., Any]
    __setstate__ = refuse_build

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)


@dataclass(frozen=True, slots=True)
class Marker:
    """A whitelisted global that is only passed around as data (e.g. `torch.FloatStorage`), never called."""
    qualname: str
    value: Any = None
    __setstate__ = refuse_build


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
            raise FormatError(f"{self.where()}: persistent id {short_repr(pid)} is not allowed here")
        return self._persistent(pid)


def prescan(data: bytes | memoryview, what: str = "pickle") -> None:
    """Walk the opcodes once: refuse truncated/invalid streams, opcodes that bypass find_class and memo indices
    that no pickler writes."""
    pos = 0
    try:
        with warnings.catch_warnings():
            # a protocol-0 STRING with an invalid escape ('\\?') makes pickletools warn; under `python -W error` that
            # escaped as a raw DeprecationWarning. No pickler writes one: the stream is malformed.
            warnings.simplefilter("error", DeprecationWarning)
            for opcode, arg, pos in pickletools.genops(io.BytesIO(data)):
                if opcode.name in _FORBIDDEN_OPCODES:
                    raise FormatError(f"{what}: opcode {opcode.name} (copyreg extension) is not allowed "
                                      f"(at byte {pos})")
                # Picklers number memo entries 0, 1, 2, ..., so an index can never exceed the bytes before it;
                # CPython's unpickler grows and zero-fills its memo array to twice the index it is given.
                if opcode.name in _MEMO_PUT_OPCODES and arg > pos:
                    raise FormatError(f"{what}: {opcode.name} memo index {arg} is larger than any pickler writes "
                                      f"(at byte {pos})")
    except FormatError:
        raise
    except Exception as e:  # genops reports bad streams with ValueError and friends; all mean "malformed"
        raise FormatError(f"{what}: malformed pickle after the opcode at byte {pos}: {type(e).__name__}: {e}") from e


class _ViewFile:
    """A read-only file over buf[start:end] for pickletools.genops: reads copy only what they return, so finding
    where a pickle ends never copies the (possibly gigabytes of) data behind it."""

    def __init__(self, buf: bytes | memoryview, start: int, end: int):
        self.view = memoryview(buf).cast("B")
        self.pos, self.end = start, end

    def read(self, n: int = -1) -> bytes:
        stop = self.end if n < 0 else min(self.end, self.pos + n)
        out = bytes(self.view[self.pos:stop])
        self.pos = stop
        return out

    def readline(self) -> bytes:
        at = self.pos
        while at < self.end:  # in chunks: a line of a GLOBAL is short, a hostile one is not
            found = bytes(self.view[at:min(self.end, at + 4096)]).find(b"\n")
            if found >= 0:
                return self.read(at + found + 1 - self.pos)
            at += 4096
        return self.read()

    def tell(self) -> int:
        return self.pos


def pickle_end(buf: bytes | memoryview, start: int, limit: int, what: str = "pickle") -> int:
    """One past the STOP opcode of the pickle that starts at buf[start], which must end within `limit` bytes;
    nothing is executed. A truncated or malformed stream raises FormatError."""
    file = _ViewFile(buf, start, min(len(memoryview(buf).cast("B")), start + limit))
    try:
        for opcode, _, pos in pickletools.genops(file):
            if opcode.name == "STOP":
                return pos + 1
    except Exception as e:  # genops reports bad streams with ValueError and friends; all mean "malformed"
        raise FormatError(f"{what}: malformed or truncated pickle at byte {file.tell()} (it starts at byte {start}, "
                          f"at most {limit} bytes): {type(e).__name__}: {e}") from e
    raise FormatError(f"{what}: the pickle at byte {start} has no STOP opcode")


def run_unpickler(data: bytes | memoryview, allowed: Mapping[GlobalName, Any] | Set[GlobalName],
                  persistent_load: Callable[[Any], Any] | None = None, encoding: str = "ASCII",
                  what: str = "pickle") -> Any:
    """Pre-scan then unpickle `data` with only `allowed` globals; any failure becomes a FormatError."""
    prescan(data, what)
    file = io.BytesIO(data)
    unpickler = SafeUnpickler(file, allowed, persistent_load, encoding, what)
    try:
        return unpickler.load()
    except FormatError as e:
        if "at byte" in str(e):
            raise
        # The stand-ins check their arguments without knowing where they are in the stream; say where.
        raise FormatError(f"{unpickler.where()}: {e}") from e
    except Exception as e:  # a malformed stream or wrong arguments to a stand-in; never let it escape raw
        raise FormatError(f"{unpickler.where()}: malformed pickle: {type(e).__name__}: {e}") from e


def safe_unpickle(data: bytes | memoryview, allowed: Set[GlobalName] | Mapping[GlobalName, Any]) -> Any:
    """Unpickle `data` allowing only the globals in `allowed` (a set of (module, name) pairs imported for real,
    or a mapping from such pairs to stand-in objects). Anything else raises FormatError before it runs."""
    return run_unpickler(data, allowed)
