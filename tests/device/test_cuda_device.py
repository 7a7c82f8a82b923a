"""The CUDA device on a real GPU: memory, errors, launches and graph replay. Skips with the reason without one."""
from __future__ import annotations

import numpy as np
import pytest

import baregrad as bg
from baregrad.device import cuda_api
from baregrad.errors import DeviceError

REASON = cuda_api.probe()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"no CUDA GPU: {REASON}")


@pytest.fixture(scope="module")
def cuda():
    from baregrad.device import get_device
    return get_device("CUDA")


def test_copy_roundtrip(cuda):
    data = bytes(range(256)) * 1000
    h = cuda.alloc(len(data))
    cuda.copyin(h, data)
    assert cuda.copyout(h, len(data)) == data
    cuda.free(h, len(data))


def test_out_of_memory_is_device_error_and_device_survives(cuda):
    with pytest.raises(DeviceError, match="out of memory"):
        cuda.alloc(1 << 50)
    x = bg.Tensor(np.arange(10, dtype=np.float32), device="CUDA")
    assert (x * 2).numpy().tolist() == [float(2 * i) for i in range(10)]


def test_failed_launch_names_kernel(cuda):
    from baregrad.codegen.gpu import Launch
    from baregrad.device.cuda import CUDAProgram
    x = bg.Tensor(np.ones(4096, np.float32), device="CUDA")
    y = (x + 1).realize()
    program = next(iter(p for p, _ in __import__("baregrad.engine.realize", fromlist=["_PROGRAMS"])._PROGRAMS.values()
                        if isinstance(p, CUDAProgram)))
    fn, launch = program.kernels[0]
    bad = CUDAProgram(cuda, program.module, [(fn, Launch(launch.name, launch.grid, (4096, 1, 1)))])
    with pytest.raises(DeviceError, match=launch.name):
        bad(0, 0)
    assert (y * 2).numpy()[0] == 4.0


def test_graph_replay(cuda):
    x = bg.Tensor(np.ones(1 << 16, np.float32), device="CUDA")
    y = (x * 3).realize()
    from baregrad.engine.realize import _PROGRAMS
    program = next(p for p, s in _PROGRAMS.values() if "0x1.8000000000000p+1" in s)
    out = cuda.alloc(4 << 16)
    graph = cuda.batch([(program, (out, y.node.arg.handle))] * 3)
    graph.replay()
    cuda.synchronize()
    got = np.frombuffer(cuda.copyout(out, 4 << 16), np.float32)
    assert got[0] == 9.0 and graph.n_launches == 3


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_matmul_tensor_cores(cuda, dtype):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((300, 200)).astype(np.float32), rng.standard_normal((200, 260)).astype(np.float32)
    d = getattr(bg, dtype)
    x, y = bg.Tensor(a, device="CUDA").cast(d).realize(), bg.Tensor(b, device="CUDA").cast(d).realize()
    got = (x @ y).float().numpy()
    tol = {"float32": 1e-4, "float16": 2e-2, "bfloat16": 1e-1}[dtype]
    np.testing.assert_allclose(got, a @ b, rtol=tol, atol=tol * 20)


def test_long_reduces_run_in_two_kernels(cuda):
    """codegen/gpu_split.py: a partial kernel over chunks, then a finishing kernel; max exact, sum within fp."""
    rng = np.random.default_rng(0)
    flat, rows = rng.standard_normal(1 << 22).astype(np.float32), rng.standard_normal((4, 300007)).astype(np.float32)
    x, y = bg.Tensor(flat, device="CUDA"), bg.Tensor(rows, device="CUDA")
    before = bg.counters()["kernels"]
    total = x.sum().item()
    assert bg.counters()["kernels"] - before == 2
    np.testing.assert_allclose(total, flat.astype(np.float64).sum(), rtol=1e-5, atol=1e-2)
    assert x.amax().item() == flat.max()
    np.testing.assert_array_equal(y.amax(-1).numpy(), rows.max(-1))
    np.testing.assert_allclose(y.sum(-1).numpy(), rows.astype(np.float64).sum(-1), rtol=1e-5, atol=1e-2)
    e = np.exp(rows - rows.max(-1, keepdims=True))
    np.testing.assert_allclose(y.softmax(-1).numpy(), e / e.sum(-1, keepdims=True), rtol=1e-4, atol=1e-10)


def test_jit_replays_a_cuda_graph(cuda):
    f = bg.jit(lambda x: (x * 2).exp().sum(-1) + x.amax(-1))
    data = [np.random.default_rng(i).standard_normal((8, 1000)).astype(np.float32) for i in range(6)]
    outs = [f(bg.Tensor(d, device="CUDA")) for d in data]
    replay = next(iter(f.replays.values()))
    assert replay.device_graph is not None
    for o, d in zip(outs, data):  # earlier outputs are intact after later replays
        np.testing.assert_allclose(o.numpy(), np.exp(2 * d).sum(-1) + d.max(-1), rtol=1e-5)
