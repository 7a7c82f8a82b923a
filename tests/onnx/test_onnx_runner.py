"""The graph runner: inputs as numpy or Tensors, dynamic dims, folding of shape arithmetic, the jit replay path,
If/Loop/Scan, model-local functions, input checks, and a lazy `bg.onnx`; results against onnxruntime."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import baregrad as bg
from baregrad.errors import ArgumentError, DTypeError, ShapeError
from tests.onnx.onnx_cases import assert_close, helper, numpy_helper, onnx, run_ort

TP = onnx.TensorProto
DEV = "CPU"


def _i64(name, values):
    return numpy_helper.from_array(np.array(values, np.int64), name)


def _reshape_model(shuffle: bool = False) -> bytes:
    """y = relu(reshape(x, [batch, -1]) * w): the batch size comes from Shape at run time."""
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Slice", ["s", "zero", "one"], ["b"]),
             helper.make_node("Concat", ["b", "minus1"], ["shape"], axis=0),
             helper.make_node("Reshape", ["x", "shape"], ["flat"]),
             helper.make_node("Mul", ["flat", "w"], ["mm"]),
             helper.make_node("Relu", ["mm"], ["y"])]
    if shuffle:
        nodes = nodes[::-1]
    w = np.random.default_rng(0).standard_normal(12).astype(np.float32)
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TP.FLOAT, ["batch", 3, 4])],
                          [helper.make_tensor_value_info("y", TP.FLOAT, ["batch", 12])],
                          [_i64("zero", [0]), _i64("one", [1]), _i64("minus1", [-1]), numpy_helper.from_array(w, "w")])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


@pytest.mark.parametrize("jit", [False, True], ids=["plain", "jit"])
def test_dynamic_batch_matches_onnxruntime(jit: bool) -> None:
    data = _reshape_model()
    model = bg.onnx.load(data, device=DEV, jit=jit)
    for i, batch in enumerate([2, 2, 2, 5, 5, 5, 2, 1]):
        x = np.random.default_rng(i).standard_normal((batch, 3, 4)).astype(np.float32)
        out = model(x=x)
        assert list(out) == ["y"]
        assert_close([out["y"].numpy()], run_ort(data, {"x": x}), what=f"batch {batch}")


def test_tensor_inputs_positional_and_shuffled_node_order() -> None:
    data = _reshape_model(shuffle=True)
    model = bg.onnx.load(data, device=DEV)
    x = np.random.default_rng(1).standard_normal((3, 3, 4)).astype(np.float32)
    out = model(bg.tensor(x))
    assert_close([out["y"].numpy()], run_ort(_reshape_model(), {"x": x}))


def test_input_checks() -> None:
    model = bg.onnx.load(_reshape_model(), device=DEV)
    with pytest.raises(ShapeError, match="rank"):
        model(x=np.zeros((2, 12), np.float32))
    with pytest.raises(ShapeError, match="dim 2"):
        model(x=np.zeros((2, 3, 5), np.float32))
    with pytest.raises(DTypeError):
        model(x=np.zeros((2, 3, 4), np.int32))
    with pytest.raises(ArgumentError, match="unknown inputs"):
        model(z=np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ArgumentError, match="missing inputs"):  # only an optional-typed input may be left out
        model()
    assert model.input_names == ["x"] and model.output_names == ["y"]


def test_symbolic_dims_must_agree_across_inputs() -> None:
    g = helper.make_graph([helper.make_node("Add", ["a", "b"], ["y"])], "g",
                          [helper.make_tensor_value_info("a", TP.FLOAT, ["n"]),
                           helper.make_tensor_value_info("b", TP.FLOAT, ["n"])],
                          [helper.make_tensor_value_info("y", TP.FLOAT, ["n"])])
    model = bg.onnx.load(helper.make_model(g).SerializeToString(), device=DEV)
    with pytest.raises(ShapeError, match="'n'"):
        model(a=np.zeros(3, np.float32), b=np.zeros(4, np.float32))


def _body(name, nodes, inputs, outputs):
    return helper.make_graph(nodes, name, inputs, outputs)


def test_if_loop_scan_match_onnxruntime() -> None:
    f = TP.FLOAT
    vi = helper.make_tensor_value_info
    then_g = _body("then", [helper.make_node("Add", ["x", "x"], ["t"])], [], [vi("t", f, None)])
    else_g = _body("else", [helper.make_node("Neg", ["x"], ["e"])], [], [vi("e", f, None)])
    # loop body: (i, cond, acc) -> (cond, acc + x * i, scan acc)
    loop_g = _body("loop", [helper.make_node("Cast", ["i"], ["fi"], to=TP.FLOAT),
                            helper.make_node("Mul", ["x", "fi"], ["xi"]),
                            helper.make_node("Add", ["acc", "xi"], ["acc2"]),
                            helper.make_node("Identity", ["cond"], ["cond2"]),
                            helper.make_node("Identity", ["acc2"], ["scan"])],
                   [vi("i", TP.INT64, []), vi("cond", TP.BOOL, []), vi("acc", f, None)],
                   [vi("cond2", TP.BOOL, []), vi("acc2", f, None), vi("scan", f, None)])
    # scan body: running sum of rows, and each row doubled
    scan_g = _body("scan", [helper.make_node("Add", ["s", "row"], ["s2"]),
                            helper.make_node("Add", ["row", "row"], ["r2"])],
                   [vi("s", f, [4]), vi("row", f, [4])], [vi("s2", f, [4]), vi("r2", f, [4])])
    nodes = [helper.make_node("If", ["c"], ["yif"], then_branch=then_g, else_branch=else_g),
             helper.make_node("Loop", ["n", "", "x"], ["yloop", "yscan"], body=loop_g),
             helper.make_node("Scan", ["x", "m"], ["ssum", "srows"], body=scan_g, num_scan_inputs=1,
                              scan_input_directions=[1])]
    g = helper.make_graph(nodes, "g", [vi("x", f, [4]), vi("c", TP.BOOL, []), vi("n", TP.INT64, []),
                                       vi("m", f, [3, 4])],
                          [vi(o, f, None) for o in ["yif", "yloop", "yscan", "ssum", "srows"]])
    data = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    model = bg.onnx.load(data, device=DEV)
    rng = np.random.default_rng(3)
    for cond in (True, False):
        feeds = {"x": rng.standard_normal(4).astype(np.float32), "c": np.array(cond), "n": np.array(3, np.int64),
                 "m": rng.standard_normal((3, 4)).astype(np.float32)}
        ours = [v.numpy() for v in model(**feeds).values()]
        assert_close(ours, run_ort(data, feeds), what=f"cond={cond}")


def test_model_local_function() -> None:
    vi = helper.make_tensor_value_info
    fn = helper.make_function("local", "ScaledAdd", ["a", "b"], ["c"],
                              [helper.make_node("Add", ["a", "b"], ["s"]),
                               helper.make_node("Mul", ["s", "a"], ["c"])], [helper.make_opsetid("", 17)])
    g = helper.make_graph([helper.make_node("ScaledAdd", ["x", "y"], ["z"], domain="local")], "g",
                          [vi("x", TP.FLOAT, [3]), vi("y", TP.FLOAT, [3])], [vi("z", TP.FLOAT, [3])])
    data = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local", 1)],
                             functions=[fn]).SerializeToString()
    feeds = {"x": np.array([1, 2, 3], np.float32), "y": np.array([0.5, -1, 2], np.float32)}
    assert_close([bg.onnx.load(data, device=DEV)(**feeds)["z"].numpy()], run_ort(data, feeds))


def test_long_chain_plans_without_recursion() -> None:
    """A 3,000-node chain: topological order and folding are iterative, so Python's recursion limit never hits."""
    vi = helper.make_tensor_value_info
    nodes = [helper.make_node("Neg", [f"v{i}"], [f"v{i + 1}"]) for i in range(3000)]
    g = helper.make_graph(nodes[::-1], "g", [vi("v0", TP.FLOAT, [4])], [vi("v3000", TP.FLOAT, [4])])
    model = bg.onnx.load(helper.make_model(g).SerializeToString(), device="PYTHON")
    assert [n.outputs[0] for n in model.nodes_in_order][:2] == ["v1", "v2"]


def test_import_baregrad_does_not_load_onnx() -> None:
    code = "import sys, baregrad as bg; assert 'baregrad.onnx' not in sys.modules; bg.onnx.load; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert out.stdout.strip() == "ok", out.stderr


def test_jit_replays_a_graph_reading_shapes_from_initializers(monkeypatch) -> None:
    """A Reshape whose shape is an initializer reads it on the host: the read must not make the jit give up and
    rebuild the graph on every call (small initializers keep a host copy)."""
    g = helper.make_graph([helper.make_node("Reshape", ["x", "shape"], ["r"]), helper.make_node("Relu", ["r"], ["y"])],
                          "g", [helper.make_tensor_value_info("x", TP.FLOAT, [2, 3, 4])],
                          [helper.make_tensor_value_info("y", TP.FLOAT, [6, 4])], [_i64("shape", [6, 4])])
    data = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    model = bg.onnx.load(data, device=DEV, jit=True)
    import baregrad.onnx.runner as runner
    builds = []
    real = runner.run_graph
    monkeypatch.setattr(runner, "run_graph", lambda *a, **k: builds.append(1) or real(*a, **k))
    for i in range(4):
        x = np.random.default_rng(i).standard_normal((2, 3, 4)).astype(np.float32)
        assert_close([model(x=x)["y"].numpy()], run_ort(data, {"x": x}), what=f"call {i}")
    assert len(builds) <= 2, f"the graph was rebuilt on {len(builds)} of 4 calls: the jit did not replay"
