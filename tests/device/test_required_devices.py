"""Which devices must work: in CI (CI=true) PYTHON, CPU, LLVM, OPENCL and WEBGPU all must, so a runtime
missing there is a failure, not a skip. Everywhere: a missing device is reported with how to install it."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import baregrad as bg
from baregrad import device as devices
from baregrad.errors import DeviceError

REQUIRED_IN_CI = ("PYTHON", "CPU", "LLVM", "OPENCL", "WEBGPU")


@pytest.mark.parametrize("name", REQUIRED_IN_CI)
def test_required_device_works_in_ci(name):
    if os.environ.get("CI") != "true":
        pytest.skip("only CI (CI=true) must have every device")
    status = next(s for s in bg.devices() if s.name == name)
    assert status.works, f"{name} must work in CI but does not: {status.reason}"
    x = bg.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3), device=name)
    np.testing.assert_allclose((x * 2 + 1).sum(1).numpy(), [9.0, 27.0])


def test_every_device_is_listed_with_a_reason():
    statuses = {s.name: s for s in bg.devices()}
    assert set(REQUIRED_IN_CI) <= set(statuses)
    for s in statuses.values():
        assert s.works or s.reason and s.reason != "ok", s


def test_missing_llvmlite_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "llvmlite", None)  # makes `import llvmlite` fail
    monkeypatch.setitem(sys.modules, "llvmlite.binding", None)
    monkeypatch.delitem(sys.modules, "baregrad.device.llvm", raising=False)
    monkeypatch.delitem(devices._OPEN, "LLVM", raising=False)
    with pytest.raises(DeviceError, match="pip install llvmlite"):
        devices.get_device("LLVM")


def test_missing_wgpu_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "wgpu", None)
    monkeypatch.delitem(sys.modules, "baregrad.device.webgpu", raising=False)
    monkeypatch.delitem(devices._OPEN, "WEBGPU", raising=False)
    with pytest.raises(DeviceError, match="pip install wgpu"):
        devices.get_device("WEBGPU")


def test_opencl_without_a_driver_is_explained(monkeypatch, tmp_path):
    monkeypatch.setenv("OCL_ICD_VENDORS", str(tmp_path))  # an empty vendor folder: loader but no driver
    reason = devices.probe("OPENCL")
    if reason is not None and "libOpenCL not found" in reason:
        assert "apt-get install" in reason
        return
    assert reason is not None and "pocl-opencl-icd" in reason
