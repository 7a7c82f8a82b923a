"""NCCL for CUDA tensors, through ctypes on libnccl (the `nvidia-nccl-cu13` wheel, or a system libnccl.so.2).

Rank 0 makes NCCL's unique id and MPI hands it to every rank; then collectives run on the CUDA device's stream,
on device memory, with no copy to the host. A wait polls the stream (cuStreamQuery) and NCCL's async error
against the group's deadline, and aborts the communicator on timeout, so a dead peer raises DistributedError.
The NV device (our own driver, no libcuda) cannot use NCCL: its tensors go over MPI through host memory.

Unmeasured here: this machine has no GPU. What runs without one is loading the library and the DeviceError.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import sys
import time
from typing import Any

from baregrad import dtype as dt
from baregrad.errors import DeviceError, DistributedError, DTypeError

_UNIQUE_ID_BYTES = 128
_TYPES = {dt.int8: 0, dt.uint8: 1, dt.int32: 2, dt.uint32: 3, dt.int64: 4, dt.uint64: 5, dt.float16: 6,
          dt.float32: 7, dt.float64: 8, dt.bfloat16: 9, dt.bool_: 1}
_OPS = {"sum": 0, "product": 1, "max": 2, "min": 3, "avg": 4}
_CUDA_NOT_READY = 600


class UniqueId(ctypes.Structure):
    _fields_ = [("internal", ctypes.c_char * _UNIQUE_ID_BYTES)]


def library_paths() -> list[str]:
    """Where libnccl may be: the nvidia-nccl wheel's folder on sys.path, then the system's."""
    found = []
    for root in sys.path:
        found += glob.glob(os.path.join(root, "nvidia", "nccl", "lib", "libnccl.so*"))
    system = ctypes.util.find_library("nccl")
    return found + ([system] if system else [])


def load_library() -> ctypes.CDLL:
    errors = []
    for path in library_paths():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise DeviceError("libnccl not found or not loadable (pip install nvidia-nccl-cu13)"
                      + (f": {'; '.join(errors)}" if errors else ""))


def nccl_version(lib: ctypes.CDLL) -> int:
    v = ctypes.c_int()
    lib.ncclGetVersion(ctypes.byref(v))
    return v.value


class NCCLCommunicator:
    """One NCCL communicator over the ranks of an MPI transport, on this rank's CUDA device."""

    def __init__(self, lib: ctypes.CDLL, comm: ctypes.c_void_p, device: Any, transport: Any) -> None:
        self.lib, self.comm, self.device, self.transport = lib, comm, device, transport
        self.lib.ncclGetErrorString.restype = ctypes.c_char_p

    @classmethod
    def create(cls, transport: Any) -> NCCLCommunicator:
        lib = load_library()
        from baregrad.device import get_device
        try:
            device = get_device("CUDA")
        except DeviceError as e:
            raise DeviceError(f"backend 'nccl' needs a CUDA GPU on every rank (libnccl {nccl_version(lib)} loaded): "
                              f"{e}; use backend 'mpi' for other devices") from e
        uid = UniqueId()
        if transport.rank == 0:
            _check(lib, lib.ncclGetUniqueId(ctypes.byref(uid)), "ncclGetUniqueId")
        view = memoryview(uid).cast("B")
        transport.wait(transport.ibcast(view, 0), "init_process_group (sharing NCCL's unique id)")
        comm = ctypes.c_void_p()
        _check(lib, lib.ncclCommInitRank(ctypes.byref(comm), transport.size, uid, transport.rank),
               "ncclCommInitRank")
        return cls(lib, comm, device, transport)

    def _buffer(self, t: Any) -> Any:
        """t's own device buffer (made private and contiguous first when it is a view or shared)."""
        from baregrad.ir.ops import Op
        t.realize()
        if t.node.op is not Op.BUFFER or t.node.arg.shared or tuple(t.node.arg.shape) != t.shape:
            t.assign(t.detach().contiguous()).realize()
        return t.node.arg

    def _type(self, t: Any) -> int:
        code = _TYPES.get(t.dtype)
        if code is None:
            raise DTypeError(f"NCCL has no {t.dtype.name}: cast to a 32-bit type, or use backend 'mpi'")
        return code

    def all_reduce(self, g: Any, t: Any, op: str) -> Any:
        from baregrad.distributed.collectives import Work
        buf = self._buffer(t)
        if t.dtype is dt.bool_:
            op = "max" if op in ("sum", "max") else "min"
        ptr = ctypes.c_void_p(buf.handle)
        _check(self.lib, self.lib.ncclAllReduce(ptr, ptr, ctypes.c_size_t(t.numel()), self._type(t), _OPS[op],
                                                self.comm, ctypes.c_void_p(self.device.stream)), "ncclAllReduce")
        return Work(g, [], "all_reduce (nccl)", lambda: self._finish(buf, "all_reduce"))

    def broadcast(self, g: Any, t: Any, root: int) -> Any:
        from baregrad.distributed.collectives import Work
        buf = self._buffer(t)
        ptr = ctypes.c_void_p(buf.handle)
        _check(self.lib, self.lib.ncclBroadcast(ptr, ptr, ctypes.c_size_t(t.numel()), self._type(t), root,
                                                self.comm, ctypes.c_void_p(self.device.stream)), "ncclBroadcast")
        return Work(g, [], "broadcast (nccl)", lambda: self._finish(buf, "broadcast"))

    def _finish(self, buf: Any, what: str) -> None:
        """Wait for the stream against the deadline, then tell the engine the buffer was written."""
        deadline = time.monotonic() + self.transport.timeout
        drv, stream = self.device.drv, ctypes.c_void_p(self.device.stream)
        while True:
            rc = drv.lib.cuStreamQuery(stream)
            if rc == 0:
                break
            if rc != _CUDA_NOT_READY:
                raise DistributedError(f"{what} (nccl) failed on the CUDA stream: {drv.error_name(rc)}")
            failure = ctypes.c_int()
            self.lib.ncclCommGetAsyncError(self.comm, ctypes.byref(failure))
            if failure.value != 0 or time.monotonic() > deadline:
                self.lib.ncclCommAbort(self.comm)
                self.comm = None
                self.transport.mark_broken()
                reason = self.lib.ncclGetErrorString(failure.value).decode() if failure.value else \
                    f"timed out after {self.transport.timeout:g} s"
                raise DistributedError(f"{what} (nccl) on rank {self.transport.rank}: {reason}")
            time.sleep(1e-4)
        from baregrad.engine.realize import note_external_write
        note_external_write([buf])

    def close(self) -> None:
        if self.comm is not None:
            self.lib.ncclCommDestroy(self.comm)
            self.comm = None


def _check(lib: ctypes.CDLL, rc: int, what: str) -> None:
    if rc != 0:
        lib.ncclGetErrorString.restype = ctypes.c_char_p
        raise DistributedError(f"{what} failed: {lib.ncclGetErrorString(rc).decode()} (nccl error {rc})")
