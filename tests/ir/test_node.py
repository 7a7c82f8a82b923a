"""The hash-consing node table: identity, and prompt release of dead graphs (and the buffers they hold)."""
from __future__ import annotations

import gc
import weakref

import numpy as np

import baregrad as bg
from baregrad.dtype import float32
from baregrad.engine.realize import bump_epoch
from baregrad.ir import node as node_module
from baregrad.ir.node import Node
from baregrad.ir.ops import Op


def test_same_fields_give_the_same_node():
    a = Node(Op.CONST, float32, (), 1.5)
    assert Node(Op.CONST, float32, (), 1.5) is a
    assert Node(Op.CONST, float32, (), -0.0) is not Node(Op.CONST, float32, (), 0.0)


def test_eager_loop_frees_dead_buffers_without_a_full_sweep(monkeypatch):
    full_sweeps = []
    monkeypatch.setattr(node_module, "sweep", lambda: full_sweeps.append(1))
    gc.disable()  # only reference counts may free things here: the young sweep must not need the collector
    try:
        x = bg.Tensor(np.ones(16, np.float32), device="CPU").realize()
        steps = 3 * node_module.YOUNG_SWEEP_EVERY
        buffers = []
        for _ in range(steps):
            buffers.append(weakref.ref(x.node.arg))
            bump_epoch()
            x = (x * 1.0001 + 0.5).realize()
        # every step's buffer dies within a young sweep or two (3 nodes per step), none waits for a full sweep
        alive = [i for i, b in enumerate(buffers[:steps - node_module.YOUNG_SWEEP_EVERY]) if b() is not None]
        assert not alive, f"buffers of steps {alive[:10]}... are still held by the node table"
        assert not full_sweeps
        np.testing.assert_allclose(x.numpy(), _expected(3 * node_module.YOUNG_SWEEP_EVERY), rtol=1e-5)
    finally:
        gc.enable()


def test_young_sweep_keeps_what_is_referenced():
    kept = Node(Op.CONST, float32, (), 2.25)
    expr = Node(Op.ADD, float32, (kept, kept))
    for i in range(2 * node_module.YOUNG_SWEEP_EVERY):
        Node(Op.CONST, float32, (), float(i) + 0.125)  # garbage, swept on the way
    assert Node(Op.ADD, float32, (kept, kept)) is expr
    assert Node(Op.CONST, float32, (), 2.25) is kept


def _expected(steps: int) -> np.ndarray:
    v = np.ones(16, np.float32)
    for _ in range(steps):
        v = v * np.float32(1.0001) + np.float32(0.5)
    return v
