"""The quantized operators and the com.microsoft contrib operators, each against onnxruntime on random inputs
(integer results compared exactly)."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from tests.onnx.onnx_cases import assert_close, one_node_model, run_ort, run_ours

MS = "com.microsoft"
DEVICES = ["CPU"]  # the ops are compositions of Tensor ops, which the op suite checks on every device


def _u8(rng, *shape):
    return rng.integers(0, 256, shape).astype(np.uint8)


def _i8(rng, *shape):
    return rng.integers(-128, 128, shape).astype(np.int8)


def _f(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def _case(name, rng):
    """(model bytes, feeds) for each case name."""
    s = np.float32
    if name == "quantize_per_tensor":
        x = _f(rng, 3, 4, scale=3)
        # exact halves check round-half-to-even
        x[0, :4] = [0.5, 1.5, 2.5, -0.5]
        return one_node_model("QuantizeLinear", {"x": x}, initializers={"s": np.array(0.5, s) * 2,
                                                                          "z": np.array(3, np.uint8)}), {"x": x}
    if name == "quantize_per_axis_int8":
        x = _f(rng, 2, 3, 4, scale=50)
        return one_node_model("QuantizeLinear", {"x": x}, axis=1,
                              initializers={"s": np.array([0.1, 0.3, 0.7], s),
                                            "z": np.array([-3, 0, 5], np.int8)}), {"x": x}
    if name == "quantize_blocked":
        x = _f(rng, 3, 8, scale=5)
        return one_node_model("QuantizeLinear", {"x": x}, axis=1, block_size=4,
                              initializers={"s": np.abs(_f(rng, 3, 2)) + 0.1,
                                            "z": _i8(rng, 3, 2)}), {"x": x}
    if name == "dequantize_per_axis":
        x = _u8(rng, 2, 3, 4)
        return one_node_model("DequantizeLinear", {"x": x}, axis=1,
                              initializers={"s": np.array([0.1, 0.3, 0.7], s),
                                            "z": np.array([3, 128, 255], np.uint8)}), {"x": x}
    if name == "dequantize_int32":
        x = rng.integers(-10**6, 10**6, (5,)).astype(np.int32)
        return one_node_model("DequantizeLinear", {"x": x}, initializers={"s": np.array(0.01, s)}), {"x": x}
    if name == "dynamic_quantize":
        x = _f(rng, 4, 6, scale=3)
        return one_node_model("DynamicQuantizeLinear", {"x": x}, n_outputs=3), {"x": x}
    if name == "matmul_integer":
        a, b = _u8(rng, 2, 3, 5), _i8(rng, 5, 4)
        return one_node_model("MatMulInteger", {"a": a, "b": b},
                              initializers={"az": np.array(7, np.uint8), "bz": _i8(rng, 4)}), {"a": a, "b": b}
    if name == "qlinear_matmul":
        a, b = _u8(rng, 3, 6), _u8(rng, 6, 5)
        inits = {}
        feeds = {"a": a}
        model = one_node_model("QLinearMatMul", {"a": a, "as": np.array(0.02, s), "az": np.array(120, np.uint8),
                                                 "b": b, "bs": np.array(0.03, s), "bz": np.array(100, np.uint8),
                                                 "ys": np.array(0.5, s), "yz": np.array(128, np.uint8)},
                               initializers=inits)
        feeds.update({"as": np.array(0.02, s), "az": np.array(120, np.uint8), "b": b, "bs": np.array(0.03, s),
                      "bz": np.array(100, np.uint8), "ys": np.array(0.5, s), "yz": np.array(128, np.uint8)})
        return model, feeds
    if name == "conv_integer":
        x, w = _u8(rng, 1, 2, 6, 6), _u8(rng, 3, 2, 3, 3)
        return one_node_model("ConvInteger", {"x": x, "w": w}, pads=[1, 0, 0, 1], strides=[2, 1],
                              initializers={"xz": np.array(9, np.uint8)}), {"x": x, "w": w}
    if name == "qlinear_conv":
        x, w = _u8(rng, 1, 4, 7, 7), _i8(rng, 6, 2, 3, 3)
        model = one_node_model("QLinearConv", {"x": x}, group=2, pads=[1, 1, 1, 1], initializers={
            "xs": np.array(0.05, s), "xz": np.array(128, np.uint8), "w": w,
            "ws": (np.abs(_f(rng, 6)) * 0.01 + 0.01).astype(s), "wz": np.zeros(6, np.int8),
            "ys": np.array(0.2, s), "yz": np.array(60, np.uint8), "b": rng.integers(-200, 200, 6).astype(np.int32)})
        return model, {"x": x}
    if name == "matmul_integer_to_float":
        a, b = _u8(rng, 2, 4, 8), _i8(rng, 8, 6)
        return one_node_model("MatMulIntegerToFloat", {"a": a, "b": b}, domain=MS, initializers={
            "as": np.array(0.03, s), "bs": (np.abs(_f(rng, 6)) * 0.01).astype(s), "az": np.array(3, np.uint8),
            "bz": np.zeros(6, np.int8), "bias": _f(rng, 6)}), {"a": a, "b": b}
    if name == "dynamic_quantize_matmul":
        a = _f(rng, 3, 8)
        return one_node_model("DynamicQuantizeMatMul", {"a": a}, domain=MS, initializers={
            "b": _i8(rng, 8, 5), "bs": np.array(0.02, s), "bz": np.array(0, np.int8), "bias": _f(rng, 5)}), {"a": a}
    if name == "gelu":
        x = _f(rng, 3, 7, scale=2)
        return one_node_model("Gelu", {"x": x}, domain=MS), {"x": x}
    if name == "bias_gelu":
        x = _f(rng, 3, 7, scale=2)
        return one_node_model("BiasGelu", {"x": x}, domain=MS, initializers={"b": _f(rng, 7)}), {"x": x}
    if name == "fast_gelu":
        x = _f(rng, 3, 7, scale=2)
        return one_node_model("FastGelu", {"x": x}, domain=MS, initializers={"b": _f(rng, 7)}), {"x": x}
    if name == "quick_gelu":
        x = _f(rng, 3, 7, scale=2)
        return one_node_model("QuickGelu", {"x": x}, domain=MS, alpha=1.5), {"x": x}
    if name == "skip_layer_norm":
        x, skip = _f(rng, 2, 3, 8), _f(rng, 2, 3, 8)
        return one_node_model("SkipLayerNormalization", {"x": x, "skip": skip}, n_outputs=1, domain=MS,
                              epsilon=1e-5, initializers={"g": _f(rng, 8), "b": _f(rng, 8), "bias": _f(rng, 8)}), \
            {"x": x, "skip": skip}
    if name == "fused_matmul":
        a, b = _f(rng, 2, 5, 3), _f(rng, 2, 4, 5)
        return one_node_model("FusedMatMul", {"a": a, "b": b}, domain=MS, alpha=0.5, transA=1, transB=1), \
            {"a": a, "b": b}
    if name == "attention_masked":
        x = _f(rng, 2, 5, 8)
        mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], np.int32)
        model = one_node_model("Attention", {"x": x}, domain=MS, num_heads=2, initializers={
            "w": _f(rng, 8, 24, scale=0.3), "b": _f(rng, 24), "mask": mask})
        return model, {"x": x}
    raise KeyError(name)


CASES = ["quantize_per_tensor", "quantize_per_axis_int8", "quantize_blocked", "dequantize_per_axis",
         "dequantize_int32", "dynamic_quantize", "matmul_integer", "qlinear_matmul", "conv_integer", "qlinear_conv",
         "matmul_integer_to_float", "dynamic_quantize_matmul", "gelu", "bias_gelu", "fast_gelu", "quick_gelu",
         "skip_layer_norm", "fused_matmul", "attention_masked"]


@pytest.mark.parametrize("dev", DEVICES)
@pytest.mark.parametrize("name", CASES)
def test_op_matches_onnxruntime(name: str, dev: str) -> None:
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    model, feeds = _case(name, rng)
    ref = run_ort(model, feeds)
    ours = run_ours(model, feeds, dev)
    assert_close(ours, ref, what=name)
