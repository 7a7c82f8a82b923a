"""DistributedDataParallel: one model replica per rank, gradients averaged over the ranks after each backward.

At construction rank 0's parameters and buffers are broadcast, so every replica starts equal. Each parameter
gets a gradient hook; the first one to fire in a backward queues `_reduce_gradients` to run once that backward has
realized every gradient. There the gradients are packed into buckets (~bucket_cap_mb each, in reverse parameter
order as torch does), and each bucket's all-reduce is started before the next bucket is packed, so packing and
communication overlap.

Why not overlap with the backward itself, as torch does: baregrad's backward only builds a lazy graph, and every
gradient is computed by one realize at its end. Realizing a bucket inside a hook would split that graph and
compute the shared part of the backward again for each bucket, so communication starts after the backward.

no_sync() skips the all-reduce (gradients accumulate locally; the next synced backward reduces the sum). With
broadcast_buffers (the default) every forward in training mode first copies rank 0's buffers (BatchNorm running
statistics) to the other ranks, as torch does.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from baregrad import distributed as dist
from baregrad.nn.module import Module
from baregrad.tensor import Tensor, realize_all
from baregrad.tensor_ops.hooks import queue_after_backward


class DistributedDataParallel(Module):
    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group: Any = None, bucket_cap_mb: float = 25,
                 find_unused_parameters: bool = False, **_ignored: Any) -> None:
        super().__init__()
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        object.__setattr__(self, "_group", process_group)
        object.__setattr__(self, "_require_sync", True)
        params = [p for p in module.parameters() if p.requires_grad]
        object.__setattr__(self, "_buckets", _buckets(list(reversed(params)), int(bucket_cap_mb * (1 << 20))))
        self._sync_module_states()
        object.__setattr__(self, "_hooks", [p.register_hook(self._on_grad) for p in params])

    # ---- the wrapped module ----
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self.broadcast_buffers and self.training and dist.get_world_size() > 1:
            for b in self.module.buffers():
                dist.broadcast(b, 0, self._group)
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes inside accumulate gradients locally, with no communication."""
        old = self._require_sync
        object.__setattr__(self, "_require_sync", False)
        try:
            yield
        finally:
            object.__setattr__(self, "_require_sync", old)

    # ---- synchronization ----
    def _sync_module_states(self) -> None:
        for t in [*self.module.parameters(), *self.module.buffers()]:
            dist.broadcast(t, 0, self._group)

    def _on_grad(self, grad: Tensor) -> None:
        if self._require_sync:
            queue_after_backward(self._reduce_gradients)

    def _reduce_gradients(self) -> None:
        """Average every parameter's .grad over the ranks, a bucket at a time (see the module docstring)."""
        world = dist.get_world_size()
        scale = 1.0 / world
        in_flight = []
        for bucket in self._buckets:
            grads = [p.grad if p.grad is not None else p.detach().zeros_like() for p in bucket]
            flat = Tensor.cat([g.detach().reshape(-1) for g in grads]).realize()
            in_flight.append((bucket, flat, dist.all_reduce(flat, group=self._group, async_op=True)))
        new_grads = []
        for bucket, flat, work in in_flight:
            work.wait()
            offset = 0
            for p in bucket:
                n = p.numel()
                p.grad = flat[offset:offset + n].reshape(p.shape) * scale
                new_grads.append(p.grad)
                offset += n
        realize_all(new_grads)


def _buckets(params: list[Tensor], cap_bytes: int) -> list[list[Tensor]]:
    """Consecutive parameters of one device and dtype, up to cap_bytes per bucket (one parameter at least)."""
    buckets: list[list[Tensor]] = []
    size = 0
    for p in params:
        last = buckets[-1] if buckets else None
        nbytes = p.numel() * p.dtype.itemsize
        if last is None or size + nbytes > cap_bytes or last[0].device != p.device or last[0].dtype is not p.dtype:
            buckets.append([p])
            size = nbytes
        else:
            last.append(p)
            size += nbytes
    return buckets
