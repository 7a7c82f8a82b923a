"""Data parallelism across processes: DistributedDataParallel, DistributedSampler and rank-0 checkpoints."""
from baregrad.nn.parallel.checkpoint import load_checkpoint, save_checkpoint
from baregrad.nn.parallel.distributed import DistributedDataParallel
from baregrad.nn.parallel.sampler import DistributedSampler

__all__ = ["DistributedDataParallel", "DistributedSampler", "load_checkpoint", "save_checkpoint"]
