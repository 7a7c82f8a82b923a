"""baregrad.distributed beside mpi4py: all-reduce bus bandwidth from 1 KB to 256 MB, and DDP step time on 1 vs 2
ranks.

    python bench/distributed.py            # launches itself on 2 ranks (python -m baregrad.distributed.run)
    python bench/distributed.py --min-kb 256 --max-mb 16 --rounds 15 --no-ddp

Bus bandwidth is torch/nccl-tests' figure: bytes * 2 (n - 1) / n / time. The peer is mpi4py's own blocking
Allreduce (in place, sum) on a numpy float32 array of the same size, timed in the same processes. Each round times
a batch of back-to-back calls of ours and a batch of the peer's (each batch starts after a barrier and is timed
until its last call returned; a batch's time is the slowest rank's), alternating which goes first, so that load
from other processes on a shared machine hits both alike; a size's figure is the median over rounds, and the
spread column is the interquartile range of the per-round ratios (how noisy the machine was). Before timing, both
reduce the same random data and must agree exactly; after timing, both buffers must be equal (the same number of
reductions really ran). DDP: the small MNIST CNN with the same per-rank batch (weak scaling), median step time
over a few steps; on a 2-core machine the 2-rank run shares the cores, so it cannot show a speed-up.
"""
from __future__ import annotations

import functools
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2]


def _quartiles(xs: list[float]) -> tuple[float, float]:
    xs = sorted(xs)
    return xs[len(xs) // 4], xs[(3 * len(xs)) // 4]


def _batch(comm, call, inner: int) -> float:
    """Seconds per call of `inner` back-to-back calls, started together after a barrier."""
    comm.Barrier()
    t0 = time.perf_counter()
    for _ in range(inner):
        call()
    return (time.perf_counter() - t0) / inner


def _check_same_result(comm, t, arr) -> None:
    """Ours and the peer's all_reduce of the same random data agree exactly (both sum 2 values per element)."""
    import numpy as np
    rng = np.random.default_rng(comm.Get_rank())
    data = rng.standard_normal(arr.size).astype(np.float32)
    arr[:] = data
    import baregrad as bg
    import baregrad.distributed as dist
    t.assign(bg.tensor(data)).realize()
    dist.all_reduce(t)
    from mpi4py import MPI
    comm.Allreduce(MPI.IN_PLACE, arr)
    if not np.array_equal(t.numpy(), arr):
        raise AssertionError(f"all_reduce of {arr.nbytes} bytes differs from mpi4py's")


def bandwidth(min_kb: int, max_mb: int, rounds: int) -> None:
    import numpy as np
    from mpi4py import MPI

    import baregrad as bg
    import baregrad.distributed as dist
    dist.init_process_group("mpi")
    comm, n, rank = MPI.COMM_WORLD, dist.get_world_size(), dist.get_rank()
    size = min_kb << 10
    if rank == 0:
        print(f"all_reduce (sum, float32) on {n} ranks, device {bg.default_device()}; bus GB/s, median of {rounds} "
              "rounds (spread: interquartile range of the per-round ratio)")
        print(f"{'bytes':>12} {'ours':>10} {'mpi4py':>10} {'ratio':>7} {'spread':>13} {'ours us':>11} "
              f"{'mpi4py us':>11}")
    while size <= max_mb << 20:
        inner = max(1, min(500, (8 << 20) // size))
        arr = np.ones(size // 4, dtype=np.float32)
        t = bg.ones(size // 4).realize()
        _check_same_result(comm, t, arr)
        arr[:] = 1
        t.assign(bg.ones(size // 4)).realize()
        ours_call = functools.partial(dist.all_reduce, t)
        peer_call = functools.partial(comm.Allreduce, MPI.IN_PLACE, arr)
        for _ in range(2):  # warm-up: first-touch pages, MPI's shared-memory setup for this size
            ours_call()
            peer_call()
        ours, peer = [], []
        for i in range(rounds):
            first, second = (ours, peer) if i % 2 == 0 else (peer, ours)
            first.append(_batch(comm, ours_call if first is ours else peer_call, inner))
            second.append(_batch(comm, ours_call if second is ours else peer_call, inner))
        ours, peer = np.array(ours), np.array(peer)
        comm.Allreduce(MPI.IN_PLACE, ours, op=MPI.MAX)  # a batch lasts until its slowest rank finished
        comm.Allreduce(MPI.IN_PLACE, peer, op=MPI.MAX)
        if not np.array_equal(t.numpy(), arr):
            raise AssertionError(f"after timing, ours and the peer's {size}-byte buffers differ")
        factor = size * 2 * (n - 1) / n / 1e9
        a, b = factor / _median(list(ours)), factor / _median(list(peer))
        lo, hi = _quartiles([p / o for o, p in zip(ours, peer)])
        if rank == 0:
            print(f"{size:>12} {a:>10.3f} {b:>10.3f} {a / b:>6.2f}x {lo:>6.2f}-{hi:<5.2f} "
                  f"{_median(list(ours)) * 1e6:>11.1f} {_median(list(peer)) * 1e6:>11.1f}", flush=True)
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
        return bandwidth(int(args[1]), int(args[2]), int(args[3]))
    if args and args[0] == "--ddp":
        return ddp_steps(int(args[1]), int(args[2]))
    max_mb = int(args[args.index("--max-mb") + 1]) if "--max-mb" in args else 256
    min_kb = int(args[args.index("--min-kb") + 1]) if "--min-kb" in args else 1
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 11
    launch(2, "--bandwidth", str(min_kb), str(max_mb), str(rounds))
    if "--no-ddp" in args:
        return None
    for n in (1, 2):
        launch(n, "--ddp", "5", "64")


if __name__ == "__main__":
    main()
