"""Tensor.shard over two virtual CPU devices (CPU:0, CPU:1) matches the unsharded computation, forward and
backward, for data-parallel, column-parallel and row-parallel matmuls and reductions over either axis."""
import numpy as np
import pytest

import baregrad as bg
from baregrad.distributed import MultiTensor
from baregrad.errors import DeviceError, ShapeError

DEVICES = ["CPU:0", "CPU:1"]


@pytest.fixture(autouse=True)
def _cpu():
    from baregrad.device import describe_devices
    if not any(d.name == "CPU" and d.works for d in describe_devices()):
        pytest.skip("CPU device not available here (no C compiler)")


def _pair(x_layout, w_layout, reduce):
    rng = np.random.default_rng(0)
    xv, wv = rng.standard_normal((6, 5)).astype(np.float32), rng.standard_normal((5, 4)).astype(np.float32)
    results = []
    for sharded in (False, True):
        x = bg.tensor(xv, device="CPU", requires_grad=True)
        w = bg.tensor(wv, device="CPU", requires_grad=True)
        if sharded:
            xs = x.shard(DEVICES, x_layout) if x_layout is not None else x.to(DEVICES)
            ws = w.shard(DEVICES, w_layout) if w_layout is not None else w.to(DEVICES)
            y = reduce((xs @ ws).relu())
            assert isinstance(y, MultiTensor)
            loss = y.gather("CPU")
        else:
            loss = reduce((x @ w).relu())
        out = loss.numpy()
        (loss * loss).sum().backward()
        results.append((out, x.grad.numpy(), w.grad.numpy()))
    return results


REDUCE = {"sum0": lambda t: t.sum(0), "sum1": lambda t: t.sum(1), "mean": lambda t: t.mean(),
          "scale": lambda t: t * 2.0}


@pytest.mark.parametrize("x_layout,w_layout,reduce", [(0, None, "sum1"), (0, None, "mean"), (None, 1, "sum0"),
                                                      (None, 1, "scale"), (1, 0, "sum1"), (1, 1, "mean")])
def test_shard_matches_unsharded(x_layout, w_layout, reduce):
    (ref, gx_ref, gw_ref), (got, gx, gw) = _pair(x_layout, w_layout, REDUCE[reduce])
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gx, gx_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gw, gw_ref, rtol=1e-5, atol=1e-5)


def test_shards_live_on_their_devices():
    x = bg.arange(10).float().reshape(5, 2)
    xs = x.shard(DEVICES, 0)
    assert xs.devices == ("CPU", "CPU:1") and [s.shape for s in xs.shards] == [(3, 2), (2, 2)]
    assert xs.shape == (5, 2)
    np.testing.assert_array_equal((xs + 1).numpy(), x.numpy() + 1)
    np.testing.assert_array_equal(xs.gather().numpy(), x.numpy())
    np.testing.assert_array_equal(x.to(DEVICES).all_reduce().numpy(), 2 * x.numpy())


def test_errors():
    x = bg.ones(4, 2)
    with pytest.raises(ShapeError, match="size 1"):
        bg.ones(1, 2).shard(DEVICES, 0)
    with pytest.raises(DeviceError, match="CPU:1"):
        x.shard(DEVICES, 0) + bg.ones(4, 2, device="CPU:1")
    with pytest.raises(DeviceError, match="different devices"):
        bg.ones(2, device="CPU:1") + bg.ones(2)
    with pytest.raises(DeviceError, match="index"):
        bg.ones(2, device="CPU:x")
