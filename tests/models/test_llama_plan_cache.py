"""llama's schedule cache is per device: the same graph on two devices must not share compiled kernels."""
from __future__ import annotations

import numpy as np

import baregrad as bg
from baregrad.models.llama import capture_part


def _graph(device: str) -> tuple[bg.Tensor, bg.Tensor]:
    x = bg.Tensor(np.arange(8, dtype=np.float32), device=device)
    out = bg.Tensor(np.zeros(8, dtype=np.float32), device=device)
    return out, out.assign(x * 2 + 1)


def test_same_graph_on_two_devices_gets_two_schedules():
    results = {}
    for device in ("PYTHON", "CPU"):
        out, step = _graph(device)
        plan = capture_part([step])
        plan.run()
        results[device] = (plan.schedule, out.numpy())
    assert results["PYTHON"][0] is not results["CPU"][0]  # one template per device, so one program each
    for _, values in results.values():
        np.testing.assert_array_equal(values, np.arange(8) * 2 + 1)
