"""CPU SIMD codegen: operand packing (codegen/pack.py), the register tiler and the flat-loop split (codegen/opt.py).

Schedules are built with explicit kernel options (no device needed); results are checked on every device under
test that asks for SIMD vectors (CPU, LLVM), against numpy and torch.
"""
from __future__ import annotations

import numpy as np
import pytest

import baregrad as bg
import baregrad.nn.functional as F
from baregrad.codegen.opt import KernelOptions
from baregrad.device import get_device
from baregrad.engine.realize import canonicalize
from baregrad.engine.schedule import build_schedule
from baregrad.ir.linear import L, LoopKind
from baregrad.ir.ops import Op
from tests.helpers import compare, to_torch

SIMD = KernelOptions(vector_width=8)


def _steps(t: bg.Tensor, opts: KernelOptions) -> list:
    canonical, inputs = canonicalize([t.node])
    return build_schedule(canonical, len(inputs), opts).steps


def _loops(step) -> list[tuple[str, int]]:
    return [(i.arg.name, i.arg.size) for i in step.prog.instrs if i.op is L.RANGE and i.arg.kind is LoopKind.GLOBAL]


def _vector_loads(step) -> int:
    return sum(1 for i in step.prog.instrs if i.op is L.LOAD and i.dtype.lanes > 1)


def _simd_device(device: str) -> None:
    if not getattr(get_device(device).kernel_options, "vector_width", 0):
        pytest.skip(f"{device} does not ask for SIMD tiles")


def _rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_large_matmul_reads_b_from_packed_panels():
    a, b = bg.Tensor(_rand(256, 512)), bg.Tensor(_rand(512, 512, seed=1))
    steps = _steps(a @ b, SIMD)
    assert len(steps) == 2, [s.name for s in steps]   # the panel copy, then the matmul
    assert len(_steps(a @ b, KernelOptions())) == 1   # only SIMD devices pack
    matmul = steps[-1]
    assert _vector_loads(matmul) == 2                 # one strip of two vectors, shared by every tile row
    small = bg.Tensor(_rand(64, 64)) @ bg.Tensor(_rand(64, 64))
    assert len(_steps(small, SIMD)) == 1              # a small B stays cached as it is
    batch = bg.Tensor(_rand(128, 784)) @ bg.Tensor(_rand(784, 128))
    assert len(_steps(batch, SIMD)) == 1              # 128 rows (an MLP training batch) do not repay the copy


def test_matmul_tile_rows_are_blocked_for_the_cache():
    a, b = bg.Tensor(_rand(1024, 2048)), bg.Tensor(_rand(2048, 64))
    names = [name for name, _ in _loops(_steps(a @ b, SIMD)[-1])]
    # row blocks outermost, then the column strips, then the rows of one block
    assert names == ["g0o", "g1", "g0"], names


def test_conv_tiles_output_channels_over_a_padded_copy():
    x, w = bg.Tensor(_rand(2, 32, 32, 32)), bg.Tensor(_rand(32, 32, 3, 3, seed=1))
    steps = _steps(F.conv2d(x, w, padding=1), SIMD)
    assert len(steps) == 2, [s.name for s in steps]   # the padded input, then the convolution
    conv = steps[-1]
    assert _vector_loads(conv) == 2                   # one strip of window vectors serves every channel of the tile
    assert ("g1", 32) not in _loops(conv)             # the channel loop is unrolled into tile rows
    assert len(_steps(F.conv2d(x[:, :4, :8, :8], w[:, :4], padding=1), SIMD)) == 1  # small: one kernel


def test_permuted_copy_splits_off_a_contiguous_inner_loop():
    x = bg.Tensor(_rand(64, 48, 16))
    step = _steps(x.permute(1, 0, 2).contiguous(), SIMD)[0]
    assert [size for _, size in _loops(step)] == [64 * 48, 16]
    inner = step.prog.instrs.index(next(i for i in step.prog.instrs if i.op is L.RANGE and i.arg.size == 16))
    assert not any(i.op is L.ALU and i.arg in (Op.IDIV, Op.MOD)
                   for i in step.prog.instrs[inner:]), "no division inside the contiguous loop"


@pytest.mark.parametrize("shape", [(64, 512, 512), (96, 256, 1024), (2, 64, 512, 512)])
def test_packed_matmul_matches_numpy(device, shape):
    _simd_device(device)
    *batch, n, k, m = shape
    a_np, b_np = _rand(*batch, n, k), _rand(*batch, k, m, seed=1)
    out = (bg.Tensor(a_np, device=device) @ bg.Tensor(b_np, device=device)).numpy()
    compare(out, a_np @ b_np, scale=k ** 0.5 * 10)


def test_padded_conv_matches_torch(device):
    _simd_device(device)
    import torch
    x_np, w_np, b_np = _rand(2, 32, 32, 32), _rand(48, 32, 3, 3, seed=1), _rand(48, seed=2)
    out = F.conv2d(bg.Tensor(x_np, device=device), bg.Tensor(w_np, device=device), bg.Tensor(b_np, device=device),
                   padding=1).numpy()
    expected = torch.nn.functional.conv2d(to_torch(x_np), to_torch(w_np), to_torch(b_np), padding=1).numpy()
    compare(out, expected, scale=100)


def test_small_map_conv_tiles_channels_with_strided_stores():
    """7x7 rows are not whole vectors: with a channels-last weight the tile runs along output channels, each
    pixel's input is one broadcast scalar, and results go to NCHW with stores 49 floats apart."""
    opts = KernelOptions(vector_width=16, strided_vectors=True)
    x = bg.Tensor(_rand(1, 24, 7, 7))
    w = bg.Tensor(np.ascontiguousarray(_rand(64, 24, 3, 3, seed=1).transpose(1, 2, 3, 0))).permute(3, 0, 1, 2)
    conv = _steps(F.conv2d(x, w, padding=1), opts)[-1]
    stores = [i for i in conv.prog.instrs if i.op is L.STORE]
    assert stores and all(i.dtype.lanes == 16 and i.arg == 49 for i in stores), [(i.dtype, i.arg) for i in stores]
    assert _loops(conv)[0] == ("g1", 2)               # channel strips outermost: a strip's weights stay cached
    no_strides = _steps(F.conv2d(x, w, padding=1), KernelOptions(vector_width=16))[-1]
    assert not any(i.dtype.lanes > 1 for i in no_strides.prog.instrs if i.op is L.STORE)


def test_depthwise_rows_of_56_use_8_lane_vectors():
    x, w = bg.Tensor(_rand(1, 48, 56, 56)), bg.Tensor(_rand(48, 1, 3, 3, seed=1))
    conv = _steps(F.conv2d(x, w, padding=1, groups=48), KernelOptions(vector_width=16))[-1]
    assert {i.dtype.lanes for i in conv.prog.instrs if i.op is L.LOAD and i.dtype.lanes > 1} == {8}


def test_strided_depthwise_rows_load_even_lanes():
    x, w = bg.Tensor(_rand(1, 8, 33, 33)), bg.Tensor(_rand(8, 1, 3, 3, seed=1))
    opts = KernelOptions(vector_width=16, strided_vectors=True)
    conv = _steps(F.conv2d(x, w, stride=2, groups=8), opts)[-1]
    assert {(i.dtype.lanes, i.arg) for i in conv.prog.instrs if i.op is L.LOAD and i.dtype.lanes > 1} == {(16, 2)}
    assert not any(i.dtype.lanes > 1 for i in _steps(F.conv2d(x, w, stride=2, groups=8), SIMD)[-1].prog.instrs)
