"""CUDA C without a GPU: plan many ops' kernels (codegen/gpu.py), write them (render/gpu/writer.py), compile with nvcc.

All sources go into one translation unit (kernel names made unique) so nvcc runs once for the whole suite:
each nvcc start costs seconds. Skips with its reason when nvcc is missing. Long reduces are also scheduled as
a GPU schedules them (codegen/gpu_split.py: a partial kernel and a finishing one), over inputs never allocated.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess

import numpy as np
import pytest

import baregrad as bg
from baregrad import dtype as dt
from baregrad.codegen import gpu
from baregrad.codegen.gpu_split import GPUKernelOptions
from baregrad.device import get_device
from baregrad.engine.buffer import Buffer
from baregrad.engine.realize import canonicalize
from baregrad.engine.schedule import build_schedule
from baregrad.ir.launch import GPUPlan, Strategy
from baregrad.ir.node import Node
from baregrad.ir.ops import Op
from baregrad.render.gpu.writer import render_cuda

NVCC = shutil.which("nvcc") or next((p for p in ("/usr/local/cuda/bin/nvcc", "/usr/local/bin/nvcc")
                                     if os.path.exists(p)), None)
DEV = "PYTHON"  # tensors live on the reference device: only their graphs are used here


def _t(shape, d=np.float32, lo=-2.0, hi=2.0) -> bg.Tensor:
    arr = np.random.default_rng(0).uniform(lo, hi, shape).astype(d)
    return bg.Tensor(arr, device=DEV)


def _cases() -> dict[str, bg.Tensor]:
    a, b, v = _t((64, 48)), _t((48, 80)), _t((48,))
    h, hb = a.half().realize(), b.half().realize()
    bf, bfb = a.bfloat16().realize(), b.bfloat16().realize()
    i = bg.Tensor(np.arange(12, dtype=np.int32).reshape(3, 4), device=DEV)
    x4 = _t((2, 3, 8, 8))
    w = _t((80, 48))
    unary = {f"u_{name}": getattr(a, name)() for name in ("exp", "log", "sqrt", "sin", "cos", "tanh", "erf",
                                                          "sigmoid", "relu", "gelu", "silu", "abs", "floor", "round",
                                                          "reciprocal", "isnan", "log1p", "softplus")}
    return {
        **unary,
        "add_bcast": a + v, "mul_chain": a * 2 + a.exp() * v, "div": a / (v + 3), "pow": a.abs() ** 1.5,
        "cmp_where": (a < 0).where(a, -a), "max": a.maximum(v), "clamp": a.clamp(-1, 1),
        "int_ops": (i * 3 + 1) // 2 % 5, "bits": (i << 2) ^ (i >> 1) & 7, "int64": i.long() * 2**40,
        "casts": a.half().float() + a.bfloat16().float() + a.int().float() + a.double().float(),
        "bool": (a > 0).logical_and(a < 1).float(), "int8": (a * 10).cast(bg.int8),
        "half_math": (h * 2 + h.exp()).sum(-1), "bf16_math": (bf.sigmoid() * bf).amax(0),
        "bitcast": a.bitcast(bg.int32) & 0xFFFF, "bitcast_u8": (i.cast(bg.uint8) + 250).bitcast(bg.int8),
        "sum_all": a.sum(), "sum_rows": a.sum(1), "sum_cols": a.sum(0), "mean": a.mean(-1), "amax": a.amax(0),
        "prod": (a * 0.1 + 1).prod(1), "argmax": a.argmax(1), "any": (a > 1.9).any(), "var": a.var(-1),
        "long_sum": _t((1 << 18,)).sum(), "long_rows": _t((4, 65536)).sum(-1),
        "softmax": a.softmax(-1), "log_softmax": a.log_softmax(0), "logsumexp": a.logsumexp(-1),
        "layernorm": (a - a.mean(-1, keepdim=True)) / (a.var(-1, keepdim=True) + 1e-5).sqrt(),
        "cumsum": a.cumsum(-1),
        "permute": x4.permute(0, 2, 3, 1).contiguous() * 1.0, "pad": x4.pad_torch((1, 1, 2, 0)) + 1,
        "flip": x4.flip(-1) + 1, "expand": v.reshape(1, 48).expand(64, 48) + 0, "shrink": a[3:40:2, ::3] + 1,
        "gather": a.gather(1, bg.Tensor(np.zeros((64, 5), np.int64), device=DEV)),
        "embedding": a[bg.Tensor(np.array([1, 5, 63, -1]), device=DEV)],
        "mm_f32": a @ b, "mm_odd": _t((70, 45)) @ _t((45, 66)), "mm_at": _t((48, 64)).T @ b,
        "mm_f16": h @ hb, "mm_bf16": bf @ bfb, "mm_tf32": a @ b,
        "linear": (a @ w.T + _t((80,))).relu(), "linear_f16": h @ w.half().realize().T,
        "bmm": _t((4, 32, 48)) @ _t((4, 48, 40)),
        "bmm_f16": _t((3, 64, 32)).half().realize() @ _t((32, 64)).half().realize(),
        "matvec": a @ v, "outer_small": v.reshape(48, 1) @ v.reshape(1, 48),
        "attention": (a @ a.T / 7).softmax(-1) @ a,
    }


def _unallocated(shape: tuple[int, ...], d: dt.DType = dt.float32) -> bg.Tensor:
    """A big input that is only scheduled, never allocated or filled."""
    return bg.Tensor.from_node(Node(Op.BUFFER, d, (), Buffer(get_device(DEV), d, shape)), DEV)


def _split_cases() -> dict[str, bg.Tensor]:
    """Reduces a GPU schedule splits in two kernels (the partial over chunks, then the finish)."""
    flat, rows, cols = _unallocated((1 << 28,)), _unallocated((4, 1 << 24)), _unallocated((1 << 22, 3))
    odd, half = _unallocated((100003,)), _unallocated((1 << 20,), dt.float16)
    return {"split_sum": flat.sum(), "split_max": flat.amax(), "split_rows": rows.sum(-1), "split_cols": cols.amin(0),
            "split_prod_pad": odd.prod(), "split_max_pad": odd.amax(), "split_half": half.sum(),
            "split_dot": odd @ odd, "split_softmax": _unallocated((2, 1 << 20)).softmax(-1)}


GPU_OPTS = GPUKernelOptions(sms=132)


def _programs(name: str, t: bg.Tensor, opts=None):
    canonical, inputs = canonicalize([t.node])
    template = build_schedule(canonical, len(inputs), opts)
    for n, step in enumerate(template.steps):
        yield dataclasses.replace(step.prog, name=f"{name}_{n}")  # a copy: scheduled programs are shared


def _render(prog, target: gpu.GPUTarget) -> tuple[str, GPUPlan]:
    plan = gpu.plan(prog, target)
    return render_cuda(prog, plan), plan


def _render_all() -> dict[str, tuple[str, GPUPlan]]:
    out = {}
    for name, t in _cases().items():
        target = gpu.GPUTarget(90, 132, allow_tf32=name == "mm_tf32")
        for prog in _programs(name, t):
            out[prog.name] = _render(prog, target)
    for name in ("mm_f16", "mm_bf16", "linear_f16"):  # no tensor cores for 16-bit inputs before sm_80
        for prog in _programs(f"{name}_sm75", _cases()[name]):
            out[prog.name] = _render(prog, gpu.GPUTarget(75, 40))
    for name, t in _split_cases().items():
        for prog in _programs(name, t, GPU_OPTS):
            out[prog.name] = _render(prog, gpu.GPUTarget(90, 132))
    return out


@pytest.fixture(scope="module")
def rendered() -> dict[str, tuple[str, GPUPlan]]:
    return _render_all()


def test_strategies(rendered):
    def plans(prefix: str) -> list[GPUPlan]:
        return [p for name, (_, p) in rendered.items() if name.rsplit("_", 1)[0] == prefix]
    for mm in ("mm_f32", "mm_f16", "mm_bf16", "mm_tf32", "linear", "bmm", "bmm_f16"):
        assert Strategy.MATMUL in [p.strategy for p in plans(mm)], mm
    assert "m16n8k16.row.col.f32.f16" in rendered["mm_f16_0"][0]
    assert "m16n8k16.row.col.f32.bf16" in rendered["mm_bf16_0"][0]
    assert "m16n8k8.row.col.f32.tf32" in rendered["mm_tf32_0"][0]
    assert "mma.sync" not in rendered["mm_f32_0"][0]          # fp32 without tf32 stays exact: the shared tile
    for name in ("mm_f32_0", "mm_odd_0", "mm_at_0", "linear_0", "bmm_0"):
        shape = rendered[name][1].matmul
        assert shape.tile is not None and shape.use_local and "__shared__ __align__(16) float As" in rendered[name][0]
    old_f16 = rendered["mm_f16_sm75_0"]                        # sm_75: the shared register tile, inputs converted
    assert "mma.sync" not in old_f16[0] and old_f16[1].matmul.tile is not None and "f16_to_f32(" in old_f16[0]
    assert [p.strategy for p in plans("softmax")] == [Strategy.BLOCK]   # one kernel, cooperative rows
    assert "__shfl_xor_sync" in rendered["softmax_0"][0] and "__syncthreads" in rendered["softmax_0"][0]
    assert plans("mul_chain")[0].strategy is Strategy.VECTOR
    assert "uint4" in rendered["mul_chain_0"][0]


def test_long_reduces_render_as_partial_and_finish(rendered):
    for name in _split_cases():
        kernels = [k for k in rendered if k.rsplit("_", 1)[0] == name]
        assert len(kernels) >= 2, name
    first, finish = rendered["split_sum_0"][1], rendered["split_sum_1"][1]
    assert first.strategy is Strategy.BLOCK and first.launches[0].grid[0] >= 132   # every SM busy
    assert finish.launches[0].grid[0] == 1
    assert rendered["split_rows_0"][1].launches[0].grid[0] >= 132
    assert "split_half_0(float* p0" in rendered["split_half_0"][0]   # fp16 partials accumulate in fp32
    softmax = [rendered[f"split_softmax_{i}"][1] for i in range(5)]
    assert softmax[2].launches[0].grid[0] >= 132 and softmax[4].strategy is not Strategy.BLOCK


def test_plan_is_data_not_text(rendered):
    """The launch travels beside the source (ir.launch.Kernel), not inside it."""
    src, plan = rendered["softmax_0"]
    assert plan.launches[0].grid[0] == 64 and plan.block is not None and plan.block.blocks == 64
    assert "baregrad-launch" not in src and f"__launch_bounds__({plan.launches[0].block[0]})" in src


@pytest.mark.skipif(NVCC is None, reason="nvcc not found (install the CUDA toolkit or put nvcc on PATH)")
def test_nvcc_compiles_everything(rendered, tmp_path):
    sources = [src for src, _ in rendered.values()]
    unit = tmp_path / "all.cu"
    unit.write_text("\n".join(sources))
    # unoptimized: the test checks the CUDA C and PTX are valid, and takes about a third of the optimized time
    fast = ["-Xcicc", "-O0", "-Xptxas", "-O0"]
    result = subprocess.run([NVCC, "-cubin", "-arch=sm_90", "-diag-suppress", "177,550", *fast, "-o",
                             str(tmp_path / "all.cubin"), str(unit)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-6000:]
    assert len(sources) >= 60, f"only {len(sources)} kernels rendered"


@pytest.mark.skipif(NVCC is None, reason="nvcc not found (install the CUDA toolkit or put nvcc on PATH)")
def test_fp32_matmul_4096_keeps_its_tile_in_registers(tmp_path):
    """The fp32 tile (64 accumulators per thread) compiles without spilling to local memory, as ptxas reports."""
    t = _unallocated((4096, 4096)) @ _unallocated((4096, 4096))
    (prog,) = _programs("mm4096", t)
    src, plan = _render(prog, gpu.GPUTarget(90, 132))
    assert plan.matmul.tile is not None
    unit = tmp_path / "mm4096.cu"
    unit.write_text(src)
    for arch in ("sm_90", "sm_80"):
        result = subprocess.run([NVCC, "-cubin", f"-arch={arch}", "-Xptxas", "-v", "-o", str(tmp_path / "mm.cubin"),
                                 str(unit)], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "0 bytes spill stores, 0 bytes spill loads" in result.stderr, result.stderr[-3000:]


def _nvrtc():
    from baregrad.device.cuda_api import NVRTC
    from baregrad.errors import DeviceError
    try:
        return NVRTC()
    except DeviceError as e:
        pytest.skip(f"NVRTC not loadable here: {e}")


def test_nvrtc_compiles_everything(rendered):
    """The CUDA device compiles with NVRTC, which lacks nvcc's headers and builtins (e.g. __builtin_memcpy)."""
    sources = [src for src, _ in rendered.values()]
    image = _nvrtc().compile("\n".join(sources), "all", "sm_90", ("-diag-suppress=177,550",))
    assert image[:4] == b"\x7fELF" and len(sources) >= 60
