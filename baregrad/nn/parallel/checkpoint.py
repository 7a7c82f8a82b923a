"""Checkpoints of a data-parallel run: rank 0 writes (bg.save is atomic), every rank reads the same file."""
from __future__ import annotations

import os
from typing import Any


def save_checkpoint(obj: Any, path: str | os.PathLike) -> None:
    """Rank 0 writes obj to path (atomically: a crash leaves the previous checkpoint); the others wait for it, so
    the file is complete on return everywhere (the ranks must share the file system)."""
    from baregrad import distributed as dist
    from baregrad.nn.state.torch_save import save_torch_zip  # bg.save, without importing the package facade
    if not dist.is_initialized() or dist.get_rank() == 0:
        save_torch_zip(obj, path)
    if dist.is_initialized():
        dist.barrier()


def load_checkpoint(path: str | os.PathLike, device: Any = None) -> Any:
    """Every rank reads the checkpoint rank 0 wrote (after a barrier, so none reads a file still being replaced)."""
    from baregrad import distributed as dist
    from baregrad.nn.state.torch_checkpoint import torch_load  # bg.load, without importing the package facade
    if dist.is_initialized():
        dist.barrier()
    return torch_load(path, device=device)
