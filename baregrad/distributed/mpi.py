"""The MPI transport: mpi4py's non-blocking calls on host byte buffers, each waited on against a deadline.

A blocking MPI call cannot be interrupted, so a dead or hung peer would hang it for ever. Every call here is the
non-blocking form (Iallreduce, Ibcast, Isend, ...) polled with Test() until it completes or the group's timeout
passes, which raises DistributedError. MPI errors are returned, not fatal (ERRORS_RETURN), and also become
DistributedError. After a failure MPI_Finalize could wait for the dead peer, so the transport then skips it.

Every collective first shows the other ranks what it is about to do (a header), so that a rank whose tensor
differs is caught before MPI reads past a buffer. On few ranks that is an Exchange: one point-to-point message to
each peer, on a communicator of its own. Point-to-point MPI defines what a message of the wrong size does
(ERR_TRUNCATE, or a short count), where a collective with mismatched counts is undefined; a mismatch found that
way is named by a gather of headers alone. A small all_reduce sends its data in the same message and reduces
locally, so it costs one round trip, not two.
"""
from __future__ import annotations

import atexit
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from baregrad.errors import DistributedError

_SPINS_BEFORE_YIELD = 20  # polls (~20 us) before each further poll yields the core (see wait)
_BUSY_SECONDS = 2.0      # poll without sleeping this long: MPI progresses a non-blocking call only inside Test()
_POLL_MAX_SLEEP = 1e-3   # then seconds between polls: a wait this long is likely a dead or hung peer
EXCHANGE_MAX_RANKS = 8  # up to this many ranks a header goes to each peer directly; beyond, an allgather
_EXCHANGE_TAG = 1
_PAIR_TAG = 2            # a 2-rank all_reduce's halves (on the headers' communicator, never mismatched by then)
_POOL_DEPTH = 4          # scratch buffers kept per size (one per async call in flight is typical)
_POOL_BYTES = 256 << 20  # at most this much scratch kept between calls (half of a 512 MB all_reduce)
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
        self.pool = BufferPool()
        self.status = MPI.Status()  # reused by every exchange's Test (one thread uses a transport)
        self.comm = self._duplicate(world)
        self.talk = self._duplicate(world)  # headers and fused small all_reduces: no tag clashes with send/recv
        if _owns_finalize() and not _STATE["finalizer"]:
            _STATE["finalizer"] = True
            atexit.register(_finalize_at_exit, MPI)

    def _duplicate(self, world: Any) -> Any:
        comm, request = world.Idup()
        self.wait(request, "init_process_group (duplicating the communicator)")
        comm.Set_errhandler(self.MPI.ERRORS_RETURN)
        return comm

    # ---- waiting ----
    def wait(self, request: Any, what: str, timeout: float | None = None) -> None:
        """Poll request until done; DistributedError after the timeout or when MPI reports a failure.

        MPI progresses a non-blocking call only inside Test(), so this polls without pause: a short spin (a peer
        running on the other core answers within microseconds), then a sched_yield() before each poll (a peer
        waiting for our core gets it: on the loaded 2-core machine, 1 KB all_reduces took ~100 us so against
        0.5-3 ms spinning without yields), and only after _BUSY_SECONDS a sleep between polls (a wait that long
        is likely a dead or hung peer), until the deadline."""
        try:
            if request.Test():
                return
            limit = self.timeout if timeout is None else timeout
            start = time.monotonic()
            deadline, busy_until = start + limit, start + _BUSY_SECONDS
            spins, pause = 0, 1e-5
            while not request.Test():
                spins += 1
                if spins < _SPINS_BEFORE_YIELD:
                    continue
                os.sched_yield()
                if spins & 255:
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

    def iallreduce_pair(self, view: memoryview, type_name: str, op: str, itemsize: int) -> PairAllReduce:
        """All-reduce in place on 2 ranks (after the headers agreed), as halves: send the peer the half it
        reduces, reduce ours, then swap the reduced halves. Each rank moves and reduces half the data in two
        large messages, where Iallreduce's schedule takes many steps, each needing a poll (and on a loaded
        machine each a chance to wait a time slice for the core); measured 1.3-1.7x Iallreduce from 64 MB up.
        Each half is reduced on one rank only, so both ranks end with the same bits."""
        return PairAllReduce(self, view, self.table.types[type_name], self.table.ops[op], itemsize)

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

    def reduce_local(self, source: memoryview, target: memoryview, type_name: str, op: str) -> None:
        """target = source op target, elementwise, on this rank (MPI's own reduction loops)."""
        mpi_type = self.table.types[type_name]
        self.table.ops[op].Reduce_local([source, mpi_type], [target, mpi_type])

    def exchange(self, message: bytearray) -> Exchange:
        """Send message to every other rank and receive each peer's into a scratch buffer of the same size. A peer
        that sent another size is caught, not undefined: a longer message fails our receive with MPI's
        ERR_TRUNCATE, a shorter one arrives short (both end up in Exchange.odd)."""
        ex = Exchange(self, message)
        for peer in range(self.size):
            if peer != self.rank:
                ex.received[peer] = self.pool.take(len(message))
        ex.start()
        return ex

    # ---- shutdown ----
    def close(self) -> None:
        """Free the communicator unless a peer failed (freeing or finalizing then could wait for it)."""
        if not self.broken and self.comm is not None:
            try:
                self.comm.Free()
                self.talk.Free()
            except self.MPI.Exception:
                pass
        self.comm = self.talk = None
        self.pool.clear()


class BufferPool:
    """Scratch bytearrays by size, reused so that a loop of collectives allocates (and zero-fills) nothing: a
    caching allocator of at most _POOL_BYTES; a buffer that would pass that empties the pool first, so the
    sizes in use now are the ones kept."""

    def __init__(self) -> None:
        self.free: dict[int, list[bytearray]] = {}
        self.bytes = 0

    def take(self, size: int) -> bytearray:
        kept = self.free.get(size)
        if not kept:
            return bytearray(size)
        self.bytes -= size
        return kept.pop()

    def give(self, buf: bytearray) -> None:
        if len(buf) > _POOL_BYTES:
            return
        if self.bytes + len(buf) > _POOL_BYTES:
            self.clear()
        kept = self.free.setdefault(len(buf), [])
        if len(kept) < _POOL_DEPTH:
            kept.append(buf)
            self.bytes += len(buf)

    def clear(self) -> None:
        self.free.clear()
        self.bytes = 0


@dataclass(eq=False)
class Exchange:
    """One message to and from every peer (MPITransport.exchange), polled by Test() as an MPI request is; start()
    again once it completed repeats it on the same buffers (a cached all_reduce does)."""
    transport: MPITransport
    message: bytearray                                    # what we send (kept alive until the sends complete)
    received: dict[int, bytearray] = field(default_factory=dict)  # peer -> its message (of the size expected)
    sends: list = field(default_factory=list)             # requests not yet complete
    receives: list = field(default_factory=list)          # (peer, request) not yet complete
    odd: set[int] = field(default_factory=set)            # peers whose message was not the size expected

    def start(self) -> None:
        t = self.transport
        byte, talk = t.MPI.BYTE, t.talk
        self.odd.clear()
        try:
            for peer, buf in self.received.items():
                self.receives.append((peer, talk.Irecv([buf, byte], peer, _EXCHANGE_TAG)))
                self.sends.append(talk.Isend([self.message, byte], peer, _EXCHANGE_TAG))
        except t.MPI.Exception as e:
            t.mark_broken()
            raise DistributedError(f"a message from rank {t.rank} of {t.size} failed in MPI: {e}") from e

    def Test(self) -> bool:  # noqa: N802 (MPITransport.wait polls every request by this name)
        receives, MPI = self.receives, self.transport.MPI
        status = self.transport.status
        while receives:
            peer, request = receives[-1]
            try:
                if not request.Test(status):
                    return False
                if status.Get_count(MPI.BYTE) != len(self.received[peer]):
                    self.odd.add(peer)
            except MPI.Exception as e:
                if e.Get_error_class() != MPI.ERR_TRUNCATE:
                    raise
                self.odd.add(peer)  # a longer message than ours: a mismatch, named by a second exchange
            receives.pop()
        sends = self.sends
        while sends:
            if not sends[-1].Test():
                return False
            sends.pop()
        return True

    def release(self) -> None:
        """Hand the scratch buffers back (after their contents were used)."""
        pool = self.transport.pool
        for buf in self.received.values():
            pool.give(buf)
        pool.give(self.message)
        self.received = {}


class PairAllReduce:
    """MPITransport.iallreduce_pair's two steps, advanced by Test() as an MPI request is."""

    def __init__(self, t: MPITransport, view: memoryview, mpi_type: Any, op: Any, itemsize: int) -> None:
        split = (len(view) // itemsize // 2) * itemsize
        low, high = view[:split], view[split:]
        self.t, self.mpi_type, self.op = t, mpi_type, op
        self.peer = 1 - t.rank
        self.mine, self.theirs = (low, high) if t.rank == 0 else (high, low)
        self.scratch: bytearray | None = t.pool.take(len(self.mine))
        self.requests = self._post(self.theirs, self.scratch)

    def _post(self, send: Any, recv: Any) -> list:
        t, byte = self.t, self.t.MPI.BYTE
        try:
            return [t.talk.Irecv([recv, byte], self.peer, _PAIR_TAG), t.talk.Isend([send, byte], self.peer, _PAIR_TAG)]
        except t.MPI.Exception as e:
            t.mark_broken()
            raise DistributedError(f"all_reduce on rank {t.rank} of {t.size} failed in MPI: {e}") from e

    def Test(self) -> bool:  # noqa: N802 (MPITransport.wait polls every request by this name)
        requests = self.requests
        while requests:
            if not requests[-1].Test():
                return False
            requests.pop()
        if self.scratch is None:
            return True
        # the peer's copy of our half arrived: reduce it into ours, then swap the reduced halves
        self.op.Reduce_local([self.scratch, self.mpi_type], [self.mine, self.mpi_type])
        self.t.pool.give(self.scratch)
        self.scratch = None
        self.requests = self._post(self.mine, self.theirs)
        return False


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
