"""GPU benchmarks (issue 5): baregrad's GPU devices beside torch on the same GPU, in the same run.

  python bench/gpu.py [--devices CUDA,NV] [--quick] [--json out.json]
Rows: matmul 4096^3 fp32 / fp16 / bf16 in TFLOP/s; elementwise x*2+y over 2^28 floats in GB/s (12 bytes per
element moved); softmax 8192x8192 fp32 in GB/s (8 bytes per element); eager small-op latency and JIT replay
latency in microseconds per op (a chain of 10 small ops). torch's figures use cuBLAS / its own kernels and,
for replay, a CUDA graph. A device that does not open is listed with its reason and skipped.

Latency is measured first, for every device in turn within each of LATENCY_ROUNDS rounds (the order rotating),
and each figure is the median of its rounds: a device measured after another one inherits its garbage and a
larger heap for Python's collector, and a lone measurement on a shared host varies by a quarter between runs.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass
class Row:
    name: str
    unit: str
    higher_is_better: bool
    values: dict[str, float]


def timed(fn: Callable[[], object], sync: Callable[[], None], iters: int, warmup: int = 2) -> float:
    """Seconds per call of fn, synchronized before and after the timed loop."""
    for _ in range(warmup):
        fn()
    sync()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    sync()
    return (time.perf_counter() - t0) / iters


def small_chain(x, fresh=lambda t: t):
    for _ in range(10):
        x = fresh(x * 1.0001 + 0.5)
    return x


def fresh(t):
    """Realize t even if the same graph was computed before: baregrad keeps a computed result while its graph
    is alive, so a loop that rebuilds one graph would otherwise measure a cache hit, not the kernel."""
    from baregrad.engine.realize import bump_epoch
    bump_epoch()
    return t.realize()


ONLY: set[str] = set()  # --rows: measure just these row keys


def attempt(out: dict[str, float], key: str, fn: Callable[[], float]) -> None:
    """One row; a failure is printed and leaves the row empty, so the other rows still run."""
    if ONLY and key not in ONLY:
        return
    try:
        out[key] = fn()
        print(f"  {key}: {out[key]:.2f}", flush=True)
    except Exception as e:  # noqa: BLE001 - report and go on
        print(f"  {key}: failed ({type(e).__name__}: {str(e)[:400]})")


def bench_baregrad(device: str, quick: bool) -> dict[str, float]:
    import gc

    import baregrad as bg
    from baregrad.device import get_device
    from baregrad.ir.node import sweep
    gc.collect()
    sweep()  # the previous device's graphs leave the node table: each device starts from the same state
    dev = get_device(device)
    sync = dev.synchronize
    out: dict[str, float] = {}
    n = 2048 if quick else 4096
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)

    def matmul(dname: str) -> float:
        d = getattr(bg, dname)
        x = bg.Tensor(a, device=device).cast(d).realize()
        y = bg.Tensor(b, device=device).cast(d).realize()
        return 2 * n**3 / timed(lambda: fresh(x @ y), sync, 3 if quick else 10) / 1e12

    def elementwise() -> float:
        m = 1 << (24 if quick else 28)
        x = bg.Tensor(np.ones(m, np.float32), device=device)
        y = bg.Tensor(np.full(m, 2.0, np.float32), device=device)
        return 12 * m / timed(lambda: fresh(x * 2 + y), sync, 5) / 1e9

    def softmax() -> float:
        s = 4096 if quick else 8192
        z = bg.Tensor(rng.standard_normal((s, s), dtype=np.float32), device=device)
        return 8 * s * s / timed(lambda: fresh(z.softmax(-1)), sync, 5) / 1e9

    for dname in ("float32", "float16", "bfloat16"):
        attempt(out, f"matmul_{dname}", lambda: matmul(dname))
    attempt(out, "elementwise", elementwise)
    attempt(out, "softmax", softmax)
    return out


LATENCY_ROUNDS = 5


@dataclass
class LatencyProbe:
    """One device's two latency measurements, as callables returning microseconds per op."""
    eager: Callable[[], float]
    jit: Callable[[], float]


def baregrad_latency_probe(device: str, quick: bool) -> LatencyProbe:
    import baregrad as bg
    from baregrad.device import get_device
    sync = get_device(device).synchronize
    t = bg.Tensor(np.ones(16, np.float32), device=device)
    jitted = bg.jit(lambda v: small_chain(v, lambda u: u.realize()))
    return LatencyProbe(
        eager=lambda: timed(lambda: small_chain(t, fresh), sync, 8 if quick else 40, warmup=5) / 10 * 1e6,
        jit=lambda: timed(lambda: jitted(t), sync, 20 if quick else 100, warmup=3) / 10 * 1e6)


def torch_latency_probe(quick: bool) -> LatencyProbe:
    import torch
    dev, sync = "cuda", torch.cuda.synchronize
    t = torch.ones(16, device=dev)
    graph, static = torch.cuda.CUDAGraph(), torch.ones(16, device=dev)
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        small_chain(static)
    sync()
    with torch.cuda.graph(graph):
        small_chain(static)
    return LatencyProbe(eager=lambda: timed(lambda: small_chain(t), sync, 8 if quick else 40, warmup=5) / 10 * 1e6,
                        jit=lambda: timed(graph.replay, sync, 20 if quick else 100) / 10 * 1e6)


def latency_rows(results: dict[str, dict[str, float]], devices: list[str], quick: bool) -> None:
    """Eager and JIT latency of torch and each device, interleaved in rounds; the median round of each."""
    probes: dict[str, LatencyProbe] = {}
    if "torch" in results:
        probes["torch"] = torch_latency_probe(quick)
    for name in devices:
        try:
            probes[name] = baregrad_latency_probe(name, quick)
        except Exception as e:  # noqa: BLE001 - the device is reported by its own rows later
            print(f"{name}: no latency rows ({type(e).__name__}: {str(e)[:200]})")
    samples: dict[str, dict[str, list[float]]] = {n: {"eager_us": [], "jit_us": []} for n in probes}
    names = list(probes)
    for r in range(LATENCY_ROUNDS):
        for name in names[r % len(names):] + names[:r % len(names)]:
            for key, fn in (("eager_us", probes[name].eager), ("jit_us", probes[name].jit)):
                if ONLY and key not in ONLY:
                    continue
                try:
                    samples[name][key].append(fn())
                except Exception as e:  # noqa: BLE001 - report and go on
                    print(f"  {name} {key}: failed ({type(e).__name__}: {str(e)[:300]})")
    for name, rows in samples.items():
        for key, values in rows.items():
            if values:
                results.setdefault(name, {})[key] = float(np.median(values))
                print(f"  {name} {key}: {results[name][key]:.2f} (rounds: {', '.join(f'{v:.1f}' for v in values)})")


def bench_torch(quick: bool) -> dict[str, float]:
    import torch
    if not torch.cuda.is_available():
        raise RuntimeError("torch sees no CUDA device")
    dev, sync, out = "cuda", torch.cuda.synchronize, {}
    n = 2048 if quick else 4096
    for dname in ("float32", "float16", "bfloat16"):
        d = getattr(torch, dname)
        x, y = torch.randn(n, n, device=dev, dtype=d), torch.randn(n, n, device=dev, dtype=d)
        out[f"matmul_{dname}"] = 2 * n**3 / timed(lambda: x @ y, sync, 3 if quick else 10) / 1e12
    m = 1 << (24 if quick else 28)
    x, y = torch.ones(m, device=dev), torch.full((m,), 2.0, device=dev)
    out["elementwise"] = 12 * m / timed(lambda: x * 2 + y, sync, 5) / 1e9
    s = 4096 if quick else 8192
    z = torch.randn(s, s, device=dev)
    out["softmax"] = 8 * s * s / timed(lambda: z.softmax(-1), sync, 5) / 1e9
    return out


ROWS = [("matmul_float32", "matmul 4096 fp32", "TFLOP/s", True),
        ("matmul_float16", "matmul 4096 fp16", "TFLOP/s", True),
        ("matmul_bfloat16", "matmul 4096 bf16", "TFLOP/s", True), ("elementwise", "x*2+y 2^28 fp32", "GB/s", True),
        ("softmax", "softmax 8192^2 fp32", "GB/s", True), ("eager_us", "eager small op", "us/op", False),
        ("jit_us", "JIT replay", "us/op", False)]


def table(results: dict[str, dict[str, float]]) -> str:
    names = list(results)
    ours = [n for n in names if n != "torch"]
    head = f"{'benchmark':<22} {'unit':<8} " + " ".join(f"{n:>10}" for n in names)
    head += "".join(f" {n + '/torch':>12}" for n in ours if "torch" in results)
    lines = [head, "-" * len(head)]
    for key, label, unit, higher in ROWS:
        cells = [results[n].get(key) for n in names]
        line = f"{label:<22} {unit:<8} " + " ".join(f"{c:>10.2f}" if c is not None else f"{'-':>10}" for c in cells)
        for n in ours:
            if "torch" not in results:
                continue
            mine, ref = results[n].get(key), results["torch"].get(key)
            ratio = (mine / ref if higher else ref / mine) if mine and ref else None
            line += f" {ratio:>12.3f}" if ratio is not None else f" {'-':>12}"
        lines.append(line)
    lines.append("(ratios >1 mean faster than torch; latency ratios are torch/ours)")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", default="CUDA,NV")
    p.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    p.add_argument("--json", help="also write the figures here")
    p.add_argument("--rows", default="", help="comma-separated row keys to measure (default: all)")
    p.add_argument("--no-torch", action="store_true", help="skip the torch reference")
    args = p.parse_args()
    ONLY.update(x for x in args.rows.split(",") if x)
    results: dict[str, dict[str, float]] = {}
    try:  # torch first: if a baregrad device hangs and the run is cut short, the reference is already printed
        if not args.no_torch:
            results["torch"] = bench_torch(args.quick)
    except Exception as e:  # noqa: BLE001
        print(f"torch: skipped ({type(e).__name__}: {e})")
    devices = [d.strip().upper() for d in args.devices.split(",") if d.strip()]
    latency_rows(results, devices, args.quick)
    for name in devices:
        try:
            results.setdefault(name, {}).update(bench_baregrad(name, args.quick))
        except Exception as e:  # noqa: BLE001 - a device that fails is reported, the others still run
            print(f"{name}: skipped ({type(e).__name__}: {str(e)[:300]})")
        print(table(results), flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)

if __name__ == "__main__":
    main()
