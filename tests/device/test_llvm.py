"""LLVM device: LLVM IR JIT-compiled in process by llvmlite."""
from __future__ import annotations

import numpy as np
import pytest

import baregrad as bg
from baregrad.errors import CompileError, DTypeError
from baregrad.ir.launch import Kernel
from tests.device.device_checks import basic_ops_match_numpy, empty_program, open_or_skip


@pytest.fixture(scope="module")
def llvm_device():
    return open_or_skip("LLVM")


def test_basic_ops_match_numpy(llvm_device):
    basic_ops_match_numpy("LLVM")


def test_invalid_ir_is_a_compile_error_with_the_log(llvm_device):
    with pytest.raises(CompileError, match="no_such_value"):
        llvm_device.compile(Kernel("define void @broken() {\n  ret i32 %no_such_value\n}\n"), empty_program("broken"))


def test_unsupported_dtype_is_a_dtype_error(llvm_device, monkeypatch):
    monkeypatch.setattr(llvm_device, "unsupported_dtypes", {"float64": "test: pretend no doubles"})
    x = bg.Tensor(np.arange(5, dtype=np.float64), device="LLVM")
    with pytest.raises(DTypeError, match="pretend no doubles"):
        (x * 5.5 - 0.25).numpy()


def test_threaded_chunks_cover_every_row(llvm_device):
    a = np.random.default_rng(1).standard_normal((1000, 300)).astype(np.float32)
    out = (bg.Tensor(a, device="LLVM") * 2 + 1).numpy()
    np.testing.assert_array_equal(out, a * 2 + 1)
    np.testing.assert_allclose(bg.Tensor(a, device="LLVM").sum(1).numpy(), a.sum(1), rtol=1e-4, atol=1e-4)


def test_special_values_match_the_reference(llvm_device):
    a = np.array([0.0, -0.0, 1.5, -2.5, np.inf, -np.inf, np.nan, 3e9, -3e9, 7.0], np.float32)
    for fn in (lambda t: t.cast("int32"), lambda t: t.cast("uint8"), lambda t: t.exp(), lambda t: t.sqrt(),
               lambda t: t.cast("float16"), lambda t: t.cast("bfloat16"), lambda t: t.maximum(t * 0),
               lambda t: t.cast("int64") // 3, lambda t: t.cast("int32") % -2):
        ours, ref = fn(bg.Tensor(a, device="LLVM")).numpy(), fn(bg.Tensor(a, device="PYTHON")).numpy()
        np.testing.assert_array_equal(ours, ref)
