"""The hand-written CPU kernels (models/cpu_quant.py, models/cpu_attention.py) against numpy references.

Each case runs twice: on the calling thread, and with the thread team forced (the threshold set to 0).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import baregrad as bg
from baregrad.device import get_device
from baregrad.errors import DeviceError, ShapeError
from baregrad.models import cpu_attention, cpu_quant
from baregrad.models import quant_matmul as qm
from baregrad.nn.state.quant import GGMLType
from tests.models.test_quant_matmul import random_blocks, reference

try:
    get_device("CPU")
except DeviceError as e:  # no C compiler here
    pytest.skip(f"CPU device unavailable: {e}", allow_module_level=True)

TYPES = [GGMLType.Q4_1, GGMLType.Q8_0]


@pytest.fixture(params=["serial", "threads"])
def threading(request, monkeypatch):
    if request.param == "threads":
        monkeypatch.setattr(cpu_quant, "PARALLEL_WORK", 0)
        monkeypatch.setattr(cpu_attention, "PARALLEL_WORK", 0)


def cpu(a: np.ndarray) -> bg.Tensor:
    return bg.Tensor(a, device="CPU").realize()


def weight(t: GGMLType, n: int, k: int, seed: int) -> tuple[qm.QuantWeight, np.ndarray]:
    raw = random_blocks(t, n, k, seed=seed)
    return qm.quant_weight(cpu(raw), t, (n, k)), reference(t, raw, n, k)


@pytest.mark.parametrize("t", TYPES, ids=lambda t: t.name)
@pytest.mark.parametrize("rows", [1, 3, 6, 11])  # the one-row, few-rows (batched decode) and prompt kernels
def test_quant_matmul_matches_dequantized_product(t: GGMLType, rows: int, threading) -> None:
    w, ref = weight(t, 7, 96, seed=rows)  # odd row count: the prompt kernel's last pair holds one row
    rng = np.random.default_rng(rows)
    x = rng.standard_normal((rows, 96)).astype(np.float32)
    res = rng.standard_normal((rows, 7)).astype(np.float32)
    expected = x.astype(np.float64) @ ref.T.astype(np.float64)
    np.testing.assert_allclose(cpu_quant.linear(cpu(x), w).numpy(), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(cpu_quant.linear(cpu(x), w, cpu(res)).numpy(), expected + res, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("t", TYPES, ids=lambda t: t.name)
def test_a_few_rows_get_the_bits_of_each_row_alone(t: GGMLType) -> None:
    """A batched decode step multiplies one row per sequence: each must equal that row multiplied alone, exactly,
    so a sequence decodes to the same tokens in a batch as by itself."""
    w, _ = weight(t, 9, 128, seed=4)
    x = np.random.default_rng(4).standard_normal((4, 128)).astype(np.float32)
    together = cpu_quant.linear(cpu(x), w).numpy()
    alone = np.concatenate([cpu_quant.linear(cpu(x[i:i + 1]), w).numpy() for i in range(4)])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-5)
    if not np.array_equal(together, alone):  # close, not equal: the portable C path (no AVX2/FMA/F16C) ran
        pytest.xfail("without AVX2/FMA/F16C the few-rows product is the prompt kernel, summed in another order")


@pytest.mark.parametrize("rows", [1, 5])
def test_stacked_launches_write_their_columns(rows: int) -> None:
    (a, ref_a), (b, ref_b) = weight(GGMLType.Q4_1, 4, 64, seed=1), weight(GGMLType.Q8_0, 3, 64, seed=2)
    x = np.random.default_rng(0).standard_normal((rows, 64)).astype(np.float32)
    out = cpu(np.zeros((rows, 7), np.float32))
    for launch in (cpu_quant.launch(out, cpu(x), a), cpu_quant.launch(out, cpu(x), b, column=4)):
        launch.run()
    np.testing.assert_allclose(out.numpy(), x @ np.concatenate([ref_a, ref_b]).T, rtol=1e-4, atol=1e-4)


def test_quant_matmul_checks_shapes() -> None:
    w, _ = weight(GGMLType.Q4_1, 4, 64, seed=0)
    with pytest.raises(ShapeError):
        cpu_quant.linear(cpu(np.zeros((1, 32), np.float32)), w)
    with pytest.raises(ShapeError):
        cpu_quant.launch(cpu(np.zeros((1, 4), np.float32)), cpu(np.zeros((1, 64), np.float32)), w, column=2)
    assert not cpu_quant.supported("CPU", [qm.QuantWeight(GGMLType.Q6_K, (1, 256), w.data)])


def reference_attention(q: np.ndarray, keys: np.ndarray, values: np.ndarray, start: int) -> np.ndarray:
    """Causal grouped-query attention: query t sees keys j <= start + t. q (T, H, D), keys (L, Hkv, D)."""
    t, h, d = q.shape
    rep = h // keys.shape[1]
    out = np.zeros((t, h, d))
    for i in range(t):
        for head in range(h):
            k, v = keys[:start + i + 1, head // rep], values[:start + i + 1, head // rep]
            s = k @ q[i, head] / math.sqrt(d)
            p = np.exp(s - s.max())
            out[i, head] = (p / p.sum()) @ v
    return out


@pytest.mark.parametrize("start,rows", [(0, 1), (5, 1), (6, 4), (13, 3)])
def test_kv_write_then_attention(start: int, rows: int, threading) -> None:
    chunk, n_chunks, h, hkv, d = 8, 2, 6, 2, 16
    rng = np.random.default_rng(start)
    history = rng.standard_normal((2, chunk * n_chunks, hkv, d)).astype(np.float32)
    cache = [[cpu(history[kind, c * chunk:(c + 1) * chunk].copy()) for c in range(n_chunks)] for kind in range(2)]
    new_k = rng.standard_normal((rows + 1, hkv, d)).astype(np.float32)  # one padding row: never written
    new_v = rng.standard_normal((rows + 1, hkv * d + 3)).astype(np.float32)  # v at column 3 of wider rows
    meta = cpu(np.array([start, rows, rows - 1], np.int32))
    k_src, v_src = cpu(new_k), cpu(new_v)
    for c in range(n_chunks):
        cpu_attention.KVWrite(cache[0][c].node.arg, c * chunk, k_src.node.arg, meta.node.arg).run()
        cpu_attention.KVWrite(cache[1][c].node.arg, c * chunk, v_src.node.arg, meta.node.arg, column=3).run()
    keys, values = history[0].copy(), history[1].copy()
    keys[start:start + rows] = new_k[:rows]
    values[start:start + rows] = new_v[:rows, 3:].reshape(rows, hkv, d)
    np.testing.assert_array_equal(np.concatenate([c.numpy() for c in cache[0]]), keys)
    np.testing.assert_array_equal(np.concatenate([c.numpy() for c in cache[1]]), values)

    q = rng.standard_normal((rows, h, d)).astype(np.float32)
    out = cpu(np.zeros((rows, h * d), np.float32))
    cpu_attention.Attention(out.node.arg, cpu(q).node.arg, [c.node.arg for c in cache[0]],
                            [c.node.arg for c in cache[1]], meta.node.arg).run()
    expected = reference_attention(q, keys, values, start).reshape(rows, h * d)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_attention_checks_shapes() -> None:
    cache = [cpu(np.zeros((8, 2, 16), np.float32)).node.arg]
    meta = cpu(np.zeros(3, np.int32)).node.arg
    with pytest.raises(ShapeError):  # 5 heads do not share 2 kv heads evenly
        cpu_attention.Attention(cpu(np.zeros((1, 80), np.float32)).node.arg,
                                cpu(np.zeros((1, 5, 16), np.float32)).node.arg, cache, cache, meta)
