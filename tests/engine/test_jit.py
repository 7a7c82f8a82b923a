"""The JIT's footguns: a replay must give exactly what a plain call gives, or retrace, or raise."""
import numpy as np
import pytest

import baregrad as bg


def _plain_and_jitted(fn, calls, device):
    """Results of fn over a sequence of argument tuples, without and with the JIT (same seeds)."""
    bg.manual_seed(7)
    plain = [fn(*args).numpy() for args in calls(device)]
    bg.manual_seed(7)
    jitted_fn = bg.jit(fn)
    jitted = [jitted_fn(*args).numpy() for args in calls(device)]
    return plain, jitted


def test_replay_matches_plain_calls(device):
    rng = np.random.default_rng(0)
    data = [rng.standard_normal((4, 8)).astype(np.float32) for _ in range(5)]

    def calls(dev):
        return [(bg.Tensor(d, device=dev),) for d in data]

    plain, jitted = _plain_and_jitted(lambda x: (x @ x.T).relu().sum(0) * 2, calls, device)
    for p, j in zip(plain, jitted):
        np.testing.assert_allclose(j, p, rtol=1e-6)


def test_non_tensor_arguments_key_the_cache(device):
    f = bg.jit(lambda x, k: x * k)
    x = bg.Tensor([1.0, 2.0], device=device)
    results = [f(x, k).tolist() for k in (2, 2, 2, 3, 3, 3, 2)]
    assert results == [[2.0, 4.0]] * 3 + [[3.0, 6.0]] * 3 + [[2.0, 4.0]]


def test_unhashable_argument_raises(device):
    f = bg.jit(lambda x, opts: x * len(opts["k"]))
    with pytest.raises(bg.ArgumentError, match="not hashable"):
        f(bg.Tensor([1.0], device=device), {"k": {1, 2}})


def test_random_numbers_advance_on_replay(device):
    def calls(dev):
        return [(bg.Tensor([1.0, 1.0, 1.0], device=dev),) for _ in range(5)]

    plain, jitted = _plain_and_jitted(lambda x: x * bg.rand(3, device=x.device), calls, device)
    assert len({tuple(p) for p in plain}) == 5, "plain calls must draw new numbers"
    for p, j in zip(plain, jitted):
        np.testing.assert_array_equal(j, p)


def test_changed_shape_or_dtype_retraces(device):
    f = bg.jit(lambda x: x.sum() + 1)
    for n in (2, 2, 2, 3, 3, 3, 2):
        assert f(bg.Tensor(list(range(n)), dtype=bg.float32, device=device)).item() == sum(range(n)) + 1
    for dtype in (bg.int32, bg.int32, bg.int32, bg.float32):
        out = f(bg.Tensor([1, 2], dtype=dtype, device=device))
        assert out.item() == 4 and out.dtype is (bg.int64 if dtype is bg.int32 else bg.float32)


def test_reading_values_inside_a_capture_raises(device):
    f = bg.jit(lambda x: x * 2 if x.sum().item() > 0 else x * 3)
    x = bg.Tensor([1.0], device=device)
    f(x)  # the first call runs plainly
    with pytest.raises(bg.ArgumentError, match="cannot read tensor values"):
        f(x)


def test_same_input_then_new_input(device):
    f = bg.jit(lambda x: (x * 2).sum())
    a, b = bg.Tensor([1.0, 2.0], device=device), bg.Tensor([5.0, 6.0], device=device)
    assert [f(a).item(), f(a).item(), f(b).item(), f(a).item()] == [6.0, 6.0, 22.0, 6.0]


def test_earlier_outputs_are_not_overwritten(device):
    f = bg.jit(lambda x: x + 1)
    outs = [f(bg.Tensor([float(i)], device=device)) for i in range(5)]
    assert [o.item() for o in outs] == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_training_step_replays_state_updates(device):
    rng = np.random.default_rng(1)
    x_np, y_np, w_np = (rng.standard_normal(s).astype(np.float32) for s in ((8, 6), (8, 2), (6, 2)))

    def run(use_jit):
        w = bg.Tensor(w_np, device=device, requires_grad=True)
        x, y = bg.Tensor(x_np, device=device), bg.Tensor(y_np, device=device)

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
    assert plain[-1] < plain[0]


def test_replay_compiles_nothing(device):
    f = bg.jit(lambda x: (x * 2).exp().sum())
    x = bg.Tensor([0.1, 0.2], device=device)
    f(x), f(x)
    before = bg.counters()
    for _ in range(3):
        f(x)
    after = bg.counters()
    assert after["compiles"] == before["compiles"]
    assert after["kernels"] > before["kernels"]
