"""The profiler: a training step's trace is valid Trace Event JSON, its kernel events match bg.counters(), device
times are positive and ordered, the table's totals match the trace, and profiling changes no result."""
from __future__ import annotations

import json

import numpy as np
import pytest

import baregrad as bg
from baregrad.profile import profiler
from baregrad.profile.table import format_time, key_averages
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
    for before, after in zip(kernels, kernels[1:]):
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
    # the phases are there too: a first step schedules, and either compiles or finds its kernels compiled
    cats = {e["cat"] for e in trace["traceEvents"] if e["ph"] == "X"}
    assert {"realize", "schedule", "kernel", "copy"} <= cats
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
    assert kernel.args["shapes"] == [[n], [n], [n]]
    assert kernel.args["GB/s"] == pytest.approx(12 * n / (kernel.dur * 1e-6) / 1e9, rel=1e-2)


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
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) == pytest.approx(36.0)
    assert "Kernel time total" in out.stderr
    trace = json.loads(path.read_text())
    check_trace_schema(trace)
    assert len(device_kernel_events(trace)) >= 1
