"""CPU twins: Python functions the mock GPU runs in place of a launched kernel.

A twin is registered under a TwinKey made from the cubin: the SHA-256 of the kernel's code bytes (how the mock
recognises the program at the QMD's program address) and the kernel's parameter layout (how it decodes the
arguments out of constant bank 0). The twin gets buffer arguments as memoryviews of the mock's memory at their
GPU addresses (to the end of the mapping) and 32-bit arguments as ints, plus the grid and block sizes.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable

from ..cubin import KernelParam, parse_cubin

TwinFn = Callable[[list, tuple, tuple], None]


@dataclass(frozen=True)
class TwinKey:
    name: str
    code_sha256: str
    code_size: int
    param_base: int
    params: tuple[KernelParam, ...]


_TWINS: dict[TwinKey, TwinFn] = {}


def twin_key(cubin: bytes, name: str) -> TwinKey:
    """The key under which the mock recognises kernel `name` of `cubin`."""
    k = parse_cubin(cubin, name)
    code = k.image[k.entry_offset:k.entry_offset + k.code_size]
    return TwinKey(name, hashlib.sha256(code).hexdigest(), k.code_size, k.param_base, tuple(k.params))


def register_twin(key: TwinKey, fn: TwinFn) -> None:
    """Run `fn(args, grid, block)` whenever the mock GPU launches the program `key` identifies."""
    _TWINS[key] = fn


def clear_twins() -> None:
    _TWINS.clear()


def find_twin(read_code: Callable[[int], bytes]) -> tuple[TwinKey, TwinFn] | None:
    """The twin whose code matches the bytes at the launched program address (read_code(n) reads n bytes)."""
    digests: dict[int, str | None] = {}  # by code size: many twins share one, hash each size once per launch
    for key, fn in _TWINS.items():
        if key.code_size not in digests:
            try:
                digests[key.code_size] = hashlib.sha256(read_code(key.code_size)).hexdigest()
            except LookupError:
                digests[key.code_size] = None
        if digests[key.code_size] == key.code_sha256:
            return key, fn
    return None
