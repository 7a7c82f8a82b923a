"""Checks shared by the per-backend device tests: open a device or skip with its reason, compare ops to numpy."""
from __future__ import annotations

import numpy as np
import pytest

import baregrad as bg
from baregrad.device import Device, get_device
from baregrad.ir.linear import LinearProgram


def open_or_skip(name: str) -> Device:
    """The device, or a skip saying why it does not work here (test_required_devices fails instead in CI)."""
    status = next(s for s in bg.devices() if s.name == name)
    if not status.works:
        pytest.skip(f"{name} does not work here: {status.reason}")
    return get_device(name)


def empty_program(name: str) -> LinearProgram:
    return LinearProgram(name, [], [], 0)


def basic_ops_match_numpy(name: str) -> None:
    """Elementwise, broadcast, reduce, matmul, cast and where on `name` against numpy."""
    rng = np.random.default_rng(7)
    a = rng.standard_normal((33, 65)).astype(np.float32)
    b = rng.standard_normal((65,)).astype(np.float32)
    x, y = bg.Tensor(a, device=name), bg.Tensor(b, device=name)
    np.testing.assert_allclose(((x + y) * x - y.exp()).numpy(), (a + b) * a - np.exp(b), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x.sum(1).numpy(), a.sum(1), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(x.amax(0).numpy(), a.max(0))
    np.testing.assert_allclose((x @ x.T).numpy(), a @ a.T, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal((x > 0).where(x, 0.0).numpy(), np.where(a > 0, a, 0))
    np.testing.assert_array_equal((x * 10).cast("int32").numpy(), (a * 10).astype(np.int32))
    h = bg.Tensor(a, device=name).cast("float16")
    np.testing.assert_allclose((h * h).numpy(), (a.astype(np.float16) * a.astype(np.float16)), rtol=1e-3)
