"""The profiler: a training step's trace is valid Trace Event JSON, its kernel events match bg.counters(), device
times are positive and ordered, the table's totals match the trace, and profiling changes no result."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import baregrad as bg
from baregrad.device import get_device
from baregrad.profile import profiler
from baregrad.profile.table import PHASES as PHASES_IN_TABLE
from baregrad.profile.table import format_time, key_averages
from baregrad.profile.trace import chrome_trace
from tests.profile.conftest import train_step

PHASES = {"X", "M", "C", "i"}


def check_trace_schema(trace: dict) -> None:
    """The JSON Object Format of the Trace Event Format: the fields each event phase must carry."""
    assert isinstance(trace["traceEvents"], list) and trace["traceEvents"]
    assert trace.get("displayTimeUnit") in (None, "ms", "ns")
    for e in trace["traceEvents"]:
        assert e["ph"] in PHASES, e
        assert isinstance(e["name"], str) and e["name"], e
        assert isinstance(e["pid"], int) and isinstance(e.get("tid", 0), int), e
        if e["ph"] == "M":
            if e["name"] == "process_labels":  # a device's peak (device/peak.py)
                assert isinstance(e["args"]["labels"], str), e
                continue
            assert e["name"] in ("process_name", "thread_name") and isinstance(e["args"]["name"], str), e
            continue
        assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0, e
        if e["ph"] == "X":
            assert isinstance(e["dur"], (int, float)) and e["dur"] >= 0, e
        if e["ph"] == "C":
            assert all(isinstance(v, (int, float)) for v in e["args"].values()), e
        if e["ph"] == "i":
            assert e["s"] in ("g", "p", "t"), e
        assert isinstance(e.get("args", {}), dict) and isinstance(e.get("cat", ""), str)


def device_kernel_events(trace: dict) -> list[dict]:
    names = {e["pid"]: e["args"]["name"] for e in trace["traceEvents"] if e["name"] == "process_name"}
    return [e for e in trace["traceEvents"] if e["ph"] == "X" and e["cat"] == "kernel"
            and names[e["pid"]].startswith("device ")]


def test_training_step_trace(prof_device: str, tmp_path) -> None:
    plain_loss, plain_weights = train_step(prof_device)
    bg.reset_counters()
    with bg.profile() as prof:
        loss, weights = train_step(prof_device)
    launches = bg.counters()["kernels"]
    # profiling must not change what is computed
    assert loss == pytest.approx(plain_loss, rel=1e-6)
    for a, b in zip(weights, plain_weights):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())
    check_trace_schema(trace)
    kernels = device_kernel_events(trace)
    assert launches > 0 and len(kernels) == launches
    assert all(e["dur"] > 0 for e in kernels)
    # one device track: kernels run one after another, so each starts after the previous one ended
    for before, after in itertools.pairwise(kernels):
        assert after["ts"] >= before["ts"] + before["dur"] - 1e-6
    for e in kernels:
        assert e["args"]["flops"] >= 0 and e["args"]["bytes"] > 0 and len(e["args"]["source_hash"]) == 12
        assert e["args"]["shapes"] and len(e["args"]["shapes"]) == len(e["args"]["dtypes"])
    # the table's totals are the trace's
    trace_total = sum(e["dur"] for e in kernels)
    rows = [r for r in key_averages(prof) if r.kind == "kernel"]
    assert sum(r.calls for r in rows) == launches
    assert sum(r.total_us for r in rows) == pytest.approx(trace_total, rel=1e-9)
    table = prof.table(row_limit=1000)
    assert f"Kernel time total: {format_time(trace_total)} in {launches} launches" in table
    for r in rows:
        assert r.name in table
    # the phases are there too; every realize either scheduled (a span) or found its schedule cached (noted)
    spans = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert {"realize", "kernel", "copy"} <= {e["cat"] for e in spans}
    realizes = [e for e in spans if e["cat"] == "realize"]
    cached = sum(1 for e in realizes if e["args"]["schedule_cached_us"] is not None)
    assert cached + sum(1 for e in spans if e["cat"] == "schedule") == len(realizes)
    assert sum(1 for e in spans if e["cat"] == "rewrite") == len(realizes)  # one rewrite span per realize
    for phase in PHASES_IN_TABLE:  # each phase's total in the table is its spans' in the trace
        want = sum(e["dur"] for e in spans if e["cat"] == phase and (phase != "copy" or e["pid"] != 1))
        total = sum(r.total_us for r in key_averages(prof) if r.kind == phase)
        assert total == pytest.approx(want, rel=1e-9, abs=1e-9), phase
        if want:
            assert f"{phase.capitalize()} time total: {format_time(want)}" in table
    assert profiler.ACTIVE is None  # the with-block stopped it


def test_kernel_cost_of_an_add(prof_device: str) -> None:
    """An elementwise add of n floats reads 2n and writes n floats: bytes 12n, one operation per element."""
    n = 1000
    a = bg.Tensor(np.random.rand(n).astype(np.float32), device=prof_device).realize()
    b = bg.Tensor(np.random.rand(n).astype(np.float32), device=prof_device).realize()
    with bg.profile() as prof:
        c = (a + b).realize()
    np.testing.assert_allclose(c.numpy(), a.numpy() + b.numpy(), rtol=1e-6)
    (kernel,) = prof.kernel_events()
    assert kernel.args["bytes"] == 12 * n
    assert kernel.args["flops"] == n
    assert kernel.args["shapes"] == [(n,), (n,), (n,)]
    (traced,) = [e for e in chrome_trace(prof)["traceEvents"] if e.get("cat") == "kernel" and e["pid"] != 1]
    assert traced["args"]["GB/s"] == pytest.approx(12 * n / (kernel.dur * 1e-6) / 1e9, rel=1e-2)


def test_kernel_cost_of_a_matmul(prof_device: str) -> None:
    """A matmul multiplies and accumulates once per (m, n, k): 2*M*N*K FLOPs, counted in the class of its dtype;
    half inputs count against the half-precision peak (a GPU runs them on tensor cores)."""
    rng = np.random.default_rng(1)
    m, k, n = 24, 40, 16
    a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    ta, tb = bg.Tensor(a, device=prof_device).realize(), bg.Tensor(b, device=prof_device).realize()
    ha, hb = ta.half().realize(), tb.half().realize()
    with bg.profile() as prof:
        out = (ta @ tb).realize()
        half = (ha @ hb).realize()
    np.testing.assert_allclose(out.numpy(), a @ b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(half.numpy().astype(np.float32), a.astype(np.float16).astype(np.float32) @
                               b.astype(np.float16).astype(np.float32), rtol=2e-2, atol=2e-2)
    full, mixed = prof.kernel_events()
    assert full.args["flops"] == mixed.args["flops"] == 2 * m * n * k
    assert (full.args["flop_class"], mixed.args["flop_class"]) == ("fp32", "fp16")


def test_kernel_cost_of_a_gather_counts_the_rows_read(prof_device: str) -> None:
    """An embedding lookup reads the rows it gathers, not the whole table: counting the table's bytes made a decode
    step's lookups read at thousands of % of the memory's peak."""
    rng = np.random.default_rng(5)
    table = rng.standard_normal((1000, 64)).astype(np.float32)
    ids = np.array([3, 999, 3], np.int64)
    t, i = bg.Tensor(table, device=prof_device).realize(), bg.Tensor(ids, device=prof_device).realize()
    with bg.profile() as prof:
        rows = t[i].realize()
    np.testing.assert_array_equal(rows.numpy(), table[ids])
    (kernel,) = prof.kernel_events()
    assert kernel.args["bytes"] == 3 * 8 + 2 * 3 * 64 * 4  # the ids, the rows read, the rows written


def test_a_fresh_schedule_has_a_rewrite_span_then_a_schedule_span(prof_device: str) -> None:
    """The rewrite phase (canonicalize, graph rewrites, lowering and simplifying new kernels) precedes the
    schedule span without overlapping it, and a new kernel's lowering is counted in it."""
    rng = np.random.default_rng(2)
    x = bg.Tensor(rng.standard_normal((29, 31)).astype(np.float32), device=prof_device).realize()
    with bg.profile() as prof:
        y = ((x * 1.75).exp().sum(1, keepdim=True) - x.abs()).realize()  # a graph no other test builds
    want = np.exp(x.numpy() * 1.75).sum(1, keepdims=True) - np.abs(x.numpy())
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-5, atol=1e-4)
    (rewrite,) = [e for e in prof.events if e.cat == "rewrite"]
    (schedule,) = [e for e in prof.events if e.cat == "schedule"]
    (realize,) = [e for e in prof.events if e.cat == "realize"]
    assert rewrite.args["kernels_us"] > 0 and rewrite.dur >= rewrite.args["kernels_us"] - 1e-6
    assert realize.ts <= rewrite.ts and rewrite.ts + rewrite.dur <= schedule.ts + 1e-6
    assert schedule.ts + schedule.dur <= realize.ts + realize.dur + 1e-6


def test_memory_bound_kernel_share_of_peak(prof_device: str) -> None:
    """A large add (96 MiB moved, far past the caches) reaches a share of the device's memory bandwidth in
    (0, 100%]. The peak counts bytes as the profiler does and is measured in each thread's CPU time, so a kernel
    timed by the wall clock cannot honestly beat it; a share above 100% would mean the peak was under-measured
    (e.g. timed while its threads were descheduled), a bug to fix. The margin only absorbs run-to-run noise."""
    peak = get_device(prof_device).peak()
    if peak is None:
        pytest.skip(f"device {prof_device} has no known peak (the PYTHON interpreter has no roofline)")
    n = 8 << 20
    rng = np.random.default_rng(4)
    # random rows repeated (drawing 16M normals takes longer than the test's point); the kernel sees 96 MiB
    a_np, b_np = (np.tile(rng.standard_normal(4096, dtype=np.float32), n // 4096) for _ in range(2))
    a, b = bg.Tensor(a_np, device=prof_device).realize(), bg.Tensor(b_np, device=prof_device).realize()
    counter = bg.zeros(1, device=prof_device).realize()
    for _ in range(2):  # the first pass compiles (and first touches the output's pages); the second one counts
        with bg.profile() as prof:
            for _ in range(2):
                c = (a + b).realize()
                # an in-place write elsewhere: the next (a + b) is computed again, not served from the memo
                counter.assign(counter + 1).realize()
    assert np.array_equal(c.numpy(), a_np + b_np)  # one rounding in float32 either way: equal bits
    assert counter.item() == 4
    kernels = [e for e in device_kernel_events(chrome_trace(prof)) if list(e["args"]["shapes"][0]) == [n]]
    assert len(kernels) == 2
    for e in kernels:
        assert 0 < e["args"]["% peak GB/s"] <= 150, e["args"]
        assert 0 < e["args"]["% peak GFLOP/s"] < e["args"]["% peak GB/s"]  # an add is memory-bound
    (row,) = [r for r in key_averages(prof) if r.kind == "kernel" and r.name == kernels[0]["name"]]
    assert row.peak_bytes_pct == pytest.approx(100 * 12 * n * 2 / (sum(e["dur"] for e in kernels) * 1e3) / peak.gbps)
    assert f"{row.peak_bytes_pct:.1f}%" in prof.table()


def test_profiling_off_records_nothing(prof_device: str) -> None:
    with bg.profile() as prof:
        pass
    x = bg.Tensor(np.ones(4, np.float32), device=prof_device)
    (x * 2).realize()
    assert prof.events == [] and profiler.ACTIVE is None


def test_environment_profile(prof_device: str, tmp_path) -> None:
    """BAREGRAD_PROFILE=path profiles a whole script and writes the trace at exit."""
    import subprocess
    import sys
    from pathlib import Path
    path = tmp_path / "run.json"
    root = Path(__file__).resolve().parents[2]
    script = ("import numpy as np, baregrad as bg\n"
              f"x = bg.Tensor(np.arange(6, dtype=np.float32), device='{prof_device}')\n"
              "print((x * 2 + 1).sum().item())\n")
    env = {**__import__("os").environ, "BAREGRAD_PROFILE": str(path), "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) == pytest.approx(36.0)
    assert "Kernel time total" in out.stderr
    trace = json.loads(path.read_text())
    check_trace_schema(trace)
    assert len(device_kernel_events(trace)) >= 1


def test_jit_replays_are_counted(prof_device: str) -> None:
    """Kernels a JIT replay launches are one span per replay; with the plain launches they add up to the counter."""
    @bg.jit
    def step(a: bg.Tensor, b: bg.Tensor) -> bg.Tensor:
        return (a * b + 1).sum(0)
    rng = np.random.default_rng(3)
    calls = [(rng.standard_normal((4, 5)).astype(np.float32), rng.standard_normal((4, 5)).astype(np.float32))
             for _ in range(4)]
    bg.reset_counters()
    with bg.profile() as prof:
        outs = [step(bg.Tensor(a, device=prof_device), bg.Tensor(b, device=prof_device)).numpy() for a, b in calls]
    for out, (a, b) in zip(outs, calls):
        np.testing.assert_allclose(out, (a * b + 1).sum(0), rtol=1e-5, atol=1e-6)
    replays = [e for e in prof.events if e.cat == "jit"]
    assert replays
    assert len(prof.kernel_events()) + sum(e.args["kernels"] for e in replays) == bg.counters()["kernels"]
