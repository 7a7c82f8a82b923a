"""OPENCL device: OpenCL C through libOpenCL (PoCL on the CPU in CI)."""
from __future__ import annotations

import numpy as np
import pytest

import baregrad as bg
from baregrad.errors import CompileError, DTypeError
from baregrad.ir.launch import Kernel
from baregrad.render.cstyle import OPENCL_DIALECT, CRenderer
from tests.device.device_checks import basic_ops_match_numpy, empty_program, open_or_skip


@pytest.fixture(scope="module")
def cl():
    return open_or_skip("OPENCL")


def test_basic_ops_match_numpy(cl):
    basic_ops_match_numpy("OPENCL")


def test_compile_error_carries_build_log(cl):
    with pytest.raises(CompileError, match="error") as info:
        source = "__kernel void broken(__global float* p0) { p0[0] = undefined_name; }"
        cl.compile(Kernel(source), empty_program("broken"))
    assert "undefined_name" in str(info.value)


def test_unsupported_dtype_is_a_dtype_error(cl, monkeypatch):
    monkeypatch.setattr(cl, "unsupported_dtypes", {"float64": "test: no cl_khr_fp64"})
    assert cl.supports(bg.dtypes.float64) == "test: no cl_khr_fp64"
    x = bg.Tensor(np.arange(5, dtype=np.float64), device="OPENCL")
    with pytest.raises(DTypeError, match="cl_khr_fp64"):
        (x * 3.25 + 0.125).numpy()


def test_dialect_is_opencl_c(cl):
    x = bg.Tensor(np.ones(4, np.float32), device="OPENCL")
    source = CRenderer(OPENCL_DIALECT).render(_program_of(x + 1))
    assert "__kernel void" in source and "__global" in source and "get_global_id(0)" in source
    assert "_Bool" not in source and "#include" not in source


def _program_of(t):
    from baregrad.engine.realize import canonicalize
    from baregrad.engine.schedule import build_schedule
    canonical, inputs = canonicalize([t.node])
    return build_schedule(canonical, len(inputs)).steps[0].prog


def test_half_bfloat16_bool_and_int64_round_trip(cl):
    a = np.array([1.5, -2.25, 65504.0, 3e-5], np.float32)
    for name in ("float16", "bfloat16", "int64", "uint8", "bool", "int8", "float64"):
        ours = bg.Tensor(a, device="OPENCL").cast(name)
        ref = bg.Tensor(a, device="PYTHON").cast(name)
        np.testing.assert_array_equal((ours + ours).numpy(), (ref + ref).numpy(), err_msg=name)
