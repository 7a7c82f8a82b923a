"""Run under `mpiexec -n 2` by test_collectives.py: every collective on every dtype against numpy, then the
mismatch errors. Any failed check raises (non-zero exit); the last line printed is 'collectives ok N'."""
import numpy as np

import baregrad as bg
import baregrad.distributed as dist

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "bfloat16",
          "float32", "float64"]


def inputs(dtype: str, world: int, shape: tuple, salt: int) -> list[np.ndarray]:
    """Every rank's input (the same on all ranks: seeded), as the values the tensors really hold."""
    rng = np.random.default_rng(salt)
    out = []
    for _ in range(world):
        if dtype == "bool":
            v = rng.integers(0, 2, shape).astype(bool)
        elif dtype.startswith("float") or dtype == "bfloat16":
            v = rng.standard_normal(shape).astype(np.float32)
        elif dtype.startswith("u"):
            v = rng.integers(0, 50, shape)
        else:
            v = rng.integers(-50, 50, shape)
        out.append(v)
    return out


def make(v: np.ndarray, dtype: str) -> bg.Tensor:
    return bg.tensor(v).to(getattr(bg, dtype if dtype != "bool" else "bool_"))


def value(t: bg.Tensor) -> np.ndarray:
    return t.numpy().astype(np.float64) if t.dtype.is_float else t.numpy()


def rounded(expected: np.ndarray, dtype: str) -> np.ndarray:
    """numpy's float64 result as the dtype holds it (halves round through baregrad's cast, as the result does)."""
    if dtype in ("float16", "bfloat16", "float32"):
        return value(make(expected.astype(np.float32), dtype))
    return expected


def check(got: bg.Tensor, expected: np.ndarray, dtype: str, what: str) -> None:
    want = rounded(expected, dtype)
    if dtype in ("float16", "bfloat16"):
        ok = np.allclose(value(got), want, rtol=1e-2, atol=1e-2)
    elif dtype.startswith("float"):
        ok = np.allclose(value(got), want, rtol=1e-6, atol=1e-6)
    else:
        ok = np.array_equal(got.numpy(), want.astype(got.numpy().dtype))
    assert ok, f"{what} {dtype}: got {got.numpy()} expected {want}"


def main() -> None:
    dist.init_process_group("mpi", timeout=30)
    rank, world = dist.get_rank(), dist.get_world_size()
    checks = 0
    for i, dtype in enumerate(DTYPES):
        shape = (3, 5)
        xs = [value(make(v, dtype)) for v in inputs(dtype, world, shape, i)]
        is_float = dtype.startswith("float") or dtype == "bfloat16"
        ops = {"sum": sum(xs), "max": np.maximum.reduce(xs), "min": np.minimum.reduce(xs)}
        if dtype == "bool":
            ops = {"sum": np.logical_or.reduce(xs), "max": np.logical_or.reduce(xs), "min": np.logical_and.reduce(xs)}
        if is_float:
            ops["avg"] = sum(xs) / world
        for op, expected in ops.items():
            t = make(xs[rank], dtype)
            dist.all_reduce(t, op=op)
            check(t, expected, dtype, f"all_reduce {op}")
            checks += 1
        work = dist.all_reduce(make(xs[rank], dtype) * 1, async_op=True)  # a lazy (unrealized) input, async
        assert work is not None and work.wait()
        t = make(xs[rank], dtype)
        dist.broadcast(t, src=world - 1)
        check(t, xs[world - 1], dtype, "broadcast")
        outs = [make(np.zeros(shape), dtype) for _ in range(world)]
        dist.all_gather(outs, make(xs[rank], dtype))
        for r in range(world):
            check(outs[r], xs[r], dtype, f"all_gather[{r}]")
        out = make(np.zeros(shape), dtype)
        parts = [value(make(v, dtype)) for v in inputs(dtype, world * world, shape, 100 + i)]
        dist.reduce_scatter(out, [make(parts[rank * world + j], dtype) for j in range(world)])
        expected = sum(parts[r * world + rank] for r in range(world))
        if dtype == "bool":
            expected = np.logical_or.reduce([parts[r * world + rank] for r in range(world)])
        check(out, expected, dtype, "reduce_scatter")
        if rank == 0:
            dist.send(make(xs[0], dtype), dst=1, tag=i)
        elif rank == 1:
            got = make(np.zeros(shape), dtype)
            dist.recv(got, src=0, tag=i)
            check(got, xs[0], dtype, "recv")
        checks += 4
    dist.barrier()
    # mismatches: every rank raises, naming both shapes / dtypes
    # the same small tensor reduced again and again (the cached path), then written in between (set up anew)
    xs = [np.random.default_rng(3 + r).standard_normal(64).astype(np.float32) for r in range(world)]
    t = bg.tensor(xs[rank])
    want = sum(x.astype(np.float64) for x in xs)
    for _ in range(3):
        dist.all_reduce(t)
        assert np.allclose(t.numpy(), want, rtol=1e-5), (t.numpy()[:4], want[:4])
        want = want * world
    t.assign(bg.tensor(xs[rank]) * 2).realize()
    dist.all_reduce(t)
    assert np.allclose(t.numpy(), 2 * sum(xs), rtol=1e-5)
    dist.all_reduce(t, op="max")
    assert np.allclose(t.numpy(), 2 * sum(xs), rtol=1e-5)  # every rank holds the sum already
    checks += 1
    # a large all_reduce (beyond the size whose data rides with the header) against numpy
    # (halves on 2 ranks; an odd count leaves one half an element longer), float and integer
    big = [np.random.default_rng(7 + r).standard_normal((1 << 18) + 3).astype(np.float32) for r in range(world)]
    t = bg.tensor(big[rank])
    dist.all_reduce(t)
    assert np.allclose(t.numpy(), sum(big), rtol=1e-6, atol=1e-6)
    ints = [np.random.default_rng(9 + r).integers(-1000, 1000, (1 << 17) + 1) for r in range(world)]
    t = bg.tensor(ints[rank])
    dist.all_reduce(t, op="max")
    assert np.array_equal(t.numpy(), np.maximum.reduce(ints))
    checks += 1
    # mismatches: every rank raises, naming both shapes / dtypes; sizes that differ (even one small enough to ride
    # with the header against one that is not) are caught before any data moves
    mismatched = [(bg.ones(3 + rank), ("float32[3]", "float32[4]")),
                  (bg.ones(4, dtype=bg.float32 if rank == 0 else bg.int32), ("float32[4]", "int32[4]")),
                  (bg.ones(4 if rank == 0 else 1 << 19), ("float32[4]", f"float32[{1 << 19}]")),
                  (bg.ones(200_000 if rank == 0 else 1 << 19), ("float32[200000]", f"float32[{1 << 19}]"))]
    for bad, names in mismatched:
        try:
            dist.all_reduce(bad)
        except dist.DistributedError as e:
            msg = str(e)
            assert "rank 0" in msg and "rank 1" in msg, msg
            assert all(name in msg for name in names), msg
            checks += 1
        else:
            raise AssertionError("a mismatched all_reduce did not raise")
    if rank == 0:
        dist.send(bg.ones(2, 2), dst=1, tag=99)
    else:
        try:
            dist.recv(bg.zeros(3), src=0, tag=99)
        except dist.DistributedError as e:
            assert "float32[2, 2]" in str(e) and "float32[3]" in str(e), str(e)
            checks += 1
        else:
            raise AssertionError("a mismatched recv did not raise")
    dist.barrier()
    dist.destroy_process_group()
    print(f"collectives ok {checks}", flush=True)


if __name__ == "__main__":
    main()
