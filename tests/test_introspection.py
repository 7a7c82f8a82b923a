"""Introspection: counters, `python -m baregrad devices`, DEBUG=2 per-kernel lines, and a fast, lazy import."""
import os
import subprocess
import sys

import numpy as np

import baregrad as bg


def _run(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=dict(os.environ, **env), capture_output=True,
                          text=True, timeout=120)


def test_counters_count_and_reset(device):
    x = bg.Tensor(np.arange(6, dtype=np.float32), device=device)
    bg.counters(reset=True)
    assert bg.counters()["kernels"] == 0 and bg.counters()["compiles"] == 0
    (x * 2 + 1).realize()
    (x.exp() - 7).sum().realize()
    snapshot = bg.counters(reset=True)
    assert snapshot["kernels"] == 2 and "compiles" in snapshot
    assert bg.counters()["kernels"] == 0
    bg.reset_counters()
    assert bg.counters() == {**bg.counters(), "kernels": 0, "compiles": 0}


def test_compiles_counted_once_per_new_kernel(device):
    x = bg.Tensor(np.arange(5, dtype=np.float32), device=device)
    bg.counters(reset=True)
    (x * 1.25 - 0.5).sin().realize()
    first = bg.counters()["compiles"]
    (bg.Tensor(np.ones(5, dtype=np.float32), device=device) * 1.25 - 0.5).sin().realize()
    assert bg.counters()["compiles"] == first  # same kernel, other data: nothing new to compile


def test_devices_command_lists_every_device():
    out = subprocess.run([sys.executable, "-m", "baregrad", "devices"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for status in bg.devices():
        assert status.name in out.stdout
    assert "PYTHON" in out.stdout


def test_devices_api():
    statuses = bg.devices()
    names = [s.name for s in statuses]
    assert {"PYTHON", "CPU"} <= set(names)
    assert all(isinstance(s.works, bool) and s.reason for s in statuses)
    assert next(s for s in statuses if s.name == "PYTHON").works
    assert bg.default_device() in [s.name for s in statuses if s.works]


def test_debug2_prints_per_kernel_lines():
    code = ("import baregrad as bg\n"
            "x = bg.arange(12, device='PYTHON').float().reshape(3, 4)\n"
            "(x.exp() * 2).sum(1).realize()\n"
            "(x @ x.T).realize()\n")
    out = _run(code, DEBUG="2")
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if " us " in ln and "GB/s" in ln]
    assert len(lines) >= 2, out.stdout
    assert "realize:" in out.stdout and "kernels in" in out.stdout


def test_debug0_prints_nothing():
    out = _run("import baregrad as bg\n(bg.arange(4, device='PYTHON') * 2).realize()\n", DEBUG="0")
    assert out.returncode == 0 and out.stdout == "", out.stdout + out.stderr


def test_import_is_fast_and_lazy():
    """`import baregrad` loads no backend, scheduler or codegen (only the engine's pending-write bookkeeping and the
    allocator's base class, which tensor.py and the memory report need), and takes < 0.3 s of CPU time (best of
    three fresh processes; CPU time, not wall time, because the test machine is shared and its wall clock is noisy)."""
    code = ("import sys, time\n"
            "t = time.process_time()\n"
            "import baregrad\n"
            "print(time.process_time() - t)\n"
            "lazy = ('baregrad.device.', 'baregrad.engine', 'baregrad.codegen')\n"
            "light = ('baregrad.engine', 'baregrad.engine.pending', 'baregrad.device.allocator')\n"
            "loaded = [m for m in sys.modules if m.startswith(lazy) and m not in light]\n"
            "print(sorted(loaded + [m for m in sys.modules if m in ('numpy', 'torch')]))\n")
    runs = [_run(code) for _ in range(3)]
    for out in runs:
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines()[1] == "[]", out.stdout  # no backend (baregrad.device.cpu), numpy or torch
    best = min(float(out.stdout.splitlines()[0]) for out in runs)
    assert best < 0.3, f"import baregrad took {best:.3f} s of CPU time"
