"""Device NV on the mock driver: a representative set of ops against numpy, the JIT's prebuilt replay, registry.

The mock runs each kernel's CPU twin (the same LinearProgram compiled by the CPU device), so these tests check the
NV driver path -- memory, copies, constant banks, QMD launch dimensions, ordering, synchronize, replay patching --
with real results. The CUDA C itself is only compiled here; a real GPU (bench/gpu_check.sh) checks what it computes.
Few shapes on purpose: every new kernel costs a CUDA compile plus a C compile.
"""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

import baregrad as bg
from baregrad.device import _OPEN, get_device, probe
from baregrad.device.probes.cuda import cuda_compiler_found
from baregrad.errors import CompileError, DeviceError

pytestmark = pytest.mark.skipif(not cuda_compiler_found(), reason="NV kernels need nvcc or libnvrtc; neither found")

RNG = np.random.default_rng(7)
A = RNG.standard_normal((33, 17)).astype(np.float32)
B = RNG.standard_normal((17, 20)).astype(np.float32)


def _forget_nv() -> None:
    """Drop the NV device and everything compiled for it, so no later test meets a closed driver's kernels."""
    from baregrad.engine import realize
    for cache in (realize._PROGRAMS, realize._SCHEDULES):
        for key in [k for k in cache if k[0] == "NV"]:
            del cache[key]
    device = _OPEN.pop("NV", None)
    if device is not None:
        device.synchronize()
        device.drv.close()


@pytest.fixture(scope="module")
def nv():
    mp = pytest.MonkeyPatch()
    mp.setenv("BAREGRAD_NV_MOCK", "1")
    shared = "NV" in _OPEN  # e.g. the op suite already runs on the mock: reuse its device, leave it open
    if shared and not getattr(_OPEN["NV"], "mock", False):
        pytest.skip("a real NV device is open in this process; this module tests the mock")
    device = get_device("NV")
    yield device
    if not shared:
        _forget_nv()
    mp.undo()


def t(x: np.ndarray, **kw) -> bg.Tensor:
    return bg.Tensor(x, device="NV", **kw)


def close(actual: bg.Tensor, expected: np.ndarray, tol: float = 1e-5) -> None:
    np.testing.assert_allclose(actual.numpy(), expected, rtol=tol, atol=tol)


def test_copy_roundtrip_through_staging(nv):
    data = bytes(range(256)) * 20_000  # 5 MB: more than one staging half
    h = nv.alloc(len(data))
    nv.copyin(h, data)
    assert nv.copyout(h, len(data)) == data
    nv.free(h, len(data))


def test_elementwise_chain_is_one_launch(nv):
    launches = nv.drv.kif.gpu.launches
    before = len(launches)
    close((t(A) + 1.5) * t(A).exp(), (A + 1.5) * np.exp(A))
    assert len(launches) == before + 1
    grid, block = launches[-1].grid, launches[-1].block
    assert block[0] * grid[0] >= A.size // 4  # the plan's launch reached the QMD (VECTOR: 4 elements per thread)


def test_reduce_sum_and_max(nv):
    close(t(A).sum(1), A.sum(1), 1e-4)
    values, indices = t(A).max(0)
    close(values, A.max(0))
    np.testing.assert_array_equal(indices.numpy(), A.argmax(0))


def test_matmul_and_softmax(nv):
    close(t(A) @ t(B), A @ B, 1e-4)
    e = np.exp(A - A.max(-1, keepdims=True))
    close(t(A).softmax(-1), e / e.sum(-1, keepdims=True), 1e-5)


def test_gather_and_integer_indexing(nv):
    idx = np.array([3, 0, 32, 7], dtype=np.int32)
    close(t(A)[t(idx)], A[idx])
    cols = np.array([[1], [16], [0]], dtype=np.int64)
    close(t(A[:3]).gather(1, t(cols)), np.take_along_axis(A[:3], cols, 1))


def test_backward_pass(nv):
    x, w = t(A, requires_grad=True), t(B, requires_grad=True)
    (x @ w).relu().sum().backward()
    mask = (A @ B > 0).astype(np.float32)
    close(x.grad, mask @ B.T, 1e-4)
    close(w.grad, A.T @ mask, 1e-4)


def test_jit_replay_uses_prebuilt_launches(nv):
    from baregrad.device.nv.device import NVGraph

    @bg.jit
    def step(x: bg.Tensor, w: bg.Tensor) -> bg.Tensor:
        return ((x @ w) * 2).relu().sum(0)

    w = t(B)
    inputs = [RNG.standard_normal((33, 17)).astype(np.float32) for _ in range(4)]
    outs = [step(t(x), w) for x in inputs]
    replay = next(iter(step.replays.values()))
    assert isinstance(replay.graph, NVGraph) and replay.graph.n_launches >= 1
    launches = nv.drv.kif.gpu.launches
    before = len(launches)
    outs.append(step(t(inputs[0] + 1), w))
    assert len(launches) == before + replay.graph.n_launches
    for x, out in zip(inputs + [inputs[0] + 1], outs):  # earlier outputs survive later replays
        close(out, np.maximum((x @ B) * 2, 0).sum(0), 1e-4)


def test_compile_error_carries_the_log(nv):
    with pytest.raises(CompileError, match="not_a_type"):
        nv.build('extern "C" __global__ void broken(float* p) { not_a_type x; }', "broken")


def test_mock_is_never_the_default(monkeypatch):
    import baregrad.device as reg
    monkeypatch.setenv("BAREGRAD_NV_MOCK", "1")
    monkeypatch.delenv("BAREGRAD_DEVICE", raising=False)
    monkeypatch.setattr(reg, "_DEFAULT", None)
    assert reg.default_device_name() != "NV"


@pytest.mark.skipif(os.path.exists("/dev/nvidiactl"), reason="this machine has an NVIDIA driver")
def test_missing_driver_is_explained(monkeypatch):
    monkeypatch.delenv("BAREGRAD_NV_MOCK", raising=False)
    assert "no /dev/nvidiactl" in probe("NV")
    from baregrad.device.nv.device import NVDevice
    with pytest.raises(DeviceError, match="/dev/nvidiactl"):
        NVDevice(mock=False)


def test_missing_compiler_is_explained(monkeypatch):
    import sys
    monkeypatch.setenv("BAREGRAD_NV_MOCK", "1")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(sys, "path", [])
    for var in ("CUDA_PATH", "CUDA_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("glob.glob", lambda pattern: [])
    monkeypatch.setattr("baregrad.device.nvcc.toolkit_roots", lambda: [])  # no /usr/local/cuda either
    assert shutil.which("nvcc") is None
    assert "neither nvcc nor libnvrtc" in probe("NV")


def test_plan_survives_a_compile_cache_hit(nv, tmp_path, monkeypatch):
    """The launch plan travels beside the source (ir.launch.Kernel), so a cubin found in the disk cache launches
    with the plan of this render: nothing is parsed back out of the source or the binary."""
    from tests.render.kernels import programs
    monkeypatch.setenv("BAREGRAD_CACHE", str(tmp_path))
    prog = programs()["softmax_0"]
    kernel = nv.render(prog)
    assert "baregrad-launch" not in kernel.source and kernel.plan.launches[0].grid == (64, 1, 1)
    nv.compile(kernel, prog)
    compiles = bg.counters()["compiles"]
    again = nv.compile(nv.render(prog), prog)
    assert bg.counters()["compiles"] == compiles, "the second build should be a disk-cache hit"
    assert [launch for _, launch in again.kernels] == list(kernel.plan.launches)
