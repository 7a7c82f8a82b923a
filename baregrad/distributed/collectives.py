"""torch.distributed's collectives on baregrad tensors: all_reduce, broadcast, all_gather, reduce_scatter,
send/recv and barrier, each in place on the caller's tensors, synchronous or returning a Work handle.

Before the data moves, every rank shares a small header (which call, dtype, shape, root): a rank whose tensor
differs makes every rank raise DistributedError naming both shapes, instead of MPI reading past a buffer or
waiting for bytes that never come. A small all_reduce carries its data in the header's message and reduces
locally (one round trip: its latency is the collective's whole cost); a large one moves over MPI's Iallreduce
once the headers agree. CUDA tensors in a group with backend "nccl" move over NCCL on the device;
everything else moves over MPI through host memory (staging.py).
"""
from __future__ import annotations

import array
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from baregrad import dtype as dt
from baregrad.distributed.group import ProcessGroup
from baregrad.distributed.group import group as default_group
from baregrad.distributed.mpi import EXCHANGE_MAX_RANKS, Exchange
from baregrad.distributed.staging import HostStage, read_bytes, stage
from baregrad.errors import ArgumentError, DistributedError, DTypeError, ShapeError
from baregrad.tensor import Tensor


class ReduceOp(str, Enum):
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


_DTYPES = [dt.bool_, dt.int8, dt.int16, dt.int32, dt.int64, dt.uint8, dt.uint16, dt.uint32, dt.uint64, dt.float16,
           dt.bfloat16, dt.float32, dt.float64]
_CALLS = ["all_reduce", "broadcast", "all_gather", "reduce_scatter", "send"]
_OPS = [op.value for op in ReduceOp]
_MAX_DIMS = 8
_HEADER_LEN = 6 + _MAX_DIMS  # call, dtype, op, root, ndim, dims, padding (112 bytes: the data after it aligned)
_HEADER_BYTES = 8 * _HEADER_LEN
_FUSE_BYTES = 1 << 20  # an all_reduce whose peers' data fits this rides whole in the header's message
_MAX_CACHED = 32        # small all_reduces remembered per group (each holds its tensor's buffer and two copies)


class Work:
    """What an async collective returns: wait() blocks (until the group's timeout) and writes the results."""

    def __init__(self, group: ProcessGroup, requests: list[Any], what: str, finish: Callable[[], None]):
        self._group, self._requests, self._what, self._finish = group, requests, what, finish
        self._done = False

    def wait(self, timeout: Any = None) -> bool:
        if not self._done:
            seconds = None if timeout is None else getattr(timeout, "total_seconds", lambda: float(timeout))()
            for request in self._requests:
                self._group.mpi.wait(request, self._what, seconds)
            self._finish()
            self._done = True
        return True

    def is_completed(self) -> bool:
        if self._done:
            return True
        return all(self._group.mpi.test(r) for r in self._requests)


def _reduce_op(op: Any) -> str:
    name = op.value if isinstance(op, ReduceOp) else str(op).lower().replace("reduceop.", "")
    if name not in _OPS:
        raise ArgumentError(f"unknown reduce op {op!r}: use one of {', '.join(_OPS)}")
    return name


def _check_tensor(t: Any, what: str) -> Tensor:
    if not isinstance(t, Tensor):
        raise ArgumentError(f"{what} takes baregrad Tensors, got {type(t).__name__}")
    if len(t.shape) > _MAX_DIMS:
        raise ShapeError(f"{what}: tensors of more than {_MAX_DIMS} dims are not supported, got {t.shape}")
    return t


def _header(call: str, t: Tensor, op: str = "sum", root: int = 0) -> bytes:
    return _header_bytes(_CALLS.index(call), _DTYPES.index(t.dtype), _OPS.index(op), root, t.shape)


@functools.lru_cache(maxsize=256)
def _header_bytes(call: int, dtype: int, op: int, root: int, shape: tuple[int, ...]) -> bytes:
    dims = list(shape) + [0] * (_MAX_DIMS - len(shape))
    return array.array("q", [call, dtype, op, root, len(shape), *dims, 0]).tobytes()


def _describe(h: Sequence[int]) -> str:
    call, dtype, op, root, ndim = h[:5]
    shape = list(h[5:5 + ndim])
    return f"{_CALLS[call]} {_DTYPES[dtype].name}{shape} (op {_OPS[op]}, root {root})"


def _decode(message: bytes | bytearray | memoryview) -> list[int]:
    return list(memoryview(message)[:_HEADER_BYTES].cast("q"))


def _start_agreement(g: ProcessGroup, header: bytes, payload: memoryview | None = None) -> Exchange | None:
    """Send our header (and payload, for a fused all_reduce) to every peer; None on more ranks than an exchange
    serves (_agree then gathers headers with a collective, and nothing is fused)."""
    if g.world_size > EXCHANGE_MAX_RANKS:
        return None
    size = _HEADER_BYTES + (0 if payload is None else len(payload))
    message = g.mpi.pool.take(size)
    message[:_HEADER_BYTES] = header
    if payload is not None:
        message[_HEADER_BYTES:] = payload
    return g.mpi.exchange(message)


def _check_exchange(g: ProcessGroup, ex: Exchange, header: bytes, what: str) -> None:
    """Every peer sent our header in a message of our size, or DistributedError on every rank naming the first
    rank that differs. Every rank sees every message, so all of them find a mismatch and name it together, in a
    second exchange of headers alone (a message of the wrong size may not have arrived whole)."""
    if not ex.odd and all(m[:_HEADER_BYTES] == header for m in ex.received.values()):
        return
    _name_mismatch(g, header, what)
    raise DistributedError(f"{what}: rank {g.rank} has {_describe(_decode(header))} but a peer sent a message of "
                           "another size")


def _disagree(g: ProcessGroup, mine: list[int], r: int, theirs: list[int], what: str) -> None:
    raise DistributedError(f"{what}: ranks disagree: rank {g.rank} has {_describe(mine)}, rank {r} has "
                           f"{_describe(theirs)}")


def _agree(g: ProcessGroup, header: bytes, what: str) -> None:
    """Every rank's header equal, or DistributedError on every rank naming the first rank that differs."""
    ex = _start_agreement(g, header)
    if ex is None:  # too many ranks to message each: the gather of headers is the agreement
        return _name_mismatch(g, header, what)
    g.mpi.wait(ex, what)
    _check_exchange(g, ex, header, what)
    ex.release()
    return None


def _name_mismatch(g: ProcessGroup, header: bytes, what: str) -> None:
    """Gather every rank's header (a collective of fixed size, so safe whatever differs) and raise naming the first
    that differs from ours; return when all agree."""
    everyone = bytearray(_HEADER_BYTES * g.world_size)
    g.mpi.wait(g.mpi.iallgather(memoryview(header), memoryview(everyone)), what)
    for r in range(g.world_size):
        theirs = everyone[r * _HEADER_BYTES:(r + 1) * _HEADER_BYTES]
        if theirs != header:
            _disagree(g, _decode(header), r, _decode(theirs), what)


def _reduction(d: dt.DType, op: str, what: str) -> tuple[dt.DType, str]:
    """The dtype on the wire and MPI's op for reducing d with op (halves go as float32; bool is logical)."""
    if d is dt.bool_:
        if op == "avg":
            raise DTypeError(f"{what}: op avg is not defined for bool tensors")
        return d, "lor" if op in ("sum", "max") else "land"
    if op == "avg" and not d.is_float:
        raise DTypeError(f"{what}: op avg needs a floating-point tensor, got {d.name} (torch refuses it too)")
    wire = dt.float32 if d in (dt.float16, dt.bfloat16) else d
    return wire, "sum" if op == "avg" else op


def _finish_all(stages: list[HostStage], scale: float | None = None) -> Callable[[], None]:
    def finish() -> None:
        for s in stages:
            s.finish(scale)
    return finish


def _result(work: Work, async_op: bool) -> Work | None:
    if async_op:
        return work
    work.wait()
    return None


def _nccl_for(g: ProcessGroup, *tensors: Tensor) -> Any:
    """The NCCL communicator when these tensors should move over it (backend nccl, CUDA tensors), else None."""
    if g.nccl is not None and all(t.device.split(":")[0] == "CUDA" for t in tensors):
        return g.nccl
    return None


def barrier(group: ProcessGroup | None = None, async_op: bool = False) -> Work | None:
    g = group or default_group()
    return _result(Work(g, [g.mpi.ibarrier()], "barrier", lambda: None), async_op)


def all_reduce(tensor: Tensor, op: Any = ReduceOp.SUM, group: ProcessGroup | None = None,
               async_op: bool = False) -> Work | None:
    """Reduce tensor over every rank and leave the result in tensor on each (in place, as torch)."""
    g = group or default_group()
    cached = g.plans.get((id(tensor), op))
    if cached is not None and not async_op and cached.node is getattr(tensor, "node", None) \
            and not cached.buf.shared:
        return cached.run(g)
    name = _reduce_op(op)
    t = _check_tensor(tensor, "all_reduce")
    header = _header("all_reduce", t, name)
    wire, mpi_op = _reduction(t.dtype, name, "all_reduce")
    scale = 1.0 / g.world_size if name == "avg" else None
    nccl = _nccl_for(g, t)
    if nccl is not None:
        _agree(g, header, "all_reduce")
        return _result(nccl.all_reduce(g, t, name), async_op)
    s = stage(t, wire)
    if (g.world_size - 1) * len(s.view) <= _FUSE_BYTES and g.world_size <= EXCHANGE_MAX_RANKS:
        if not async_op and scale is None and s.in_place is not None and (g.rank == 0 or g.world_size == 2):
            return _cache_all_reduce(g, (id(tensor), op), t, s, header, mpi_op).run(g)
        return _result(_fused_all_reduce(g, s, header, mpi_op, scale), async_op)
    _agree(g, header, "all_reduce")
    if g.world_size == 2:
        request = g.mpi.iallreduce_pair(s.view, wire.name, mpi_op, wire.itemsize)
    else:
        request = g.mpi.iallreduce(s.view, wire.name, mpi_op)
    return _result(Work(g, [request], "all_reduce", _finish_all([s], scale)), async_op)


def _fused_all_reduce(g: ProcessGroup, s: HostStage, header: bytes, mpi_op: str, scale: float | None) -> Work:
    """Header and data in one message to each peer, then every rank reduces the same rows in the same order."""
    ex = _start_agreement(g, header, s.view)
    assert ex is not None  # world_size <= EXCHANGE_MAX_RANKS

    def finish() -> None:
        _check_exchange(g, ex, header, "all_reduce")
        rows = {r: memoryview(m)[_HEADER_BYTES:] for r, m in ex.received.items()}
        _fold_rows(g, rows, s.view, s.wire.name, mpi_op)
        ex.release()
        s.finish(scale)
    return Work(g, [ex], "all_reduce", finish)


@dataclass(eq=False)
class _CachedAllReduce:
    """A small all_reduce repeated on the same host tensor (a training loop's, a benchmark's), set up once: its
    message with the header written, scratch rows, and MPI's arguments. Per call only the data is copied into
    the message, the exchange runs and the rows are folded into the tensor's buffer: a few microseconds of
    Python, where the general path's checks and set-up cost more than the round trip itself. Valid while the
    tensor still holds the same realized, unshared buffer (checked on every call)."""
    node: Any                       # the tensor's BUFFER node when cached
    buf: Any                        # its Buffer (written in place)
    header: bytes
    view: memoryview                # the buffer's bytes
    ex: Exchange
    reduce: Callable[[list, list], None]  # MPI op's Reduce_local
    rows: list[list]                # [peer's data, MPI type], in fold order
    target: list                    # [view, MPI type]
    note_write: Callable[[list], None]  # engine.realize.note_external_write

    def run(self, g: ProcessGroup) -> None:
        ex = self.ex
        ex.message[_HEADER_BYTES:] = self.view
        ex.start()
        g.mpi.wait(ex, "all_reduce")
        _check_exchange(g, ex, self.header, "all_reduce")
        for row in self.rows:
            self.reduce(row, self.target)
        self.note_write([self.buf])


def _cache_all_reduce(g: ProcessGroup, key: tuple, t: Tensor, s: HostStage, header: bytes,
                      mpi_op: str) -> _CachedAllReduce:
    """Set up (and remember) a small in-place all_reduce of t; rank order of the fold as in _fold_rows."""
    from baregrad.engine.realize import note_external_write
    ex = Exchange(g.mpi, bytearray(_HEADER_BYTES + len(s.view)))
    ex.message[:_HEADER_BYTES] = header
    mpi_type = g.mpi.table.types[s.wire.name]
    rows = []
    for peer in range(g.world_size):
        if peer != g.rank:
            ex.received[peer] = bytearray(len(ex.message))
            rows.append([memoryview(ex.received[peer])[_HEADER_BYTES:], mpi_type])
    if len(g.plans) >= _MAX_CACHED:
        g.plans.clear()
    plan = g.plans[key] = _CachedAllReduce(t.node, s.in_place, header, s.view, ex,
                                          g.mpi.table.ops[mpi_op].Reduce_local, rows, [s.view, mpi_type],
                                          note_external_write)
    return plan


def _fold_rows(g: ProcessGroup, rows: dict[int, memoryview], view: memoryview, wire: str, op: str) -> None:
    """view = row 0 op row 1 op ... in rank order (view holds this rank's row), bit for bit the same on every
    rank: two operands commute under MPI's built-in ops, so rank 0 folds into view directly, and on 2 ranks rank
    1 too; on more, other ranks fold into row 0's scratch and copy the result."""
    if not rows:
        return
    if g.rank == 0 or g.world_size == 2:
        for r in sorted(rows):
            g.mpi.reduce_local(rows[r], view, wire, op)
        return
    acc = rows[0]
    for r in range(1, g.world_size):
        g.mpi.reduce_local(view if r == g.rank else rows[r], acc, wire, op)
    view[:] = acc


def broadcast(tensor: Tensor, src: int = 0, group: ProcessGroup | None = None,
              async_op: bool = False) -> Work | None:
    """Copy rank src's tensor into tensor on every other rank."""
    g = group or default_group()
    t = _check_tensor(tensor, "broadcast")
    _check_rank(g, src, "broadcast src")
    _agree(g, _header("broadcast", t, root=src), "broadcast")
    nccl = _nccl_for(g, t)
    if nccl is not None:
        return _result(nccl.broadcast(g, t, src), async_op)
    if g.rank == src:
        return _result(Work(g, [g.mpi.ibcast(read_bytes(t), src)], "broadcast", lambda: None), async_op)
    s = stage(t)
    return _result(Work(g, [g.mpi.ibcast(s.view, src)], "broadcast", _finish_all([s])), async_op)


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: ProcessGroup | None = None,
               async_op: bool = False) -> Work | None:
    """tensor_list[r] gets rank r's tensor, on every rank."""
    g = group or default_group()
    t = _check_tensor(tensor, "all_gather")
    if len(tensor_list) != g.world_size or any(o.shape != t.shape or o.dtype is not t.dtype for o in tensor_list):
        raise ShapeError(f"all_gather needs a list of {g.world_size} tensors like the input {t.dtype.name}"
                         f"{list(t.shape)}, got {[f'{o.dtype.name}{list(o.shape)}' for o in tensor_list]}")
    _agree(g, _header("all_gather", t), "all_gather")
    send = read_bytes(t)
    gathered = bytearray(len(send) * g.world_size)
    request = g.mpi.iallgather(send, memoryview(gathered))

    def finish() -> None:
        n = len(send)
        for r, out in enumerate(tensor_list):
            out.assign(Tensor.from_bytes(memoryview(gathered)[r * n:(r + 1) * n], t.dtype, t.shape, out.device))
        from baregrad.tensor import realize_all
        realize_all(tensor_list)
    return _result(Work(g, [request], "all_gather", finish), async_op)


def all_gather_into_tensor(output: Tensor, input: Tensor, group: ProcessGroup | None = None,
                           async_op: bool = False) -> Work | None:
    """output (world_size * input's first dim, ...) gets every rank's input, in rank order."""
    g = group or default_group()
    t = _check_tensor(input, "all_gather_into_tensor")
    if output.numel() != t.numel() * g.world_size or output.dtype is not t.dtype:
        raise ShapeError(f"all_gather_into_tensor: output {output.dtype.name}{list(output.shape)} must hold "
                         f"world_size ({g.world_size}) times input {t.dtype.name}{list(t.shape)}")
    _agree(g, _header("all_gather", t), "all_gather_into_tensor")
    send = read_bytes(t)
    gathered = bytearray(len(send) * g.world_size)
    request = g.mpi.iallgather(send, memoryview(gathered))

    def finish() -> None:
        output.assign(Tensor.from_bytes(gathered, t.dtype, output.shape, output.device)).realize()
    return _result(Work(g, [request], "all_gather_into_tensor", finish), async_op)


def reduce_scatter(output: Tensor, input_list: list[Tensor], op: Any = ReduceOp.SUM,
                   group: ProcessGroup | None = None, async_op: bool = False) -> Work | None:
    """output on rank r gets the reduction over ranks of their input_list[r]."""
    g, name = group or default_group(), _reduce_op(op)
    out = _check_tensor(output, "reduce_scatter")
    if len(input_list) != g.world_size or any(i.shape != out.shape or i.dtype is not out.dtype for i in input_list):
        raise ShapeError(f"reduce_scatter needs a list of {g.world_size} tensors like the output {out.dtype.name}"
                         f"{list(out.shape)}, got {[f'{i.dtype.name}{list(i.shape)}' for i in input_list]}")
    return _reduce_scatter(g, out, Tensor.stack(input_list), name, async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: Any = ReduceOp.SUM,
                          group: ProcessGroup | None = None, async_op: bool = False) -> Work | None:
    """output (input's first dim / world_size, ...) on rank r gets the reduction of rank r's slice of input."""
    g, name = group or default_group(), _reduce_op(op)
    out = _check_tensor(output, "reduce_scatter_tensor")
    if input.numel() != out.numel() * g.world_size or input.dtype is not out.dtype:
        raise ShapeError(f"reduce_scatter_tensor: input {input.dtype.name}{list(input.shape)} must hold world_size "
                         f"({g.world_size}) times output {out.dtype.name}{list(out.shape)}")
    return _reduce_scatter(g, out, input, name, async_op)


def _reduce_scatter(g: ProcessGroup, out: Tensor, stacked: Tensor, op: str, async_op: bool) -> Work | None:
    _agree(g, _header("reduce_scatter", out, op), "reduce_scatter")
    wire, mpi_op = _reduction(out.dtype, op, "reduce_scatter")
    send = memoryview(stacked.detach().cast(wire).contiguous().to_bytes())
    s = stage(out, wire)
    request = g.mpi.ireduce_scatter(send, s.view, wire.name, mpi_op)
    scale = 1.0 / g.world_size if op == "avg" else None
    return _result(Work(g, [request], "reduce_scatter", _finish_all([s], scale)), async_op)


# ---- point to point ----
def _check_rank(g: ProcessGroup, r: int, what: str) -> None:
    if not isinstance(r, int) or not 0 <= r < g.world_size:
        raise ArgumentError(f"{what} must be a rank in [0, {g.world_size}), got {r!r}")


def _tags(tag: int) -> tuple[int, int]:
    if not 0 <= tag < 1 << 20:
        raise ArgumentError(f"tag must be in [0, 2**20), got {tag}")
    return 2 * tag, 2 * tag + 1


def isend(tensor: Tensor, dst: int, group: ProcessGroup | None = None, tag: int = 0) -> Work:
    """Send tensor to rank dst; the receiver checks its shape and dtype against ours."""
    g = group or default_group()
    t = _check_tensor(tensor, "send")
    _check_rank(g, dst, "send dst")
    head_tag, data_tag = _tags(tag)
    header = _header("send", t)
    payload = read_bytes(t)
    requests = [g.mpi.isend(memoryview(header).cast("B"), dst, head_tag), g.mpi.isend(payload, dst, data_tag)]
    keep = [header, payload]  # the send buffers must live until the requests complete

    def finish() -> None:
        del keep[:]
    return Work(g, requests, f"send to rank {dst}", finish)


def irecv(tensor: Tensor, src: int, group: ProcessGroup | None = None, tag: int = 0) -> Work:
    """Receive into tensor from rank src. A sender whose tensor differs makes this raise DistributedError (with
    both shapes); its bytes are still received, into scratch, so the sender is not left waiting."""
    g = group or default_group()
    t = _check_tensor(tensor, "recv")
    _check_rank(g, src, "recv src")
    head_tag, data_tag = _tags(tag)
    header = array.array("q", [0] * _HEADER_LEN)
    g.mpi.wait(g.mpi.irecv(memoryview(header).cast("B"), src, head_tag), f"recv from rank {src}")
    mine = _decode(_header("send", t))
    theirs = list(header)
    if theirs != mine:
        n = _DTYPES[theirs[1]].itemsize
        for d in theirs[5:5 + theirs[4]]:
            n *= d
        g.mpi.wait(g.mpi.irecv(memoryview(bytearray(n)), src, data_tag), f"recv from rank {src}")
        raise DistributedError(f"recv on rank {g.rank}: expected {_describe(mine)}, rank {src} sent "
                               f"{_describe(theirs)}")
    s = stage(t)
    request = g.mpi.irecv(s.view, src, data_tag)
    return Work(g, [request], f"recv from rank {src}", _finish_all([s]))


def send(tensor: Tensor, dst: int, group: ProcessGroup | None = None, tag: int = 0) -> None:
    isend(tensor, dst, group, tag).wait()


def recv(tensor: Tensor, src: int, group: ProcessGroup | None = None, tag: int = 0) -> int:
    irecv(tensor, src, group, tag).wait()
    return src
