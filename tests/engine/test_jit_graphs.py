"""The JIT's graph path (a device with `batch`, as CUDA) without a GPU: which replay is chosen, and its footguns.

The reference device is given a fake `batch` (it records the launches and re-runs them on replay(), running
nothing at capture, as a CUDA stream capture) and a `copy` (device to device). Every footgun of
tests/engine/test_jit.py must give the plain call's result through the staging buffers.
"""
from __future__ import annotations

import numpy as np
import pytest

import baregrad as bg
from baregrad.device import get_device
from baregrad.errors import DeviceError

DEV = "PYTHON"


class FakeGraph:
    def __init__(self, launches):
        self.launches = [(program, list(handles)) for program, handles in launches]
        self.replays = 0

    def replay(self) -> None:
        self.replays += 1
        for program, handles in self.launches:
            program(*handles)


@pytest.fixture
def graphs(monkeypatch):
    """Give the reference device batch() and copy(); returns the list of graphs it built."""
    device, built = get_device(DEV), []

    def batch(launches):
        built.append(FakeGraph(launches))
        return built[-1]

    def copy(dst, src, nbytes):
        device.copyin(dst, device.copyout(src, nbytes))
    monkeypatch.setattr(device, "batch", batch, raising=False)
    monkeypatch.setattr(device, "copy", copy, raising=False)
    return built


def _t(values) -> bg.Tensor:
    return bg.Tensor(np.asarray(values, np.float32), device=DEV)


def test_batch_device_replays_one_graph(graphs):
    f = bg.jit(lambda x: (x * 2).exp().sum() + x.max())
    xs = [_t([0.1 * i, 0.2, -0.3]) for i in range(5)]
    got = [f(x).item() for x in xs]
    want = [float(np.exp(2 * x.numpy()).sum() + x.numpy().max()) for x in xs]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert len(graphs) == 1 and graphs[0].replays == 3 and len(graphs[0].launches) >= 1
    replay = next(iter(f.replays.values()))
    assert replay.device_graph is not None and replay.graph is None


def test_device_without_batch_reissues_launches():
    f = bg.jit(lambda x: x + 1)
    assert [f(_t([float(i)])).item() for i in range(4)] == [1.0, 2.0, 3.0, 4.0]
    replay = next(iter(f.replays.values()))
    assert replay.device_graph is None


def test_build_replay_wins_over_batch(graphs, monkeypatch):
    """NV offers build_replay: its prebuilt launches are used, not a batch graph."""
    device = get_device(DEV)

    class Prebuilt:
        def __init__(self, launches):
            self.launches = [(program, list(handles)) for program, handles in launches]

        def __call__(self, patches):
            for launch, arg, handle in patches:
                self.launches[launch][1][arg] = handle
            for program, handles in self.launches:
                program(*handles)
    monkeypatch.setattr(device, "build_replay", Prebuilt, raising=False)
    f = bg.jit(lambda x: x * 3)
    assert [f(_t([float(i)])).item() for i in range(4)] == [0.0, 3.0, 6.0, 9.0]
    replay = next(iter(f.replays.values()))
    assert isinstance(replay.graph, Prebuilt) and replay.device_graph is None and not graphs


def test_failed_batch_falls_back(monkeypatch):
    def refuse(launches):
        raise DeviceError("capture refused")
    monkeypatch.setattr(get_device(DEV), "batch", refuse, raising=False)
    f = bg.jit(lambda x: x - 1)
    assert [f(_t([float(i)])).item() for i in range(4)] == [-1.0, 0.0, 1.0, 2.0]


def test_earlier_outputs_and_inputs_survive(graphs):
    f = bg.jit(lambda x: x + 1)
    ins = [_t([float(i)]) for i in range(5)]
    outs = [f(x) for x in ins]
    assert [o.item() for o in outs] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert [x.item() for x in ins] == [0.0, 1.0, 2.0, 3.0, 4.0], "staging must never write the callers' inputs"
    assert graphs and graphs[0].replays == 3


def test_same_input_then_new_input(graphs):
    f = bg.jit(lambda x: (x * 2).sum())
    a, b = _t([1.0, 2.0]), _t([5.0, 6.0])
    assert [f(a).item(), f(a).item(), f(b).item(), f(a).item()] == [6.0, 6.0, 22.0, 6.0]


def test_random_numbers_advance(graphs):
    def run(fn):
        bg.manual_seed(7)
        return [fn(_t([1.0, 1.0, 1.0])).tolist() for _ in range(5)]
    step = lambda x: x * bg.rand(3, device=x.device)  # noqa: E731
    plain, jitted = run(step), run(bg.jit(step))
    assert len({tuple(p) for p in plain}) == 5 and jitted == plain


def test_assign_into_an_argument_is_copied_back(graphs):
    def bump(x):
        x.assign(x + 1)
        return x * 10
    f = bg.jit(bump)
    x = _t([0.0])
    got = [f(x).item() for _ in range(5)]
    assert got == [10.0, 20.0, 30.0, 40.0, 50.0] and x.item() == 5.0


def test_returned_argument_is_the_new_one(graphs):
    f = bg.jit(lambda x: (x, x * 2))
    for v in (1.0, 2.0, 3.0, 4.0):
        a, b = f(_t([v]))
        assert (a.item(), b.item()) == (v, 2 * v)


def test_aliased_arguments_retrace(graphs):
    f = bg.jit(lambda x, y: x + y)
    x = _t([1.0])
    assert [f(x, x).item() for _ in range(3)] == [2.0, 2.0, 2.0]
    assert f(_t([4.0]), _t([10.0])).item() == 14.0


def test_training_step_state_updates(graphs):
    rng = np.random.default_rng(1)
    x_np, y_np, w_np = (rng.standard_normal(s).astype(np.float32) for s in ((8, 6), (8, 2), (6, 2)))

    def run(use_jit):
        w = bg.Tensor(w_np, device=DEV, requires_grad=True)
        x, y = bg.Tensor(x_np, device=DEV), bg.Tensor(y_np, device=DEV)

        def step(x, y):
            loss = ((x @ w - y) ** 2).mean()
            loss.backward()
            w.assign(w.detach() - 0.1 * w.grad)
            w.grad = None
            return loss
        fn = bg.jit(step) if use_jit else step
        return [fn(x, y).item() for _ in range(5)]
    plain, jitted = run(False), run(True)
    np.testing.assert_allclose(jitted, plain, rtol=1e-6)
    assert plain[-1] < plain[0] and graphs and graphs[0].replays == 3
