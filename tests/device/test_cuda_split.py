"""Multi-stage reductions (codegen/gpu_split.py) without a GPU: when the scheduler splits, and that it stays right.

Scheduling is checked with a fake GPU device (only its kernel options matter); the split schedules are then
run on the CPU device, which executes the same two-kernel plan a GPU would, and compared with numpy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import baregrad as bg
from baregrad import dtype as dt
from baregrad.codegen.gpu_split import MIN_REDUCE, GPUKernelOptions, plan_split
from baregrad.codegen.opt import KernelOptions
from baregrad.device import get_device
from baregrad.engine.buffer import Buffer
from baregrad.engine.realize import canonicalize, run_schedule
from baregrad.engine.schedule import build_schedule
from baregrad.ir.node import Node
from baregrad.ir.ops import Op
from tests.helpers import devices_under_test


@dataclass
class FakeGPU:
    """What the scheduler sees of a GPU device; nothing here can run."""
    name: str = "FAKEGPU"
    is_gpu: bool = True
    kernel_options: GPUKernelOptions = GPUKernelOptions(sms=132)


def _unallocated(shape: tuple[int, ...], d: dt.DType = dt.float32) -> bg.Tensor:
    """A tensor over a buffer that is never allocated: only its graph is scheduled."""
    buf = Buffer(get_device("PYTHON"), d, shape)
    return bg.Tensor.from_node(Node(Op.BUFFER, d, (), buf), "PYTHON")


def _kernels(t: bg.Tensor, opts) -> int:
    canonical, inputs = canonicalize([t.node])
    return len(build_schedule(canonical, len(inputs), opts).steps)


def test_long_reduces_split_in_two_on_a_gpu():
    gpu = FakeGPU()
    for t in (_unallocated((1 << 28,)).sum(), _unallocated((4, 1 << 24)).sum(-1), _unallocated((1 << 28,)).amax(),
              _unallocated((1 << 22, 3)).amax(0), _unallocated((1 << 20,)).mean()):
        assert _kernels(t, gpu.kernel_options) == 2, t.shape
        assert _kernels(t, KernelOptions()) == 1, "a CPU schedule must not change"
        assert _kernels(t, None) == 1


def test_short_or_wide_reduces_stay_one_kernel():
    opts = FakeGPU().kernel_options
    assert _kernels(_unallocated((MIN_REDUCE // 2,)).sum(), opts) == 1        # short axis
    assert _kernels(_unallocated((4096, 1 << 16)).sum(-1), opts) == 1        # enough outputs to fill the GPU
    assert _kernels(_unallocated((64, 48)).softmax(-1), opts) == 1           # the fusion contract holds


def test_broadcast_finishes_get_a_buffer():
    """A long softmax: max and sum each split, and their finishes realized so no kernel runs a block per row."""
    canonical, inputs = canonicalize([_unallocated((2, 1 << 20)).softmax(-1).node])
    template = build_schedule(canonical, len(inputs), FakeGPU().kernel_options)
    shapes = [template.slot_specs[step.slots[0]][1] for step in template.steps]
    assert shapes == [(2, 256, 1), (2, 1), (2, 256, 1), (2, 1), (2, 1 << 20)]
    assert _kernels(_unallocated((1 << 20,)).mean(), FakeGPU().kernel_options) == 2   # the epilogue still fuses


def test_split_plan_shapes():
    plan = plan_split(1, 1 << 28, 132)
    assert plan is not None and plan.padded == 1 << 28 and plan.chunks >= 132  # a block per SM at least
    rows = plan_split(4, 1 << 24, 132)
    assert rows is not None and rows.chunks * 4 >= 132 and rows.padded == 1 << 24
    odd = plan_split(3, 40009, 132)
    assert odd is not None and odd.padded >= 40009 and odd.padded % odd.chunk == 0
    assert plan_split(1, MIN_REDUCE - 1, 132) is None and plan_split(1000, 1 << 20, 132) is None


def _run_split(t: bg.Tensor, device) -> np.ndarray:
    canonical, inputs = canonicalize([t.node])
    template = build_schedule(canonical, len(inputs), FakeGPU().kernel_options)
    assert len(template.steps) >= 2
    out = run_schedule(template, inputs, device)[0]
    np_dtype = np.float16 if t.dtype is dt.float16 else np.dtype(t.dtype.name)
    return np.frombuffer(out.to_bytes(), np_dtype).reshape(t.shape)


@pytest.mark.skipif("CPU" not in devices_under_test(), reason="no CPU device (C compiler) here")
def test_split_schedules_compute_the_same_values():
    cpu = get_device("CPU")
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((3, 40009)).astype(np.float32)       # 40009 = 39 chunks + a padded tail
    cols = rng.standard_normal((40009, 2)).astype(np.float32)
    x, y = bg.Tensor(rows, device="CPU"), bg.Tensor(cols, device="CPU")
    # max and min are exact: the identity padding must never win
    np.testing.assert_array_equal(_run_split(x.amax(-1), cpu), rows.max(-1))
    np.testing.assert_array_equal(_run_split((x - 10).amax(-1), cpu), (rows - 10).max(-1))
    np.testing.assert_array_equal(_run_split(y.amin(0), cpu), cols.min(0))
    exact = rows.astype(np.float64)
    np.testing.assert_allclose(_run_split(x.sum(-1), cpu), exact.sum(-1), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(_run_split((x * 1e-4 + 1).prod(-1), cpu), (exact * 1e-4 + 1).prod(-1), rtol=1e-3)
    ints = (rows * 100).astype(np.int32)
    assert _run_split(bg.Tensor(ints, device="CPU").sum(-1), cpu).tolist() == ints.astype(np.int64).sum(-1).tolist()
    e = np.exp(exact - exact.max(-1, keepdims=True))
    np.testing.assert_allclose(_run_split(x.softmax(-1), cpu), e / e.sum(-1, keepdims=True), rtol=1e-4, atol=1e-9)
    half = _run_split(x.half().sum(-1), cpu).astype(np.float64)
    np.testing.assert_allclose(half, rows.astype(np.float16).astype(np.float64).sum(-1), rtol=1e-3, atol=0.5)
