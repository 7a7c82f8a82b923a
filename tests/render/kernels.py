"""The kernels the renderer tests render: a few real ones from the scheduler, with fixed names and shapes."""
from __future__ import annotations

import numpy as np

import baregrad as bg
import baregrad.nn.functional as F
from baregrad.engine.realize import canonicalize
from baregrad.engine.schedule import build_schedule
from baregrad.ir.linear import LinearProgram

DEV = "PYTHON"  # only the graphs are used: tensors stay on the reference device


def _t(*shape: int) -> bg.Tensor:
    return bg.Tensor(np.random.default_rng(0).uniform(-2, 2, shape).astype(np.float32), device=DEV)


def programs() -> dict[str, LinearProgram]:
    """name -> linear program, for an elementwise chain, a reduce, softmax, a matmul and a conv."""
    a, b, v = _t(64, 48), _t(48, 80), _t(48)
    x, w = _t(1, 3, 10, 10), _t(4, 3, 3, 3)
    cases = {"chain": a * 2 + a.exp() * v, "rowsum": a.sum(1), "softmax": a.softmax(-1), "matmul": a @ b,
             "conv": F.conv2d(x, w).relu()}
    out = {}
    for name, t in cases.items():
        canonical, inputs = canonicalize([t.node])
        steps = build_schedule(canonical, len(inputs), None).steps
        for n, step in enumerate(steps):
            step.prog.name = f"{name}_{n}"
            out[step.prog.name] = step.prog
    return out
