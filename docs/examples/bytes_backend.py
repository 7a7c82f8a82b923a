"""An example backend, the one docs/architecture.md walks through: device BYTES keeps each buffer in a bytearray and
runs a kernel as the Python source the PYTHON renderer writes. It has every part a backend provides: an import-light
probe, the allocator's raw operations, render, compile (source -> a callable program) and synchronize.

tests/test_docs.py registers it and checks its results against numpy, so this file and the walk-through stay true.
"""
from __future__ import annotations

from typing import Callable

from baregrad import dtype as dt
from baregrad.device import Backend, Device, register_backend
from baregrad.device.python import pack, unpack
from baregrad.ir.launch import Kernel
from baregrad.ir.linear import LinearProgram
from baregrad.render.python import RUNTIME, render_python


def probe() -> str | None:
    """None: BYTES may work here (it needs nothing beyond Python); else the reason it cannot."""
    return None


class BytesDevice(Device):
    name = "BYTES"

    # ---- memory: what the inherited Allocator caches ----
    def alloc_raw(self, nbytes: int) -> bytearray:
        return bytearray(nbytes)

    def copyin(self, handle: bytearray, data: bytes | memoryview) -> None:
        raw = bytes(data)
        handle[:len(raw)] = raw

    def copyout(self, handle: bytearray, nbytes: int) -> bytes:
        return bytes(handle[:nbytes])

    # ---- compiler and runtime ----
    def render(self, prog: LinearProgram) -> Kernel:
        return Kernel(render_python(prog))  # source text; a GPU backend also attaches its launch plan

    def compile(self, kernel: Kernel, prog: LinearProgram) -> Callable[..., None]:
        namespace = dict(RUNTIME)
        exec(compile(kernel.source, f"<BYTES kernel {prog.name}>", "exec"), namespace)  # noqa: S102 - rendered here
        return BytesProgram(namespace[prog.name], [p.dtype for p in prog.params])

    def synchronize(self) -> None:
        pass  # kernels run to completion when called


class BytesProgram:
    """Unpacks each buffer into Python numbers, runs the kernel, packs the numbers back."""

    def __init__(self, kernel: Callable[..., None], dtypes: list[dt.DType]):
        self.kernel, self.dtypes = kernel, dtypes

    def __call__(self, *handles: bytearray) -> None:
        values: dict[int, list] = {}  # one list per buffer: a kernel that reads and writes one buffer sees its writes
        for h, d in zip(handles, self.dtypes):
            values.setdefault(id(h), unpack(bytes(h), d))
        self.kernel(*[values[id(h)] for h in handles])
        for h, d in zip(handles, self.dtypes):
            raw = pack(values[id(h)], d)
            h[:len(raw)] = raw


def register(module_name: str = __name__) -> None:
    """Make "BYTES" a device name. In-tree, this is instead one line in baregrad/device/__init__.py's BACKENDS."""
    register_backend("BYTES", Backend(f"{module_name}:BytesDevice", module_name))
