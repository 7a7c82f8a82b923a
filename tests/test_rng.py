"""Counter-based RNG: values depend on the seed and call order only, never on realize order."""
import numpy as np
import pytest

import baregrad as bg


def test_same_seed_different_realize_order(device):
    bg.manual_seed(42)
    a1, b1 = bg.rand(5, device=device), bg.randn(3, 4, device=device)
    a1_vals, b1_vals = a1.numpy(), b1.numpy()
    bg.manual_seed(42)
    a2, b2 = bg.rand(5, device=device), bg.randn(3, 4, device=device)
    b2_vals, a2_vals = b2.numpy(), a2.numpy()  # realized in the other order
    np.testing.assert_array_equal(a1_vals, a2_vals)
    np.testing.assert_array_equal(b1_vals, b2_vals)


def test_same_seed_same_numbers_across_devices():
    works = [s.name for s in bg.devices() if s.works]
    values = []
    for name in works[:2]:
        bg.manual_seed(7)
        values.append(bg.rand(16, device=name).numpy())
    for v in values[1:]:
        np.testing.assert_array_equal(v, values[0])


def test_different_seeds_differ(device):
    bg.manual_seed(1)
    a = bg.rand(32, device=device).numpy()
    bg.manual_seed(2)
    b = bg.rand(32, device=device).numpy()
    assert not np.array_equal(a, b)
    c = bg.rand(32, device=device).numpy()  # the next call in the same stream differs too
    assert not np.array_equal(b, c)


def test_rand_in_unit_interval(device):
    bg.manual_seed(3)
    x = bg.rand(4096, device=device).numpy()
    assert x.min() >= 0.0 and x.max() < 1.0
    assert abs(x.mean() - 0.5) < 0.03 and abs(x.std() - 12 ** -0.5) < 0.02
    assert len(np.unique(x)) > 4000


@pytest.mark.parametrize("dtype", [bg.float32, bg.float16])
def test_rand_dtype_below_one(device, dtype):
    bg.manual_seed(4)
    x = bg.rand(2048, dtype=dtype, device=device)
    assert x.dtype is dtype
    v = x.float().numpy()
    assert v.min() >= 0.0 and v.max() < 1.0


def test_randn_moments(device):
    bg.manual_seed(5)
    x = bg.randn(64, 64, device=device).numpy().ravel()
    assert abs(x.mean()) < 0.05 and abs(x.std() - 1) < 0.05
    assert 0.62 < np.mean(np.abs(x) < 1) < 0.74  # ~68% within one sigma
    assert np.isfinite(x).all()


def test_randint_uniform(device):
    bg.manual_seed(6)
    x = bg.randint(0, 4, (4000,), device=device).numpy()
    counts = np.bincount(x, minlength=4)
    assert counts.min() > 850 and x.max() == 3
