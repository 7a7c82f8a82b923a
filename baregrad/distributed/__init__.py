"""baregrad.distributed: torch.distributed's API over MPI (mpi4py) between processes and machines, and NCCL
between NVIDIA GPUs; plus tensors split over several devices of one process (multi.py).

    import baregrad.distributed as dist
    dist.init_process_group("mpi")              # ranks from the launcher: python -m baregrad.distributed.run -n 2
    dist.all_reduce(t, op=dist.ReduceOp.AVG)    # in place on t, on every rank

mpi4py and an MPI library are an optional extra (`pip install baregrad[distributed] mpich`); `import
baregrad.distributed` works without them, and init_process_group says what is missing.
"""
from baregrad.distributed.collectives import (
                                              ReduceOp,
                                              Work,
                                              all_gather,
                                              all_gather_into_tensor,
                                              all_reduce,
                                              barrier,
                                              broadcast,
                                              irecv,
                                              isend,
                                              recv,
                                              reduce_scatter,
                                              reduce_scatter_tensor,
                                              send,
)
from baregrad.distributed.group import (
                                              ProcessGroup,
                                              destroy_process_group,
                                              get_backend,
                                              get_rank,
                                              get_world_size,
                                              init_process_group,
                                              is_available,
                                              is_initialized,
)
from baregrad.errors import DistributedError
from baregrad.tensor_ops.multi import MultiTensor, shard

__all__ = [
                                              "DistributedError",
                                              "MultiTensor",
                                              "ProcessGroup",
                                              "ReduceOp",
                                              "Work",
                                              "all_gather",
                                              "all_gather_into_tensor",
                                              "all_reduce",
                                              "barrier",
                                              "broadcast",
                                              "destroy_process_group",
                                              "get_backend",
                                              "get_rank",
                                              "get_world_size",
                                              "init_process_group",
                                              "irecv",
                                              "is_available",
                                              "is_initialized",
                                              "isend",
                                              "recv",
                                              "reduce_scatter",
                                              "reduce_scatter_tensor",
                                              "send",
                                              "shard",
]
