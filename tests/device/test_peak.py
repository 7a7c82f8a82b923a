"""Device peaks (device/peak.py): datasheet figures found by GPU name, the host CPU's measured once and cached on
disk, and nothing measured unless asked (no cost at import or on a first op)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from baregrad.device import get_device, peak
from baregrad.errors import DeviceError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name, board", [("NVIDIA H100 80GB HBM3", "H100 SXM"), ("NVIDIA H100 PCIe", "H100 PCIe"),
                                         ("NVIDIA H100 NVL", "H100 NVL"), ("NVIDIA H200", "H200 SXM"),
                                         ("NVIDIA H200 NVL", "H200 NVL")])
def test_gpu_names_pick_their_own_datasheet_column(name: str, board: str) -> None:
    """"H100 NVL" contains "H100": the more specific entry must win, whatever order the names are tried in."""
    spec = peak.gpu_spec(name)
    assert spec is not None and spec.source.endswith(board)
    exact = peak.gpu_peak(name, allow_tf32=False)
    assert exact.gbps == spec.gbps and exact.gflops == {"fp64": spec.fp64, "fp32": spec.fp32, "fp16": spec.fp16}
    # with tf32 allowed an fp32 matmul may run on tensor cores: its ceiling is theirs
    assert peak.gpu_peak(name, allow_tf32=True).gflops["fp32"] == spec.tf32 > spec.fp32


def test_unknown_gpu_has_no_peak() -> None:
    assert peak.gpu_peak("NVIDIA GeForce GTX 1080", allow_tf32=False) is None
    assert peak.gpu_spec("llvmpipe (LLVM 15.0.7, 256 bits)") is None


def test_every_pci_id_names_a_datasheet_entry() -> None:
    for device_id, board in peak.PCI_NAMES.items():
        assert peak.gpu_spec(board) is not None, hex(device_id)


@pytest.fixture
def cpu_works() -> None:
    try:
        get_device("CPU")
    except DeviceError as e:
        pytest.skip(f"no CPU device here (the host peak is measured with its C compiler): {e}")


def test_host_peak_is_measured_once_and_cached(cpu_works: None, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BAREGRAD_CACHE", str(tmp_path))
    monkeypatch.setattr(peak, "_HOST_PEAK", {})
    measured = peak.host_peak()
    assert measured is not None and measured.gbps > 0 and "measured" in measured.source
    assert measured.gflops["fp32"] > 0 and measured.gflops["fp64"] > 0
    assert measured.gflops["fp16"] == measured.gflops["fp32"]  # CPU kernels compute half in float
    (saved,) = (tmp_path / "peak").glob("*.json")
    # a new process (an empty in-process table) reads the file instead of measuring: the same figures
    monkeypatch.setattr(peak, "_HOST_PEAK", {})
    monkeypatch.setattr(peak, "measure_host", lambda lib: pytest.fail("measured again despite the cache"))
    assert peak.host_peak() == measured
    # a damaged file is not trusted: measured again (here: the stub) rather than read
    saved.write_text(json.dumps({"gbps": "fast", "gflops": [], "source": 3}))
    monkeypatch.setattr(peak, "_HOST_PEAK", {})
    monkeypatch.setattr(peak, "measure_host", lambda lib: peak.Peak(1.0, {"fp32": 2.0}, "stub"))
    assert peak.host_peak() == peak.Peak(1.0, {"fp32": 2.0, "fp16": 2.0}, "stub")


NO_CALIBRATION = """
import sys, numpy as np, baregrad as bg
from baregrad.device import get_device
x = bg.Tensor(np.arange(8, dtype=np.float32), device="CPU")
with bg.profile() as prof:
    y = (x * 2 + 1).sum().item()
assert y == 64.0, y
print("peak module loaded" if "baregrad.device.peak" in sys.modules else "not loaded",
      get_device("CPU")._peak_found)
prof.table()
print("after table:", get_device("CPU")._peak_found != ())
"""


def test_no_calibration_unless_the_profiler_reports(cpu_works: None) -> None:
    """Import, ops, even recording a profile: no peak is looked up until a table or trace is made."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the usual cache: its kernels are compiled already
    run = subprocess.run([sys.executable, "-c", NO_CALIBRATION], capture_output=True, text=True, env=env,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    first, second = run.stdout.strip().splitlines()[-2:]
    assert first == "not loaded ()"
    assert second == "after table: True"
