"""Shared helpers for the ONNX reader/runner tests: build one-node models with the `onnx` package and compare
baregrad's outputs with onnxruntime's on the same inputs."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the onnx package is a test extra (make test installs it)")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402 - after the skip when onnx is missing

NP_TO_ONNX = {np.dtype(k): v for k, v in {np.float32: TensorProto.FLOAT, np.float64: TensorProto.DOUBLE,
                                           np.int8: TensorProto.INT8, np.uint8: TensorProto.UINT8,
                                           np.int32: TensorProto.INT32, np.int64: TensorProto.INT64,
                                           np.bool_: TensorProto.BOOL, np.float16: TensorProto.FLOAT16}.items()}


def one_node_model(op: str, inputs: dict[str, np.ndarray], n_outputs: int = 1, domain: str = "",
                   opset: int = 21, initializers: dict[str, np.ndarray] | None = None, **attrs: Any) -> bytes:
    """A model of one node; `inputs` named '' are absent optional inputs; initializers are constant inputs."""
    initializers = initializers or {}
    names = list(inputs) + list(initializers)
    node = helper.make_node(op, [n if not n.startswith("_absent") else "" for n in names],
                            [f"y{i}" for i in range(n_outputs)], domain=domain, **attrs)
    graph_inputs = [helper.make_tensor_value_info(n, NP_TO_ONNX[v.dtype], v.shape) for n, v in inputs.items()]
    inits = [numpy_helper.from_array(v, n) for n, v in initializers.items() if not n.startswith("_absent")]
    outputs = [onnx.ValueInfoProto(name=f"y{i}") for i in range(n_outputs)]
    graph = helper.make_graph([node], "g", graph_inputs, outputs, inits)
    opsets = [helper.make_opsetid("", opset)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    model = helper.make_model(graph, opset_imports=opsets, ir_version=10)
    return model.SerializeToString()


def run_ort(model: bytes, feeds: dict[str, np.ndarray], threads: int = 2) -> list[np.ndarray]:
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra (make test installs it)")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def run_ours(model: bytes | str, feeds: dict[str, np.ndarray], device: str) -> list[Any]:
    import baregrad as bg
    m = bg.onnx.load(model, device=device)
    out = m(**feeds)
    return [None if v is None else v.numpy() for v in out.values()]


def assert_close(ours: Sequence[Any], ref: Sequence[np.ndarray], rtol: float = 1e-3, atol: float = 1e-4,
                 what: str = "") -> None:
    for i, (a, b) in enumerate(zip(ours, ref)):
        assert a is not None, f"{what} output {i} missing"
        assert a.shape == b.shape, f"{what} output {i}: shape {a.shape} vs onnxruntime {b.shape}"
        if np.issubdtype(b.dtype, np.integer) or b.dtype == np.bool_:
            np.testing.assert_array_equal(a, b, err_msg=f"{what} output {i}")
        else:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"{what} output {i}")
