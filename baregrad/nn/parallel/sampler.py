"""DistributedSampler: each rank's share of a dataset's indices, as torch.utils.data.distributed's.

Every rank draws the same permutation (seeded by seed + epoch, so call set_epoch each epoch), pads it to a multiple
of the world size by repeating its start (or drops the tail with drop_last) and takes every num_replicas-th index
from its rank on. The permutation comes from Python's random with that seed, not torch's generator: the same on
every rank, but not the same order torch would draw.
"""
from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sized

from baregrad.errors import ArgumentError


class DistributedSampler:
    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from baregrad.distributed import get_rank, get_world_size
            num_replicas = get_world_size() if num_replicas is None else num_replicas
            rank = get_rank() if rank is None else rank
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ArgumentError(f"rank {rank} must be in [0, num_replicas={num_replicas})")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, drop_last, 0
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = n // num_replicas
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        indices = list(range(len(self.dataset)))
        if self.shuffle:
            random.Random(self.seed + self.epoch).shuffle(indices)
        if self.drop_last:
            indices = indices[:self.total_size]
        else:
            while len(indices) < self.total_size:
                indices += indices[:self.total_size - len(indices)]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __repr__(self) -> str:
        return f"DistributedSampler(rank={self.rank}, num_replicas={self.num_replicas}, samples={self.num_samples})"

