"""Lowering and index simplification: the integer index arithmetic of real kernels, evaluated for every loop
iteration, must read and write exactly the elements numpy's movement ops name (permute, reshape, flip, shrink,
pad, expand, in chains). Only the index and validity instructions are evaluated, so a wrong simplification
shows up as a wrong element rather than being hidden by later arithmetic."""
from __future__ import annotations

import itertools
import operator

import numpy as np
import pytest

import baregrad as bg
from baregrad.engine.realize import canonicalize
from baregrad.engine.schedule import build_schedule
from baregrad.ir.linear import L, LinearProgram
from baregrad.ir.ops import Op

SHAPE = (4, 6, 5)
_INT_OPS = {Op.ADD: operator.add, Op.SUB: operator.sub, Op.MUL: operator.mul, Op.MAX: max,
            Op.CMPLT: operator.lt, Op.CMPEQ: operator.eq, Op.CMPNE: operator.ne, Op.AND: operator.and_,
            Op.OR: operator.or_, Op.XOR: operator.xor}


def _c_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _evaluate(prog: LinearProgram) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(store index, load index, load valid) for every iteration of the program's global loops."""
    ranges = [i for i, ins in enumerate(prog.instrs) if ins.op is L.RANGE]
    load = next(i for i, ins in enumerate(prog.instrs) if ins.op is L.LOAD)
    store = next(i for i, ins in enumerate(prog.instrs) if ins.op is L.STORE)
    rows = []
    for point in itertools.product(*(range(prog.instrs[r].arg.size) for r in ranges)):
        values: dict[int, object] = dict(zip(ranges, point))
        for i, ins in enumerate(prog.instrs):
            if ins.op is L.CONST:
                values[i] = ins.arg
            elif ins.op is L.ALU and (ins.dtype.name.startswith("int") or ins.dtype.name == "bool"):
                a = [values.get(s) for s in ins.src]
                if any(x is None or isinstance(x, float) for x in a):
                    continue  # float data, not index arithmetic
                if ins.arg is Op.IDIV:
                    values[i] = _c_div(*a)
                elif ins.arg is Op.MOD:
                    values[i] = a[0] - _c_div(*a) * a[1]
                elif ins.arg is Op.NEG:
                    values[i] = -a[0]
                elif ins.arg is Op.NOT:
                    values[i] = not a[0]
                elif ins.arg is Op.WHERE:
                    values[i] = a[1] if a[0] else a[2]
                else:
                    values[i] = _INT_OPS[ins.arg](*a)
        lsrc = prog.instrs[load].src
        valid = values[lsrc[2]] if len(lsrc) > 2 else True
        rows.append((values[prog.instrs[store].src[1]], values[lsrc[1]], bool(valid)))
    out = np.array(rows, dtype=np.int64)
    return out[:, 0], out[:, 1], out[:, 2].astype(bool)


def _pad(x, widths):
    """torch.nn.functional.pad's meaning on either library."""
    if isinstance(x, bg.Tensor):
        return x.pad_torch(widths)
    import torch
    return torch.nn.functional.pad(x, widths)


CHAINS = {
    "permute": lambda x: x.permute(2, 0, 1),
    "reshape_chain": lambda x: x.reshape(8, 15).reshape(120).reshape(5, 24),
    "flip_shrink_pad": lambda x: _pad(x.flip(1)[1:3], (1, 2)),
    "transpose_reshape": lambda x: x.transpose(0, 2).reshape(10, 12)[::3],
    "expand": lambda x: x[:, :1].expand(4, 3, 5),
    "pad_then_permute": lambda x: _pad(x, (0, 0, 2, 1)).permute(1, 2, 0).flip(0),
}


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_movement_indices_match_numpy(name: str) -> None:
    data = np.random.default_rng(0).permutation(np.prod(SHAPE)).astype(np.float32).reshape(SHAPE)
    import torch
    expected = CHAINS[name](torch.tensor(data)).contiguous().numpy()
    t = CHAINS[name](bg.Tensor(data, device="PYTHON")) + 0.5
    canonical, inputs = canonicalize([t.node])
    steps = build_schedule(canonical, len(inputs), None).steps
    assert len(steps) == 1, "one kernel: the movement chain fuses into the load's index"
    store_idx, load_idx, valid = _evaluate(steps[0].prog)
    assert sorted(store_idx.tolist()) == list(range(expected.size)), "every output written exactly once"
    got = np.zeros(expected.size, np.float32)
    got[store_idx] = np.where(valid, data.reshape(-1)[np.clip(load_idx, 0, data.size - 1)], 0.0)
    assert np.all((load_idx >= 0) & (load_idx < data.size) | ~valid), "a valid load stays in bounds"
    np.testing.assert_array_equal(got.reshape(expected.shape), expected)
