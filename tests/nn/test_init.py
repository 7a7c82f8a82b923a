"""nn.init: the fills' statistics and bounds, and that building layers of many shapes runs kernels only of the few
fixed draw sizes (no kernel, so no compile, per parameter shape)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import baregrad as bg
from baregrad.nn import init


@pytest.mark.parametrize("n", [7, 4096, 4097, 70_000, 300_001])
def test_uniform_fill_stays_in_bounds_and_is_uniform(device: str, n: int) -> None:
    if device == "PYTHON" and n > 4097:
        pytest.skip("the PYTHON device interprets every element: the large fills run on the compiled devices")
    t = init.uniform_(bg.Tensor.zeros(n, device=device), -0.3, 0.5)
    values = t.numpy()
    assert values.shape == (n,) and values.min() >= -0.3 and values.max() <= 0.5
    if n >= 4096:  # mean and variance of U(-0.3, 0.5): 0.1 and 0.8^2 / 12, within 5 standard errors
        assert abs(values.mean() - 0.1) < 5 * 0.8 / math.sqrt(12 * n)
        assert abs(values.var() - 0.64 / 12) < 0.01


def test_normal_fill_has_its_mean_and_std(device: str) -> None:
    n = 5000 if device == "PYTHON" else 50_000
    values = init.normal_(bg.Tensor.zeros(n, device=device), 2.0, 0.5).numpy()
    assert abs(values.mean() - 2.0) < 5 * 0.5 / math.sqrt(n)
    assert abs(values.std() - 0.5) < 0.03


def test_fills_of_two_tensors_differ_and_constants_are_exact() -> None:
    a, b = (init.uniform_(bg.Tensor.zeros(3, 5), -1, 1).numpy() for _ in range(2))
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(init.constant_(bg.Tensor.zeros(2, 3), 1.5).numpy(), np.full((2, 3), 1.5))
    ints = init.constant_(bg.Tensor.zeros(4, dtype=bg.int32), 7)
    assert ints.dtype is bg.int32 and ints.tolist() == [7, 7, 7, 7]


def test_building_layers_runs_only_draw_sized_kernels() -> None:
    shapes = [(37, 11, 3), (5, 13, 1), (64, 3, 7), (29, 29, 5), (3, 200, 2)]
    with bg.profile() as prof:
        layers = [bg.nn.Conv2d(cin, cout, k) for cin, cout, k in shapes] + [bg.nn.BatchNorm2d(23)]
    names = {e.name for e in prof.kernel_events()}
    draws = {f"e_{size}" for size in init.DRAW_SIZES}
    assert names and names <= draws, f"kernels other than the fixed-size draws: {sorted(names - draws)}"
    weight = layers[0].weight.numpy()
    bound = 1 / math.sqrt(37 * 9)  # kaiming_uniform_(a=sqrt(5)) on fan_in = 37 * 3 * 3
    assert weight.shape == (11, 37, 3, 3) and np.abs(weight).max() <= bound
    np.testing.assert_array_equal(layers[-1].weight.numpy(), np.ones(23, np.float32))
    np.testing.assert_array_equal(layers[-1].running_mean.numpy(), np.zeros(23, np.float32))
