"""Tensors as host bytes for a transport, and the results written back into the tensors.

Tensors are lazy, so each is realized first. A tensor that owns its buffer on a device whose memory is host
memory (CPU, LLVM) is handed to MPI as it is: MPI reads and writes that memory, and the engine is told about the
write (engine.realize.note_external_write) as an assign's write is recorded. Every other tensor (a view, a shared
buffer, a GPU or NV tensor, PYTHON, OPENCL, WEBGPU) is copied to the host and the result written back through
Tensor.assign: one copy out and one in, the cost of staging an NV tensor through host memory.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from baregrad import dtype as dt
from baregrad.device import get_device
from baregrad.device.host_memory import HostMemory
from baregrad.ir.ops import Op
from baregrad.tensor import Tensor


@dataclass
class HostStage:
    """A tensor's bytes on the host: `view` is what the transport reads and writes."""
    tensor: Tensor          # the caller's tensor, which receives the result
    wire: dt.DType          # the dtype of the bytes in view (float32 for a half-precision reduction)
    view: memoryview        # writable host bytes
    in_place: Any = None    # the device Buffer view points into (zero copy), or None: a staged copy

    def finish(self, scale: float | None = None) -> None:
        """Make the tensor hold what the transport left in view (times scale, for an average)."""
        t = self.tensor
        if self.in_place is not None:
            from baregrad.engine.realize import note_external_write
            note_external_write([self.in_place])
            if scale is not None:
                t.assign(t.detach() * scale).realize()
            return
        result = Tensor.from_bytes(self.view, self.wire, t.shape, t.device)
        if scale is not None:
            result = result * scale
        t.assign(result.cast(t.dtype)).realize()


def owned_host_buffer(t: Tensor) -> Any:
    """The Buffer t alone owns in host memory, laid out as t is; None when t must be staged instead."""
    t.realize()
    node = t.node
    if node.op is not Op.BUFFER or node.arg.shared or tuple(node.arg.shape) != t.shape:
        return None
    return node.arg if isinstance(get_device(t.device), HostMemory) else None


def host_view(buf: Any) -> memoryview:
    """The writable bytes of a host-memory Buffer (a ctypes array)."""
    return memoryview(buf.handle).cast("B")[:buf.nbytes]


def stage(t: Tensor, wire: dt.DType | None = None) -> HostStage:
    """t's bytes on the host, as `wire` (default t's dtype), ready to be read and written by the transport."""
    wire = wire or t.dtype
    if wire is t.dtype:
        buf = owned_host_buffer(t)
        if buf is not None:
            return HostStage(t, wire, host_view(buf), buf)
    data = t.detach().cast(wire).contiguous().to_bytes()
    return HostStage(t, wire, memoryview(bytearray(data)))


def read_bytes(t: Tensor) -> memoryview:
    """t's bytes for sending only (no copy when t owns a host buffer)."""
    buf = owned_host_buffer(t)
    return host_view(buf) if buf is not None else memoryview(t.detach().contiguous().to_bytes())
