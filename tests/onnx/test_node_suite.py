"""ONNX's own backend node tests (generated offline from the `onnx` wheel), run through baregrad's operator table.

Every case the wheel's generators produce runs on CPU and is compared the way ONNX's backend test compares
(shape, dtype, then allclose with rtol 1e-3 / atol 1e-5 unless the case sets its own). A fast subset runs on the
other local devices. Cases baregrad cannot run are listed, each with its reason, in node_exclusions.txt.
"""
from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the onnx package (a test extra) is not installed")

import baregrad as bg  # noqa: E402 - after the skip when onnx is missing
from tests.helpers import devices_under_test  # noqa: E402

EXCLUSIONS = Path(__file__).with_name("node_exclusions.txt")
DEFAULT_RTOL, DEFAULT_ATOL = 1e-3, 1e-5
# a few cases per op family: enough to catch a renderer difference on the other devices, quick to run
FAST_SUBSET = ("test_add", "test_relu", "test_softmax_axis_1", "test_matmul_2d", "test_conv_with_strides_padding",
               "test_maxpool_2d_pads", "test_reduce_sum_keepdims_random", "test_gather_0", "test_slice",
               "test_layer_normalization_2d_axis0", "test_resize_upsample_scales_linear", "test_cumsum_1d",
               "test_where_example", "test_transpose_all_permutations_0", "test_einsum_batch_matmul",
               "test_lstm_defaults", "test_gelu_tanh_1", "test_scatter_elements_with_axis",
               "test_pow_types_float32_int64")


def load_exclusions() -> dict[str, str]:
    out = {}
    for line in EXCLUSIONS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.partition("\t")
            out[name.strip()] = reason.strip()
    return out


@functools.cache
def node_cases() -> dict[str, object]:
    """All node test cases of the installed onnx wheel, by name (model + inputs + expected outputs in memory)."""
    from onnx.backend.test.case.node import collect_testcases
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {case.name: case for case in collect_testcases(None)}


def case_names() -> list[str]:
    try:
        return sorted(node_cases())
    except Exception as e:  # noqa: BLE001 -- an onnx without the generators: nothing to run, said below
        pytest.skip(f"onnx's node test generators are unavailable: {e}", allow_module_level=True)
        return []


def tolerances(case) -> tuple[float, float]:
    """ONNX's default case tolerances (1e-3, 1e-7) are replaced by the suite's; a case's own values are kept."""
    rtol = case.rtol if case.rtol != 1e-3 else DEFAULT_RTOL
    atol = case.atol if case.atol != 1e-7 else DEFAULT_ATOL
    return rtol, atol


def assert_similar(expected, actual, rtol: float, atol: float, where: str) -> None:
    if isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)), f"{where}: expected a sequence, got {type(actual).__name__}"
        assert len(actual) == len(expected), f"{where}: sequence length {len(actual)} != {len(expected)}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            assert_similar(e, a, rtol, atol, f"{where}[{i}]")
        return
    if expected is None:
        assert actual is None, f"{where}: expected an empty optional"
        return
    expected = np.asarray(expected)
    assert actual is not None, f"{where}: got nothing"
    assert tuple(actual.shape) == tuple(expected.shape), f"{where}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{where}: dtype {actual.dtype} != {expected.dtype}"
    if expected.dtype.name == "bfloat16":
        rtol = max(rtol, 2 ** -6)
        actual, expected = actual.astype(np.float32), expected.astype(np.float32)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=where)


def as_value(value):
    """A case's stored input/output as numpy: some generators keep TensorProto/SequenceProto/OptionalProto."""
    from onnx import numpy_helper
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    if isinstance(value, onnx.SequenceProto):
        return [as_value(v) for v in numpy_helper.to_list(value)]
    if isinstance(value, onnx.OptionalProto):
        return as_value(numpy_helper.to_optional(value))
    if isinstance(value, (list, tuple)):
        return [as_value(v) for v in value]
    return value


NO_DTYPE = ("float8", "float4", "int4", "uint4", "int2", "uint2")


def to_baregrad(value, device: str):
    """A case's input as the runner takes it: a Tensor, a list of Tensors (a sequence) or None (empty optional)."""
    if value is None:
        return None
    if isinstance(value, list):
        return [to_baregrad(v, device) for v in value]
    array = np.asarray(value)
    if array.dtype == object or array.dtype.kind in "USc" or array.dtype.name.startswith(NO_DTYPE):
        raise NotImplementedError(f"baregrad has no dtype for {array.dtype}")
    return bg.tensor(array.copy(order="C"), device=device)


def to_numpy(value):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [to_numpy(v) for v in value]
    array = value.numpy()
    if value.dtype is bg.bfloat16:
        import ml_dtypes
        array = array.astype(ml_dtypes.bfloat16)
    return array


def run_model(model, inputs: list, device: str) -> list:
    """The case's model through baregrad's own reader and runner (bg.onnx.load on the serialized bytes)."""
    loaded = bg.onnx.load(model.SerializeToString(), device=device)
    initialized = {init.name for init in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in initialized]
    feeds = {name: to_baregrad(v, device) for name, v in zip(names, inputs)}
    outputs = loaded(**feeds)
    return [to_numpy(outputs[o.name]) for o in model.graph.output]


def run_case(name: str, device: str) -> None:
    case = node_cases()[name]
    rtol, atol = tolerances(case)
    for inputs, expected in case.data_sets:
        inputs, expected = [as_value(v) for v in inputs], [as_value(v) for v in expected]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outputs = run_model(case.model, list(inputs), device)
        assert len(outputs) == len(expected), f"{name}: {len(outputs)} outputs, expected {len(expected)}"
        for i, (e, a) in enumerate(zip(expected, outputs)):
            assert_similar(e, a, rtol, atol, f"{name} output {i}")


@pytest.mark.parametrize("name", case_names())
def test_node_cpu(name: str) -> None:
    reason = load_exclusions_cached().get(name)
    if reason is not None:
        pytest.skip(f"excluded: {reason}")
    if "CPU" not in devices_under_test():
        pytest.skip("the CPU device does not work here")
    run_case(name, "CPU")


@pytest.mark.parametrize("name", FAST_SUBSET)
def test_node_subset(name: str, device: str) -> None:
    if device == "CPU":
        pytest.skip("CPU runs every case in test_node_cpu")
    run_case(name, device)


def test_exclusions_name_real_cases() -> None:
    """A stale exclusion (a renamed or removed case) would hide nothing and mislead the reader of the list."""
    unknown = sorted(set(load_exclusions_cached()) - set(node_cases()))
    assert not unknown, f"node_exclusions.txt names cases the onnx wheel does not generate: {unknown}"
    assert all(load_exclusions_cached().values()), "every exclusion needs a reason"
    stale = [n for n in FAST_SUBSET if n not in node_cases() or n in load_exclusions_cached()]
    assert not stale, f"the other-device subset names cases that do not run: {stale}"


@functools.cache
def load_exclusions_cached() -> dict[str, str]:
    return load_exclusions() if EXCLUSIONS.exists() else {}

