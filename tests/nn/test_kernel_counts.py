"""Fusion contract for nn ops, counted in kernels: an embedding lookup is one gather kernel with no reduce,
and a conv2d forward (pad, window view, multiply, sum, bias) is one reduce kernel (a large one on a SIMD CPU
first copies its padded input, so its window loads vectorize: codegen/pack.py)."""
import numpy as np

import baregrad as bg
import baregrad.nn.functional as F
from baregrad.engine import realize as engine_realize


def _kernels_of(t: bg.Tensor) -> tuple[int, list[str]]:
    """Kernels launched realizing t, and their names ("r_..." has a reduce, "e_..." is elementwise)."""
    names: list[str] = []
    original = engine_realize.run_schedule

    def spy(template, inputs, device):
        names.extend(step.name for step in template.steps)
        return original(template, inputs, device)

    engine_realize.run_schedule = spy
    try:
        bg.counters(reset=True)
        t.realize()
        count = bg.counters()["kernels"]
    finally:
        engine_realize.run_schedule = original
    return count, names


def test_embedding_is_one_gather_kernel():
    weight = bg.Tensor(np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)).realize()
    index = bg.Tensor([[3, 7, 49], [0, 3, 1]], dtype=bg.int32).realize()
    out = F.embedding(index, weight)
    count, names = _kernels_of(out)
    assert count == 1, names
    assert not names[0].startswith("r_"), f"embedding must be a gather, not a reduce: {names}"
    np.testing.assert_array_equal(out.numpy(), weight.numpy()[[[3, 7, 49], [0, 3, 1]]])


def test_conv2d_forward_is_one_kernel():
    rng = np.random.default_rng(1)
    x = bg.Tensor(rng.standard_normal((2, 3, 8, 8)).astype(np.float32)).realize()
    w = bg.Tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32)).realize()
    b = bg.Tensor(rng.standard_normal(4).astype(np.float32)).realize()
    for kw in ({"padding": 1}, {"stride": 2, "padding": "valid"}, {"dilation": 2, "padding": 2}):
        count, names = _kernels_of(F.conv2d(x, w, b, **kw))
        assert count == 1, (kw, names)
        assert names[0].startswith("r_"), names


def test_pooling_is_one_kernel():
    x = bg.Tensor(np.random.default_rng(2).standard_normal((2, 3, 8, 8)).astype(np.float32)).realize()
    for out in (F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 2, 1), F.max_pool2d(x, 3, 1, 1)):
        count, names = _kernels_of(out)
        assert count == 1, names
