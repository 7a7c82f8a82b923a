"""The GPU machine's scripts for the NV driver run through on the mock, so a lent GPU's few minutes are not spent
on a script that breaks before it measures anything (bench/gpu_check.sh runs both)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.skipif(shutil.which("nvcc") is None, reason="the scripts compile their kernels with nvcc")


def run_script(*args: str) -> str:
    env = dict(os.environ, BAREGRAD_NV_MOCK="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def test_nv_smoke_passes_on_the_mock():
    out = run_script("bench/nv_smoke.py", "--mock", "--launches", "20")
    assert "nv_smoke: PASSED" in out
    assert "[ ok ] eager launches from prebuilt slots" in out


def test_launch_parts_prints_every_row_on_the_mock():
    out = run_script("bench/nv_launch_parts.py", "--devices", "NV", "--iters", "20", "--bytecodes")
    assert "failed" not in out
    for name in ("kernel call (CPU side)", "its kernel calls, timed inside the chain", "with kernel calls skipped",
                 "bytecodes"):
        assert name in out, out
