"""GPU shaping on the portable devices (codegen/gpu.py decides, render/gpu/writer.py writes): OPENCL and WEBGPU
kernels use work-groups, local memory, barriers and vector loads, stay correct on every path, and fall back
within the device's limits."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import baregrad as bg
from baregrad.engine.realize import canonicalize, clear_caches
from baregrad.engine.schedule import build_schedule
from baregrad.ir.launch import Kernel, Strategy
from tests.device.device_checks import open_or_skip

DEVICES = ["OPENCL", "WEBGPU"]
LOCAL = {"OPENCL": ("__local", "barrier(CLK_LOCAL_MEM_FENCE)"), "WEBGPU": ("var<workgroup>", "workgroupBarrier()")}


@pytest.fixture(params=DEVICES)
def dev(request):
    return open_or_skip(request.param)


@pytest.fixture
def limits(dev, monkeypatch):
    """Run with the device's target changed (kernels are re-rendered, not served from the memo)."""
    def change(**fields) -> None:
        monkeypatch.setattr(dev, "target", dataclasses.replace(dev.target, **fields))
        clear_caches()
    yield change
    clear_caches()


def sources(t: bg.Tensor, dev) -> list[Kernel]:
    canonical, inputs = canonicalize([t.node])
    return [dev.render(step.prog) for step in build_schedule(canonical, len(inputs), dev.kernel_options).steps]


def strategy(kernel: Kernel) -> Strategy:
    return kernel.plan.strategy


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_shapes_follow_the_gpu_strategies(dev):
    name = dev.name
    x, a = bg.Tensor(rand(64, 300), device=name), bg.Tensor(rand(256, 256), device=name)
    assert [strategy(s) for s in sources(a @ a, dev)] == [Strategy.MATMUL]
    softmax = sources(x.softmax(-1), dev)
    assert Strategy.BLOCK in [strategy(s) for s in softmax]
    local, barrier = LOCAL[name]
    assert any(local in s.source and barrier in s.source for s in softmax)
    elementwise = sources(bg.Tensor(rand(4096), device=name) * 2 + 1, dev)
    assert [strategy(s) for s in elementwise] == [Strategy.VECTOR]
    if name == "OPENCL":
        assert "vload4" in elementwise[0].source and "vstore4" in elementwise[0].source
        assert "float4" in sources(a @ a, dev)[0].source


@pytest.mark.parametrize("local_is_fast", [False, True])
@pytest.mark.parametrize("shape", [(64, 64, 64, 1), (100, 37, 130, 1), (3, 70, 45, 66), (130, 64, 200, 1)])
def test_matmul_tiles_with_and_without_local_memory(dev, limits, local_is_fast, shape):
    limits(local_is_fast=local_is_fast)
    b, m, k, n = shape
    x, w, bias = rand(b, m, k, seed=1), rand(k, n, seed=2), rand(n, seed=3)
    name = dev.name
    out = ((bg.Tensor(x, device=name) @ bg.Tensor(w, device=name)) + bg.Tensor(bias, device=name)).relu()
    np.testing.assert_allclose(out.numpy(), np.maximum(x @ w + bias, 0), rtol=1e-4, atol=1e-4)
    wt = bg.Tensor(np.ascontiguousarray(w.T), device=name)  # B read along k: scalar loads
    np.testing.assert_allclose((bg.Tensor(x, device=name) @ wt.T).numpy(), x @ w, rtol=1e-4, atol=1e-4)


def test_local_tile_copies_every_operand_layout(dev, limits):
    """The tile CUDA's fp32 matmul shares: each operand reaches local memory 4-wide along whichever dimension is
    contiguous (A and B row-major, then both transposed), with rows past a tile edge clamped and never stored."""
    limits(local_is_fast=True)
    # B under 4096 elements: the tensor API would copy a bigger W.T row-major first on these devices
    a, b, name = rand(132, 64, seed=9), rand(64, 60, seed=10), dev.name
    at, bt = (bg.Tensor(np.ascontiguousarray(v.T), device=name) for v in (a, b))
    np.testing.assert_allclose((bg.Tensor(a, device=name) @ bg.Tensor(b, device=name)).numpy(), a @ b,
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose((at.T @ bt.T).numpy(), a @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("local_is_fast", [False, True])
def test_half_matmul_accumulates_in_float(dev, limits, local_is_fast):
    limits(local_is_fast=local_is_fast)
    a, b = rand(96, 80, seed=4), rand(80, 72, seed=5)
    x, y = (bg.Tensor(v, device=dev.name).cast("float16").realize() for v in (a, b))  # half loads: the template
    assert [strategy(s) for s in sources(x @ y, dev)] == [Strategy.MATMUL]
    ref = a.astype(np.float16).astype(np.float32) @ b.astype(np.float16).astype(np.float32)
    np.testing.assert_allclose((x @ y).numpy().astype(np.float32), ref, rtol=1e-3, atol=1e-2)


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool", "float16"])
def test_group_reductions_of_every_kind(dev, dtype):
    x = rand(5, 3000, seed=6) * 4
    t = bg.Tensor(x, device=dev.name).cast(dtype)
    ref = x.astype(np.float16) if dtype == "float16" else bg.Tensor(x, device="CPU").cast(dtype).numpy()
    np.testing.assert_array_equal(t.amax(-1).numpy(), ref.max(-1))
    np.testing.assert_array_equal(t.argmax(-1).numpy(), ref.argmax(-1))
    # half sums round after every add, so the order (a tree here, a row on the CPU) shows: compare to the exact sum
    np.testing.assert_allclose(t.sum(-1).numpy().astype(np.float64), ref.astype(np.float64).sum(-1),
                               rtol=1e-2 if dtype == "float16" else 1e-5)


def test_shapes_that_exceed_the_limits_fall_back(dev, limits):
    limits(max_threads=16, local_bytes=32)
    name = dev.name
    a, x = rand(130, 64, seed=7), rand(8, 5000, seed=8)
    np.testing.assert_allclose((bg.Tensor(a, device=name) @ bg.Tensor(a.T.copy(), device=name)).numpy(), a @ a.T,
                               rtol=1e-4, atol=1e-4)
    t = bg.Tensor(x, device=name)
    assert all(strategy(s) is not Strategy.BLOCK for s in sources(t.sum(-1), dev))
    np.testing.assert_allclose(t.softmax(-1).numpy(), np.exp(x) / np.exp(x).sum(-1, keepdims=True), rtol=1e-5,
                               atol=1e-6)


def test_reduces_longer_than_a_thread_may_loop(dev):
    # lavapipe ends a thread's loops after 65535 iterations in all: one thread summing 200000 got 65535
    n = 200_000
    t = bg.Tensor(np.ones(n, np.float32), device=dev.name)
    assert t.sum().item() == n
    x = rand(3, n, seed=9)
    assert bg.Tensor(x, device=dev.name).argmax(-1).tolist() == x.argmax(-1).tolist()


def test_a_kernel_without_global_loops_runs_once(dev):
    # an in-place scalar update (an optimizer's step count) has no bounds check: a second work-item would race it
    step = bg.Tensor(np.zeros((), np.float32), device=dev.name).realize()
    for _ in range(3):
        step.assign(step + 1).realize()
    assert step.item() == 3
