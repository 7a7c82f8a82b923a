"""WEBGPU device: WGSL through wgpu-native (lavapipe, Mesa's Vulkan on the CPU, in CI)."""
from __future__ import annotations

import numpy as np
import pytest

import baregrad as bg
from baregrad.errors import CompileError, DTypeError
from baregrad.ir.launch import Kernel
from tests.device.device_checks import basic_ops_match_numpy, empty_program, open_or_skip


@pytest.fixture(scope="module")
def gpu():
    return open_or_skip("WEBGPU")


def test_basic_ops_match_numpy(gpu):
    basic_ops_match_numpy("WEBGPU")


def test_shader_error_is_a_compile_error_with_the_log(gpu):
    source = "@compute @workgroup_size(1) fn broken() { let x: f32 = no_such_value; }"
    with pytest.raises(CompileError, match="no_such_value"):
        gpu.compile(Kernel(source), empty_program("broken"))


@pytest.mark.parametrize("name", ["float64", "uint64"])
def test_64_bit_dtypes_are_dtype_errors(gpu, name):
    assert gpu.supports(bg.dtypes.from_name(name)) is not None
    x = bg.Tensor(np.arange(4, dtype=np.float32), device="WEBGPU").cast(name)
    with pytest.raises(DTypeError, match="WGSL has no 64-bit"):
        (x + 1).numpy()


def test_packed_sub_word_dtypes_match_the_reference(gpu):
    # odd sizes, so neighbours share u32 words and the last word is partial
    a = np.random.default_rng(3).standard_normal(37).astype(np.float32) * 50
    for name in ("bool", "int8", "uint8", "int16", "uint16", "float16", "bfloat16", "int64"):
        def fn(t):
            x = t.cast(name)
            return (x + x) if name != "bool" else (x & (t > 0))
        ours, ref = fn(bg.Tensor(a, device="WEBGPU")).numpy(), fn(bg.Tensor(a, device="PYTHON")).numpy()
        np.testing.assert_array_equal(ours, ref, err_msg=name)


def test_launch_past_the_dispatch_limit(gpu):
    n = 65535 * 64 + 1000  # one workgroup row of 65535 is not enough: needs the second dispatch dimension
    assert gpu.grid(n)[1] > 1
    x = bg.Tensor(np.ones(n, np.float32), device="WEBGPU")
    out = (x * 3 + 1).numpy()
    assert out.shape == (n,) and np.all(out == 4)


def test_integer_division_and_saturating_casts(gpu):
    a = np.array([7, -7, 0, 5, -2147483647 - 1, 9], np.int32)
    b = np.array([2, 2, 3, 0, -1, -4], np.int32)
    for fn in (lambda x, y: x // y, lambda x, y: x % y, lambda x, y: (x.cast("float32") * 1e3).cast("int32"),
               lambda x, y: (x.cast("float32") / y.cast("float32")).cast("int8")):
        ours = fn(bg.Tensor(a, device="WEBGPU"), bg.Tensor(b, device="WEBGPU")).numpy()
        ref = fn(bg.Tensor(a, device="PYTHON"), bg.Tensor(b, device="PYTHON")).numpy()
        np.testing.assert_array_equal(ours, ref)


def test_argmax_over_a_long_axis():
    # was n on lavapipe: its three reduce loops ran in one invocation, past lavapipe's 65535-iteration budget
    x = np.random.default_rng(0).standard_normal((1, 32768)).astype(np.float32)
    assert bg.Tensor(x, device="WEBGPU").argmax(-1).tolist() == x.argmax(-1).tolist()
