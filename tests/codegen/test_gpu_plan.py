"""codegen/gpu.py's decisions, checked on real kernels: strategy, launch and shape follow the program and the target."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from baregrad import dtype as dt
from baregrad.codegen import gpu
from baregrad.ir.launch import Strategy, TileCopy
from baregrad.ir.linear import L, LoopKind, global_size, loop_tree, walk_loops
from baregrad.render.gpu.lang import OpenCLLanguage, WGSLLanguage
from tests.render.kernels import programs

PROGRAMS = programs()
PORTABLE = gpu.GPUTarget(sms=16, max_threads=256, local_bytes=32768, local_is_fast=True)


def test_strategies_for_cuda() -> None:
    plans = {name: gpu.plan(prog, gpu.GPUTarget()) for name, prog in PROGRAMS.items()}
    assert plans["matmul_0"].strategy is Strategy.MATMUL and plans["matmul_0"].matmul.match.sizes == (64, 80, 48, 1)
    assert plans["softmax_0"].strategy is Strategy.BLOCK and plans["softmax_0"].launches[0].grid[0] == 64
    assert plans["chain_0"].strategy is Strategy.VECTOR
    vec = plans["chain_0"].vector
    n = 64 * 48 // 4
    assert plans["chain_0"].launches[0].grid[0] * vec.threads * vec.unroll >= n   # every 4-chunk has a thread


def test_tensor_cores_follow_dtype_and_arch() -> None:
    mm = gpu.match(PROGRAMS["matmul_0"])
    assert mm is not None and mm.dtype.name == "float32"
    assert gpu.cuda_matmul_plan(PROGRAMS["matmul_0"], mm, gpu.GPUTarget(90)).matmul.tensor_core is None
    tf32 = gpu.cuda_matmul_plan(PROGRAMS["matmul_0"], mm, gpu.GPUTarget(90, allow_tf32=True)).matmul.tensor_core
    assert tf32 is not None and tf32.ptx_type == "tf32"
    assert gpu.cuda_matmul_plan(PROGRAMS["matmul_0"], mm, gpu.GPUTarget(70, allow_tf32=True)).matmul.tensor_core \
        is None   # no tensor cores for tf32 before sm_80


def test_cuda_fp32_matmul_takes_the_shared_tile() -> None:
    """fp32 without tf32 goes to the register tile every GPU language shares, through shared memory, copied 4-wide
    along each operand's contiguous dimension (A along k, B along n here); tensor cores keep CUDA's own loop."""
    mm = gpu.match(PROGRAMS["matmul_0"])
    shape = gpu.cuda_matmul_plan(PROGRAMS["matmul_0"], mm, gpu.GPUTarget(90)).matmul
    portable = gpu.plan(PROGRAMS["matmul_0"], PORTABLE, OpenCLLanguage()).matmul
    assert shape.tensor_core is None and shape.use_local and shape.tile == portable.tile
    assert (shape.tile.bm, shape.tile.bn, shape.tile.threads) == (128, 128, 256)
    assert (shape.a_copy, shape.b_copy) == (TileCopy.K4, TileCopy.MN4)
    tf32 = gpu.cuda_matmul_plan(PROGRAMS["matmul_0"], mm, gpu.GPUTarget(90, allow_tf32=True)).matmul
    assert tf32.tile is None and tf32.tensor_core is not None


def test_tile_copy_follows_the_operand_layout() -> None:
    mm = gpu.match(PROGRAMS["matmul_0"])
    tile = gpu.portable_tile(mm, PORTABLE)
    a, b = mm.a, mm.b   # A (64 x 48) row-major: contiguous along k; B (48 x 80): along n
    assert gpu.tile_copy(a, 64, 48, dt.float32, tile, tile.bm) is TileCopy.K4
    assert gpu.tile_copy(a, 64, 45, dt.float32, tile, tile.bm) is TileCopy.K1        # k not a multiple of 4
    assert gpu.tile_copy(a, 64, 48, dt.float16, tile, tile.bm) is TileCopy.K1        # 16-bit: converted per element
    assert gpu.tile_copy(b, 80, 48, dt.float32, tile, tile.bn) is TileCopy.MN4
    assert gpu.tile_copy(dataclasses.replace(b, offset=2), 80, 48, dt.float32, tile, tile.bn) is TileCopy.MN1


def test_matmul_operand_strides_match_the_index() -> None:
    """The matched strides reproduce numpy's matmul when used to read the operands."""
    mm = gpu.match(PROGRAMS["matmul_0"])
    M, N, K, _ = mm.sizes
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(M * K), rng.standard_normal(K * N)
    i, j, k = np.ix_(np.arange(M), np.arange(N), np.arange(K))
    got = (a[mm.a.offset + i * mm.a.s_mn + k * mm.a.s_k] * b[mm.b.offset + j * mm.b.s_mn + k * mm.b.s_k]).sum(-1)
    np.testing.assert_allclose(got, a.reshape(M, K) @ b.reshape(K, N), rtol=1e-12)


@pytest.mark.parametrize("lang", [OpenCLLanguage(), WGSLLanguage()], ids=["opencl", "wgsl"])
def test_portable_limits(lang) -> None:
    softmax = PROGRAMS["softmax_0"]
    assert gpu.plan(softmax, PORTABLE, lang).strategy is Strategy.BLOCK
    tiny = dataclasses.replace(PORTABLE, max_threads=1)   # no work-group to share a reduce: FLAT
    assert gpu.plan(softmax, tiny, lang).strategy is Strategy.FLAT
    no_local = dataclasses.replace(PORTABLE, local_bytes=16)
    assert gpu.plan(softmax, no_local, lang).strategy is Strategy.FLAT
    cpu_like = dataclasses.replace(PORTABLE, local_is_fast=False)
    assert not gpu.plan(PROGRAMS["matmul_0"], cpu_like, lang).matmul.use_local


def test_flat_launch_covers_every_output() -> None:
    for name, prog in PROGRAMS.items():
        plan = gpu.flat_plan(prog, gpu.GPUTarget())
        launch = plan.launches[0]
        assert launch.grid[0] * launch.block[0] >= global_size(prog), name


def test_loop_tree_mirrors_ranges() -> None:
    for name, prog in PROGRAMS.items():
        loops = list(walk_loops(loop_tree(prog)))
        ranges = [i for i, ins in enumerate(prog.instrs) if ins.op is L.RANGE]
        assert [x.start for x in loops] == ranges, name
        assert all(prog.instrs[x.end].op is L.END and prog.instrs[x.end].src == (x.start,) for x in loops), name
        reduces = [x for x in loops if prog.instrs[x.start].arg.kind is LoopKind.REDUCE]
        assert (len(reduces) > 0) == (name != "chain_0"), name
