"""Run under mpiexec by test_ddp.py: train a small CNN with DDP on this rank's half of a global batch and write
the final weights (rank 0) to argv[1]; with world size 1 it trains on the whole batch (the reference)."""
import sys

import numpy as np

import baregrad as bg
import baregrad.distributed as dist
from baregrad import nn, optim
from baregrad.nn.parallel import DistributedDataParallel, DistributedSampler, load_checkpoint, save_checkpoint


class CNN(nn.Module):
    """examples/mnist.py's SmallCNN shape, smaller channels to keep the test fast."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 5), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(4, 8, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


def main(out: str, steps: int, global_batch: int, accumulate: int) -> None:
    dist.init_process_group("mpi", timeout=60)
    rank, world = dist.get_rank(), dist.get_world_size()
    rng = np.random.default_rng(0)
    images = rng.standard_normal((steps * global_batch, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, steps * global_batch)
    bg.manual_seed(1 + rank)  # replicas start different: DDP must broadcast rank 0's weights
    model = CNN()
    if world > 1:  # the reference (one process, whole batch) trains the plain module
        model = DistributedDataParallel(model, bucket_cap_mb=0.004)  # several buckets on a ~5k parameter model
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for step in range(steps):
        sampler = DistributedSampler(range(global_batch), shuffle=False)
        idx = np.array(list(sampler)) + step * global_batch
        chunks = np.array_split(idx, accumulate)
        for i, chunk in enumerate(chunks):
            x, y = bg.tensor(images[chunk]), bg.tensor(labels[chunk])
            ctx = model.no_sync() if i < accumulate - 1 and world > 1 else _null()
            with ctx:
                loss = loss_fn(model(x), y) * (len(chunk) / len(idx))
                loss.backward()
        opt.step()
        opt.zero_grad()
    module = model.module if world > 1 else model
    save_checkpoint(module.state_dict(), out)
    back = load_checkpoint(out)
    for name, t in module.state_dict().items():
        assert np.array_equal(back[name].numpy(), t.numpy()), name
    dist.destroy_process_group()


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
