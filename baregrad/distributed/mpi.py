"""The MPI transport: mpi4py's non-blocking calls on host byte buffers, each waited on against a deadline.

A blocking MPI call cannot be interrupted, so a dead or hung peer would hang it for ever. Every call here is the
non-blocking form (Iallreduce, Ibcast, Isend, ...) polled with Test() until it completes or the group's timeout
passes, which raises DistributedError. MPI errors are returned, not fatal (ERRORS_RETURN), and also become
DistributedError. After a failure MPI_Finalize could wait for the dead peer, so the transport then skips it.
"""
from __future__ import annotations

import atexit
import sys
import time
from dataclasses import dataclass
from typing import Any

from baregrad.errors import DistributedError

_BUSY_SECONDS = 2.0      # poll without sleeping this long: MPI progresses a non-blocking call only inside Test()
_POLL_MAX_SLEEP = 1e-3   # then seconds between polls: a wait this long is likely a dead or hung peer
_STATE = {"finalizer": False, "failed": False}  # atexit finalizer registered; a peer failed in this process


@dataclass(frozen=True)
class MPIOps:
    """mpi4py's reduction ops and datatypes by baregrad's names (filled in once mpi4py is imported)."""
    ops: dict[str, Any]
    types: dict[str, Any]


def import_mpi() -> Any:
    """mpi4py.MPI, imported so that our exit does not call MPI_Finalize behind our back (see MPITransport.close)."""
    try:
        import mpi4py
    except ImportError as e:
        raise DistributedError("the mpi backend needs mpi4py and an MPI library: pip install 'baregrad[distributed]' "
                               "mpich (or Debian's openmpi-bin), then start ranks with python -m "
                               "baregrad.distributed.run") from e
    if "mpi4py.MPI" not in sys.modules:
        mpi4py.rc.finalize = False  # close() finalizes, or skips it after a failure (a dead peer hangs it)
    from mpi4py import MPI
    return MPI


def mpi_ops(MPI: Any) -> MPIOps:
    ops = {"sum": MPI.SUM, "product": MPI.PROD, "max": MPI.MAX, "min": MPI.MIN, "lor": MPI.LOR, "land": MPI.LAND}
    types = {"float32": MPI.FLOAT, "float64": MPI.DOUBLE, "int8": MPI.INT8_T, "int16": MPI.INT16_T,
             "int32": MPI.INT32_T, "int64": MPI.INT64_T, "uint8": MPI.UINT8_T, "uint16": MPI.UINT16_T,
             "uint32": MPI.UINT32_T, "uint64": MPI.UINT64_T, "bool": MPI.C_BOOL, "bytes": MPI.BYTE}
    return MPIOps(ops, types)


class MPITransport:
    """One communicator (a duplicate of COMM_WORLD) and the deadline every wait on it keeps."""

    def __init__(self, timeout: float) -> None:
        self.MPI = MPI = import_mpi()
        self.timeout = timeout
        self.broken = False
        world = MPI.COMM_WORLD
        world.Set_errhandler(MPI.ERRORS_RETURN)
        self.rank, self.size = world.Get_rank(), world.Get_size()
        self.table = mpi_ops(MPI)
        comm, request = world.Idup()
        self.comm = comm
        self.wait(request, "init_process_group (duplicating the communicator)")
        self.comm.Set_errhandler(MPI.ERRORS_RETURN)
        if _owns_finalize() and not _STATE["finalizer"]:
            _STATE["finalizer"] = True
            atexit.register(_finalize_at_exit, MPI)

    # ---- waiting ----
    def wait(self, request: Any, what: str, timeout: float | None = None) -> None:
        """Poll request until done; DistributedError after the timeout or when MPI reports a failure."""
        limit = self.timeout if timeout is None else timeout
        start = time.monotonic()
        deadline, busy_until = start + limit, start + _BUSY_SECONDS
        spins, pause = 0, 1e-5
        try:
            while not request.Test():
                spins += 1
                if spins & 1023:
                    continue
                now = time.monotonic()
                if now < busy_until:
                    continue
                if now > deadline:
                    self.mark_broken()
                    raise DistributedError(
                        f"{what} on rank {self.rank} of {self.size} timed out after {limit:g} s: another rank "
                        "died, hung, or did not enter the same collective (timeout: init_process_group(timeout=) "
                        "or BAREGRAD_DIST_TIMEOUT)")
                time.sleep(pause)
                pause = min(pause * 2, _POLL_MAX_SLEEP)
        except self.MPI.Exception as e:
            self.mark_broken()
            raise DistributedError(f"{what} on rank {self.rank} of {self.size} failed in MPI: {e}") from e

    def mark_broken(self) -> None:
        self.broken = _STATE["failed"] = True

    def test(self, request: Any) -> bool:
        return bool(request.Test())

    # ---- calls (each returns a request to wait on) ----
    def spec(self, view: memoryview, type_name: str) -> list:
        return [view, self.table.types[type_name]]

    def iallgather(self, send: memoryview, recv: memoryview, type_name: str = "bytes") -> Any:
        return self.comm.Iallgather(self.spec(send, type_name), self.spec(recv, type_name))

    def iallreduce(self, view: memoryview, type_name: str, op: str) -> Any:
        return self.comm.Iallreduce(self.MPI.IN_PLACE, self.spec(view, type_name), self.table.ops[op])

    def ibcast(self, view: memoryview, root: int) -> Any:
        return self.comm.Ibcast(self.spec(view, "bytes"), root=root)

    def ireduce_scatter(self, send: memoryview, recv: memoryview, type_name: str, op: str) -> Any:
        return self.comm.Ireduce_scatter_block(self.spec(send, type_name), self.spec(recv, type_name),
                                               self.table.ops[op])

    def isend(self, view: memoryview, dst: int, tag: int) -> Any:
        return self.comm.Isend(self.spec(view, "bytes"), dest=dst, tag=tag)

    def irecv(self, view: memoryview, src: int, tag: int) -> Any:
        return self.comm.Irecv(self.spec(view, "bytes"), source=src, tag=tag)

    def ibarrier(self) -> Any:
        return self.comm.Ibarrier()

    # ---- shutdown ----
    def close(self) -> None:
        """Free the communicator unless a peer failed (freeing or finalizing then could wait for it)."""
        if not self.broken and self.comm is not None:
            try:
                self.comm.Free()
            except self.MPI.Exception:
                pass
        self.comm = None



def _finalize_at_exit(MPI: Any) -> None:
    if _STATE["failed"] or MPI.Is_finalized():
        return  # a dead peer can hang MPI_Finalize: exit without it (mpiexec sees our exit status)
    try:
        MPI.Finalize()
    except MPI.Exception:
        pass


def _owns_finalize() -> bool:
    """True when we turned off mpi4py's own MPI_Finalize at exit (we imported MPI first), so we must call it."""
    import mpi4py
    return mpi4py.rc.finalize is False
