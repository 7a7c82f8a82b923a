"""The default process group: which backend, this process's rank, the world size and the collective timeout.

Ranks come from the MPI launcher (`python -m baregrad.distributed.run`, or mpiexec directly). The usual
environment variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) are read and checked against
MPI's view; a process started by torchrun-style tooling without mpiexec is refused with the command to use, since
MPI, not a TCP store, forms the group. The nccl backend also uses MPI, to hand every rank NCCL's unique id.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from baregrad import config
from baregrad.errors import ArgumentError, DistributedError

BACKENDS = ("mpi", "nccl")


@dataclass
class ProcessGroup:
    backend: str
    rank: int
    world_size: int
    timeout: float
    mpi: Any                       # the MPITransport (every backend has one: headers, host tensors, bootstrap)
    nccl: Any = None               # the NCCL communicator for CUDA tensors (backend "nccl")
    next_tag: dict[int, int] = field(default_factory=dict)
    plans: dict = field(default_factory=dict)  # (id(tensor), op) -> a small all_reduce set up once (collectives.py)


_GROUP: list[ProcessGroup] = []


def _env_int(name: str) -> int | None:
    value = config.launch_variable(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise DistributedError(f"environment variable {name}={value!r} is not an integer") from None


def _seconds(timeout: Any) -> float:
    if timeout is None:
        return config.distributed_timeout()
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
    if seconds <= 0:
        raise ArgumentError(f"timeout must be positive, got {timeout!r}")
    return seconds


def init_process_group(backend: str = "mpi", init_method: str | None = None, timeout: Any = None,
                       world_size: int = -1, rank: int = -1, **_ignored: Any) -> None:
    """Join the default group. backend "mpi" (any tensor, through host memory) or "nccl" (CUDA tensors over NCCL,
    others over MPI). timeout: seconds or a timedelta (default BAREGRAD_DIST_TIMEOUT, 300 s)."""
    if _GROUP:
        raise DistributedError("init_process_group called twice: the default process group is already initialized")
    backend = str(backend).lower()
    if backend not in BACKENDS:
        raise ArgumentError(f"unknown backend {backend!r}: baregrad.distributed has {', '.join(BACKENDS)}")
    seconds = _seconds(timeout)
    from baregrad.distributed.mpi import MPITransport
    want_size = world_size if world_size > 0 else _env_int("WORLD_SIZE")
    want_rank = rank if rank >= 0 else _env_int("RANK")
    transport = MPITransport(seconds)
    if transport.size == 1 and want_size is not None and want_size > 1:
        raise DistributedError(f"WORLD_SIZE is {want_size} but MPI started this process alone: launch the ranks "
                               f"with `python -m baregrad.distributed.run -n {want_size} script.py` (or mpiexec)")
    if want_size is not None and want_size != transport.size:
        raise DistributedError(f"world_size {want_size} (argument or WORLD_SIZE) but the MPI launcher started "
                               f"{transport.size} processes")
    if want_rank is not None and want_size is not None and want_rank != transport.rank:
        raise DistributedError(f"rank {want_rank} (argument or RANK) but MPI numbers this process {transport.rank}")
    group = ProcessGroup(backend, transport.rank, transport.size, seconds, transport)
    if backend == "nccl":
        from baregrad.distributed.nccl import NCCLCommunicator
        try:
            group.nccl = NCCLCommunicator.create(transport)
        except BaseException:
            transport.close()
            raise
    _GROUP.append(group)


def group() -> ProcessGroup:
    if not _GROUP:
        raise DistributedError("the default process group is not initialized: call "
                               "baregrad.distributed.init_process_group() first")
    return _GROUP[0]


def is_initialized() -> bool:
    return bool(_GROUP)


def get_rank() -> int:
    return group().rank


def get_world_size() -> int:
    return group().world_size


def get_backend() -> str:
    return group().backend


def destroy_process_group() -> None:
    """Leave the default group (its communicators are freed unless a peer failed)."""
    if not _GROUP:
        return
    g = _GROUP.pop()
    if g.nccl is not None:
        g.nccl.close()
    g.mpi.close()


def is_available() -> bool:
    """True when mpi4py imports (an MPI library is installed)."""
    import importlib.util
    return importlib.util.find_spec("mpi4py") is not None
