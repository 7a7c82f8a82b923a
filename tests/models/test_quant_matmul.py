"""Tensor-op dequantization of GGML blocks vs the pure-Python reference, and fusion into one matmul kernel."""
from __future__ import annotations

import numpy as np
import pytest

import baregrad as bg
from baregrad.engine.realize import canonicalize
from baregrad.engine.schedule import build_schedule
from baregrad.models import quant_matmul as qm
from baregrad.nn.state.quant import LAYOUTS, GGMLType, dequantize_reference

BLOCK_TYPES = [GGMLType.Q4_0, GGMLType.Q4_1, GGMLType.Q5_0, GGMLType.Q5_1, GGMLType.Q8_0, GGMLType.IQ4_NL,
               GGMLType.Q2_K, GGMLType.Q3_K, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K]
# byte offsets of the float16 fields of each block: random bytes there could be NaN or huge
HALF_FIELDS = {GGMLType.Q4_0: (0,), GGMLType.Q4_1: (0, 2), GGMLType.Q5_0: (0,), GGMLType.Q5_1: (0, 2),
               GGMLType.Q8_0: (0,), GGMLType.IQ4_NL: (0,), GGMLType.Q2_K: (80, 82), GGMLType.Q3_K: (108,),
               GGMLType.Q4_K: (0, 2), GGMLType.Q5_K: (0, 2), GGMLType.Q6_K: (208,)}


def random_blocks(t: GGMLType, rows: int, cols: int, seed: int = 0) -> np.ndarray:
    lay = LAYOUTS[t]
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, size=(rows, cols // lay.block_size, lay.type_size), dtype=np.uint8)
    for off in HALF_FIELDS[t]:
        halves = rng.uniform(-0.1, 0.1, size=raw.shape[:2]).astype(np.float16)
        raw[:, :, off:off + 2] = halves.view(np.uint8).reshape(*raw.shape[:2], 2)
    return raw.reshape(rows, -1)


def reference(t: GGMLType, raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    return np.array(dequantize_reference(t, raw.tobytes(), rows * cols), np.float32).reshape(rows, cols)


@pytest.mark.parametrize("t", BLOCK_TYPES, ids=lambda t: t.name)
def test_dequantize_matches_reference(t: GGMLType) -> None:
    rows, cols = 3, 2 * LAYOUTS[t].block_size
    raw = random_blocks(t, rows, cols)
    w = qm.quant_weight(bg.Tensor(raw), t, (rows, cols))
    np.testing.assert_array_equal(qm.dequantize(w).numpy(), reference(t, raw, rows, cols))


@pytest.mark.parametrize("t", BLOCK_TYPES, ids=lambda t: t.name)
def test_reference_matches_gguf_package(t: GGMLType) -> None:
    """Our block layouts (the pure-Python reference and the Tensor-op decode) against gguf.quants' dequantizers,
    written independently from ggml's C."""
    gguf_quants = pytest.importorskip("gguf.quants")
    gguf = pytest.importorskip("gguf")
    rows, cols = 4, 2 * LAYOUTS[t].block_size
    raw = random_blocks(t, rows, cols, seed=5)
    theirs = gguf_quants.dequantize(raw, gguf.GGMLQuantizationType[t.name]).reshape(rows, cols)
    np.testing.assert_array_equal(reference(t, raw, rows, cols), theirs)
    w = qm.quant_weight(bg.Tensor(raw), t, (rows, cols))
    np.testing.assert_array_equal(qm.dequantize(w).numpy(), theirs)


@pytest.mark.parametrize("t", BLOCK_TYPES, ids=lambda t: t.name)
def test_linear_and_embedding(t: GGMLType) -> None:
    rows, cols = 5, 2 * LAYOUTS[t].block_size
    raw = random_blocks(t, rows, cols, seed=1)
    ref = reference(t, raw, rows, cols)
    w = qm.quant_weight(bg.Tensor(raw), t, (rows, cols))
    x = np.random.default_rng(2).standard_normal((2, cols)).astype(np.float32)
    np.testing.assert_allclose(qm.linear(bg.Tensor(x), w).numpy(), x @ ref.T, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose((bg.Tensor(x) @ qm.dequantize(w).T).numpy(), x @ ref.T, rtol=1e-4, atol=1e-4)
    ids = bg.Tensor(np.array([4, 0, 4], np.int32))
    np.testing.assert_array_equal(qm.embedding(w, ids).numpy(), ref[[4, 0, 4]])


@pytest.mark.parametrize("t", [GGMLType.F32, GGMLType.F16, GGMLType.BF16], ids=lambda t: t.name)
def test_plain_types(t: GGMLType) -> None:
    values = np.random.default_rng(3).standard_normal((4, 8)).astype(np.float32)
    data = bg.Tensor(values).cast({GGMLType.F32: bg.float32, GGMLType.F16: bg.float16,
                                   GGMLType.BF16: bg.bfloat16}[t]).realize()
    w = qm.quant_weight(data, t, (4, 8))
    expected = data.float().numpy()
    np.testing.assert_array_equal(qm.dequantize(w).numpy(), expected)
    np.testing.assert_allclose(qm.linear(bg.Tensor(values[:2]), w).numpy(), values[:2] @ expected.T, rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("t", BLOCK_TYPES, ids=lambda t: t.name)
def test_quantized_linear_is_one_kernel_reading_packed_blocks(t: GGMLType) -> None:
    rows, cols = 64, 256
    w = qm.quant_weight(bg.Tensor(random_blocks(t, rows, cols)), t, (rows, cols))
    x = bg.Tensor(np.ones((1, cols), np.float32))
    for y in (qm.linear(x, w), x @ qm.dequantize(w).T):
        bg.reset_counters()
        canonical, inputs = canonicalize([y.node])
        template = build_schedule(canonical, len(inputs))
        assert len(template.steps) == 1
        # the only buffer the schedule allocates is the (1, rows) output: no float copy of the weight
        assert [shape for _, shape in template.slot_specs.values()] == [(1, rows)]
        params = template.steps[0].prog.params
        assert any(p.dtype is bg.uint8 and p.size == w.data.numel() for p in params)
        y.realize()
        assert bg.counters()["kernels"] == 1
