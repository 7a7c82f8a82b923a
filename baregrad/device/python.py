"""Device PYTHON: the reference. Runs the linear program as generated Python; needs no compiler."""
from __future__ import annotations

import struct
from typing import Any, Callable

from baregrad import dtype as dt
from baregrad.device import Device
from baregrad.device.host_memory import check_host_room
from baregrad.ir.launch import Kernel
from baregrad.ir.linear import LinearProgram
from baregrad.render.python import RUNTIME, bf16_bits, bf16_from_bits, render_python


class PythonBuffer:
    """Values kept as Python numbers plus the dtype needed to (de)serialize them."""
    __slots__ = ("nbytes", "values", "dtype")

    def __init__(self, nbytes: int):
        self.nbytes = nbytes
        self.values: list = []
        self.dtype: dt.DType | None = None


class PythonDevice(Device):
    name = "PYTHON"

    def alloc_raw(self, nbytes: int) -> Any:
        check_host_room(nbytes)  # the values are Python objects in this process: at least nbytes of host memory
        return PythonBuffer(nbytes)

    def bind(self, handle: PythonBuffer, d: dt.DType) -> list:
        """The value list of a buffer viewed as dtype d (bytes are reinterpreted if the dtype changed)."""
        if handle.dtype is not d:
            raw = self.copyout(handle, handle.nbytes) if handle.dtype is not None else bytes(handle.nbytes)
            handle.values = unpack(raw, d)
            handle.dtype = d
        return handle.values

    def copyin(self, handle: PythonBuffer, data: bytes | memoryview) -> None:
        handle.dtype = dt.uint8
        handle.values = list(bytes(data))

    def copyout(self, handle: PythonBuffer, nbytes: int) -> bytes:
        if handle.dtype is None:
            return bytes(nbytes)
        return pack(handle.values, handle.dtype)[:nbytes]

    def render(self, prog: LinearProgram) -> Kernel:
        return Kernel(render_python(prog))

    def compile(self, kernel: Kernel, prog: LinearProgram) -> Callable[..., Any]:
        namespace = dict(RUNTIME)
        exec(compile(kernel.source, f"<baregrad kernel {prog.name}>", "exec"), namespace)  # noqa: S102 - our own code
        return _PythonProgram(self, namespace[prog.name], [p.dtype for p in prog.params])


def unpack(raw: bytes, d: dt.DType) -> list:
    n = len(raw) // d.itemsize
    if d is dt.bfloat16:
        return [bf16_from_bits(b) for b in struct.unpack(f"<{n}H", raw[:n * 2])]
    if d is dt.bool_:
        return [b != 0 for b in raw[:n]]
    values = list(struct.unpack(f"<{n}{d.fmt}", raw[:n * d.itemsize]))
    return values


def pack(values: list, d: dt.DType) -> bytes:
    if d is dt.bfloat16:
        return struct.pack(f"<{len(values)}H", *[bf16_bits(v) for v in values])
    if d is dt.bool_:
        return bytes(1 if v else 0 for v in values)
    return struct.pack(f"<{len(values)}{d.fmt}", *values)


class _PythonProgram:
    def __init__(self, device: PythonDevice, fn: Callable[..., Any], dtypes: list[dt.DType]):
        self.device, self.fn, self.dtypes = device, fn, dtypes

    def __call__(self, *handles: PythonBuffer) -> None:
        self.fn(*[self.device.bind(h, d) for h, d in zip(handles, self.dtypes)])
