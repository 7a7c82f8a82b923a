"""baregrad.distributed beside mpi4py: all-reduce bus bandwidth from 1 KB to 256 MB, and DDP step time on 1 vs 2
ranks.

    python bench/distributed.py            # launches itself on 2 ranks (python -m baregrad.distributed.run)
    python bench/distributed.py --max-mb 16

Bus bandwidth is torch/nccl-tests' figure: bytes * 2 (n - 1) / n / time. The peer is mpi4py's own blocking
Allreduce on a numpy array of the same size, timed in the same processes; ratio = ours / peer. DDP: the small
MNIST CNN with the same per-rank batch (weak scaling), median step time over a few steps; on a 2-core machine the
2-rank run shares the cores, so it cannot show a speed-up.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2]


def bandwidth(max_mb: int) -> None:
    import numpy as np
    from mpi4py import MPI

    import baregrad as bg
    import baregrad.distributed as dist
    dist.init_process_group("mpi")
    comm, n, rank = MPI.COMM_WORLD, dist.get_world_size(), dist.get_rank()
    size = 1024
    if rank == 0:
        print(f"all_reduce (sum, float32) on {n} ranks, device {bg.default_device()}; bus GB/s")
        print(f"{'bytes':>12} {'ours':>10} {'mpi4py':>10} {'ratio':>7}")
    while size <= max_mb << 20:
        reps = max(3, min(200, (64 << 20) // size))
        arr = np.ones(size // 4, dtype=np.float32)
        t = bg.ones(size // 4).realize()
        ours, peer = [], []
        for _ in range(reps):
            comm.Barrier()
            t0 = time.perf_counter()
            dist.all_reduce(t)
            ours.append(time.perf_counter() - t0)
            comm.Barrier()
            t0 = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, arr)
            peer.append(time.perf_counter() - t0)
        factor = size * 2 * (n - 1) / n / 1e9
        a, b = factor / _median(ours), factor / _median(peer)
        if rank == 0:
            print(f"{size:>12} {a:>10.3f} {b:>10.3f} {a / b:>7.2f}x", flush=True)
        size *= 4
    dist.destroy_process_group()


def ddp_steps(steps: int, batch: int) -> None:
    import numpy as np

    import baregrad as bg
    import baregrad.distributed as dist
    from baregrad import nn, optim
    from baregrad.nn.parallel import DistributedDataParallel
    dist.init_process_group("mpi")
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    from mnist import SmallCNN
    model = DistributedDataParallel(SmallCNN())
    opt = optim.SGD(model.parameters(), lr=0.01)
    rng = np.random.default_rng(dist.get_rank())
    x = bg.tensor(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = bg.tensor(rng.integers(0, 10, batch))
    times = []
    for _ in range(steps + 2):
        t0 = time.perf_counter()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        loss.realize()
        times.append(time.perf_counter() - t0)
    if dist.get_rank() == 0:
        n = dist.get_world_size()
        print(f"DDP SmallCNN, batch {batch} per rank, {n} rank(s): {_median(times[2:]) * 1e3:.1f} ms/step "
              f"({batch * n / _median(times[2:]):.0f} samples/s)", flush=True)
    dist.destroy_process_group()


def launch(n: int, *args: str) -> None:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run([sys.executable, "-m", "baregrad.distributed.run", "-n", str(n), os.path.abspath(__file__),
                    *args], env=env, check=True, timeout=900)


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "--bandwidth":
        return bandwidth(int(args[1]))
    if args and args[0] == "--ddp":
        return ddp_steps(int(args[1]), int(args[2]))
    max_mb = int(args[args.index("--max-mb") + 1]) if "--max-mb" in args else 256
    launch(2, "--bandwidth", str(max_mb))
    for n in (1, 2):
        launch(n, "--ddp", "5", "64")


if __name__ == "__main__":
    main()
