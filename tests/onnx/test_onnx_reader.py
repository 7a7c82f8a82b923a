"""The reader against files written by the `onnx` package: every attribute kind, tensors in raw and typed fields
of every dtype, shapes with symbolic / -1 / unnamed dims, opsets, sparse initializers, subgraphs, functions."""
from __future__ import annotations

import numpy as np
import pytest

from baregrad.onnx.model import parse_model, parse_tensor, parse_value, read_model
from tests.onnx.onnx_cases import helper, numpy_helper, onnx

TYPED = {  # numpy dtype -> how onnx.helper.make_tensor stores it when raw=False
    np.float32: "float_data", np.float64: "double_data", np.int64: "int64_data", np.int32: "int32_data",
    np.int16: "int32_data", np.int8: "int32_data", np.uint8: "int32_data", np.uint16: "int32_data",
    np.bool_: "int32_data", np.float16: "int32_data", np.uint32: "uint64_data", np.uint64: "uint64_data",
}


def _values(dtype, rng, shape):
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("raw", [True, False], ids=["raw", "typed"])
@pytest.mark.parametrize("dtype", list(TYPED), ids=lambda d: np.dtype(d).name)
def test_tensor_round_trip(dtype, raw: bool) -> None:
    rng = np.random.default_rng(7)
    x = _values(dtype, rng, (2, 3))
    if raw:
        proto = numpy_helper.from_array(x, "t")
    else:
        onnx_type = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
        proto = helper.make_tensor("t", onnx_type, x.shape, x.reshape(-1).tolist())  # float16: stored as bits
        assert proto.raw_data == b""
    t = parse_tensor(proto.SerializeToString())
    assert t.name == "t" and t.dims == x.shape
    got = t.to_numpy()
    np.testing.assert_array_equal(got, x)
    np.testing.assert_array_equal(t.to_tensor("PYTHON").numpy(), x)


def test_scalar_and_empty_tensors() -> None:
    for x in (np.array(3.5, np.float32), np.zeros((0, 4), np.int64)):
        t = parse_tensor(numpy_helper.from_array(x, "t").SerializeToString())
        assert t.dims == x.shape
        np.testing.assert_array_equal(t.to_numpy(), x)


def test_string_tensor() -> None:
    proto = helper.make_tensor("s", onnx.TensorProto.STRING, (2,), [b"ab", "cé".encode()])
    t = parse_tensor(proto.SerializeToString())
    assert t.strings == [b"ab", "cé".encode()]


def _model_with_everything() -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    then_g = helper.make_graph([helper.make_node("Identity", ["x"], ["t"])], "then", [],
                               [helper.make_tensor_value_info("t", onnx.TensorProto.FLOAT, None)])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [],
                               [helper.make_tensor_value_info("e", onnx.TensorProto.FLOAT, None)])
    w = rng.standard_normal((3, 4)).astype(np.float32)
    attrs_node = helper.make_node(
        "Custom", ["x"], ["z"], domain="my.domain", name="everything",
        f=1.25, i=-7, s="héllo", t=numpy_helper.from_array(w, "tw"), g=then_g,
        floats=[1.0, -2.5], ints=[1, -2, 1 << 40], strings=["a", "b"],
        tensors=[numpy_helper.from_array(w[0], "a"), numpy_helper.from_array(np.arange(3), "b")],
        graphs=[then_g, else_g])
    if_node = helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)
    sparse = helper.make_sparse_tensor(numpy_helper.from_array(np.array([5.0, 6.0], np.float32), "sp"),
                                       numpy_helper.from_array(np.array([1, 7], np.int64), "spi"), [2, 4])
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 4])
    x.type.tensor_type.shape.dim.add()  # an unnamed dim (neither value nor param)
    x.type.tensor_type.shape.dim.add().dim_value = -1
    c = helper.make_tensor_value_info("c", onnx.TensorProto.BOOL, [])
    seq = helper.make_tensor_sequence_value_info("q", onnx.TensorProto.INT64, ["n"])
    graph = helper.make_graph([attrs_node, if_node], "main", [x, c, seq],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(w, "w")], sparse_initializer=[sparse])
    func = helper.make_function("my.funcs", "Double", ["a"], ["b"], [helper.make_node("Add", ["a", "a"], ["b"])],
                                [helper.make_opsetid("", 17)])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("my.domain", 2)],
                          producer_name="tests", functions=[func])
    helper.set_model_props(m, {"author": "us"})
    return m


def test_model_graph_node_and_every_attribute_kind() -> None:
    m = parse_model(_model_with_everything().SerializeToString())
    assert m.opset_imports == {"": 17, "my.domain": 2}
    assert m.producer_name == "tests" and m.metadata == {"author": "us"}
    g = m.graph
    assert g.name == "main" and [n.op_type for n in g.nodes] == ["Custom", "If"]
    node = g.nodes[0]
    assert node.domain == "my.domain" and node.name == "everything"
    a = node.attributes
    assert a["f"] == 1.25 and a["i"] == -7 and a["s"] == "héllo"
    assert a["floats"] == [1.0, -2.5] and a["ints"] == [1, -2, 1 << 40] and a["strings"] == ["a", "b"]
    w = numpy_helper.to_array(_model_with_everything().graph.initializer[0])
    np.testing.assert_array_equal(a["t"].to_numpy(), w)
    np.testing.assert_array_equal(a["tensors"][1].to_numpy(), np.arange(3))
    assert a["g"].name == "then" and [gr.name for gr in a["graphs"]] == ["then", "else"]
    assert g.nodes[1].attributes["else_branch"].nodes[0].op_type == "Neg"
    x, c, q = g.inputs
    assert x.type.shape == ("batch", 4, None, None) and x.type.elem_type == 1
    assert c.type.shape == ()
    assert q.type.kind == "sequence" and q.type.elem.shape == ("n",)
    np.testing.assert_array_equal(g.initializers["w"].to_numpy(), w)
    dense = g.sparse_initializers["sp"].to_dense().to_numpy()
    expect = np.zeros(8, np.float32)
    expect[[1, 7]] = [5, 6]
    np.testing.assert_array_equal(dense, expect.reshape(2, 4))
    fn = m.functions[("my.funcs", "Double")]
    assert fn.inputs == ["a"] and fn.outputs == ["b"] and fn.nodes[0].op_type == "Add"


def test_external_data_written_by_onnx(tmp_path) -> None:
    from onnx.external_data_helper import convert_model_to_external_data
    m = _model_with_everything()
    convert_model_to_external_data(m, all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    onnx.save_model(m, tmp_path / "m.onnx")
    ours = read_model(tmp_path / "m.onnx")
    np.testing.assert_array_equal(ours.graph.initializers["w"].to_numpy(),
                                  numpy_helper.to_array(_model_with_everything().graph.initializer[0]))


def test_sequence_and_optional_files() -> None:
    from onnx import numpy_helper as nh
    xs = [np.arange(3, dtype=np.float32), np.ones((2, 2), np.int64)]
    seq = parse_value(nh.from_list(xs).SerializeToString(), "sequence")
    for got, want in zip(seq, xs):
        np.testing.assert_array_equal(got.to_numpy(), want)
    assert parse_value(nh.from_optional(None).SerializeToString(), "optional") is None
    np.testing.assert_array_equal(parse_value(nh.from_optional(xs[0]).SerializeToString(), "optional").to_numpy(),
                                  xs[0])


def test_light_models_parse_like_onnx() -> None:
    import glob
    import os
    folder = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
    paths = sorted(glob.glob(os.path.join(folder, "light_*.onnx")))
    assert len(paths) == 9, f"expected the 9 light models in {folder}"
    for path in paths[:3]:
        ref = onnx.load(path)
        ours = read_model(path)
        assert [n.op_type for n in ours.graph.nodes] == [n.op_type for n in ref.graph.node]
        for init in ref.graph.initializer[:5]:
            np.testing.assert_array_equal(ours.graph.initializers[init.name].to_numpy(), numpy_helper.to_array(init))
