"""Test-side stand-in for the ONNX reader: walks an `onnx` ModelProto and calls baregrad's registered ops.

It exists so the operator table can be checked against ONNX's node tests before `bg.onnx.load` lands; it uses the
`onnx` package (a test dependency) to decode attributes and tensors.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

import baregrad as bg
from baregrad.onnx.ops import OpContext, lookup


class ArrayAttr:
    """A TENSOR attribute, as the reader hands it to ops: `.to_tensor(device)` makes the baregrad tensor."""

    def __init__(self, array: np.ndarray):
        self.array = array

    def to_tensor(self, device: str) -> bg.Tensor:
        return to_baregrad(self.array, device)


def to_baregrad(value: Any, device: str) -> Any:
    """A numpy array (or list of them, or None) from a test case as what ops receive."""
    if value is None:
        return None
    if isinstance(value, list):
        return [to_baregrad(v, device) for v in value]
    array = np.asarray(value)
    if array.dtype == object or array.dtype.kind in "USc" or array.dtype.name.startswith(("float8", "int4", "uint4",
                                                                                           "float4", "int2", "uint2")):
        raise NotImplementedError(f"baregrad has no dtype for {array.dtype}")
    return bg.tensor(array.copy(order="C"), device=device)


def to_numpy(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [to_numpy(v) for v in value]
    array = value.numpy()
    if value.dtype is bg.bfloat16:
        import ml_dtypes
        array = array.astype(ml_dtypes.bfloat16)
    return array


def _attribute(attr: onnx.AttributeProto, device: str, fn_attrs: dict[str, Any]) -> Any:
    if attr.ref_attr_name:
        return fn_attrs.get(attr.ref_attr_name)
    if attr.type == onnx.AttributeProto.TENSOR:
        return ArrayAttr(numpy_helper.to_array(attr.t))
    if attr.type == onnx.AttributeProto.SPARSE_TENSOR:
        return ArrayAttr(_dense(attr.sparse_tensor))
    if attr.type == onnx.AttributeProto.TENSORS:
        return [ArrayAttr(numpy_helper.to_array(t)) for t in attr.tensors]
    value = helper.get_attribute_value(attr)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return [v.decode() for v in value]
    return value


def _dense(sparse: onnx.SparseTensorProto) -> np.ndarray:
    values = numpy_helper.to_array(sparse.values)
    indices = numpy_helper.to_array(sparse.indices)
    out = np.zeros(tuple(sparse.dims), dtype=values.dtype)
    if indices.ndim == 1:
        out.reshape(-1)[indices] = values
    else:
        out[tuple(indices.T)] = values
    return out


class Interpreter:
    """Runs one ModelProto's graph node by node on a device."""

    def __init__(self, model: onnx.ModelProto, device: str):
        self.device = device
        self.opsets = {(o.domain or ""): o.version for o in model.opset_import}
        self.functions = {(f.domain, f.name): f for f in model.functions}

    def run(self, graph: onnx.GraphProto, inputs: list[Any], outer: dict[str, Any] | None = None) -> list[Any]:
        env: dict[str, Any] = dict(outer or {})
        for init in graph.initializer:
            env[init.name] = to_baregrad(numpy_helper.to_array(init), self.device)
        for sparse in graph.sparse_initializer:
            env[sparse.values.name] = to_baregrad(_dense(sparse), self.device)
        for info, value in zip(graph.input, inputs):
            env[info.name] = value
        self._run_nodes(graph.node, env, {})
        return [env[o.name] for o in graph.output]

    def _run_nodes(self, nodes: Any, env: dict[str, Any], fn_attrs: dict[str, Any]) -> None:
        for node in nodes:
            inputs = [env[name] if name else None for name in node.input]
            attrs = {a.name: _attribute(a, self.device, fn_attrs) for a in node.attribute}
            attrs = {k: v for k, v in attrs.items() if v is not None}
            function = self.functions.get((node.domain, node.op_type))
            if function is not None:
                outputs = self._call_function(function, inputs, attrs, env)
            else:
                outputs = self._call_op(node, inputs, attrs, env)
            if not isinstance(outputs, (list, tuple)):
                outputs = [outputs]
            for name, value in zip(node.output, outputs):
                if name:
                    env[name] = value

    def _call_op(self, node: onnx.NodeProto, inputs: list[Any], attrs: dict[str, Any], env: dict[str, Any]) -> Any:
        domain = node.domain or ""
        opset = self.opsets.get(domain, self.opsets.get("ai.onnx", 1) if domain == "" else 1)

        def run_graph(graph: Any, values: Any) -> list[Any]:
            return self.run(graph, list(values), outer=env)

        ctx = OpContext(opset=opset, num_outputs=len(node.output), device=self.device, run_graph=run_graph,
                        node_name=node.name or node.op_type, output_used=[bool(o) for o in node.output])
        return lookup(node.op_type, domain)(ctx, inputs, attrs)

    def _call_function(self, function: onnx.FunctionProto, inputs: list[Any], attrs: dict[str, Any],
                       env: dict[str, Any]) -> list[Any]:
        scope: dict[str, Any] = {}
        for name, value in zip(function.input, inputs):
            scope[name] = value
        defaults = {a.name: _attribute(a, self.device, {}) for a in function.attribute_proto}
        self._run_nodes(function.node, scope, {**defaults, **attrs})
        return [scope[o] for o in function.output]


def run_model(model: onnx.ModelProto, inputs: list[Any], device: str) -> list[Any]:
    interp = Interpreter(model, device)
    values = [to_baregrad(v, device) for v in inputs]
    outs = interp.run(model.graph, values)
    return [to_numpy(o) for o in outs]
