"""Fixture maker: copies of the light ImageNet models that ship in the `onnx` wheel, with seeded random weights.

The light models build every weight with ConstantOfShape (one value everywhere), so their stored outputs are a
uniform softmax that cannot tell a wrong conv from a right one. This script replaces each such weight with a
seeded random initializer of the same shape, scaled so activations stay in range (He-scaled conv/gemm weights,
batch-norm variances near 1), and writes `random_<name>.onnx`. The tests compare baregrad with onnxruntime on
these copies; nothing here is committed, the copies are made in the test's temporary folder (or any folder:
`python tests/onnx/make_random_weight_models.py OUT_DIR [names...]`).
"""
from __future__ import annotations

import math
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

LIGHT_DIR = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
LIGHT_MODELS = ["bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50", "shufflenet",
                "squeezenet", "vgg19", "zfnet512"]


def light_path(name: str) -> str:
    return os.path.join(LIGHT_DIR, f"light_{name}.onnx")


def _random_weight(shape: tuple[int, ...], consumer: onnx.NodeProto | None, slot: int,
                   rng: np.random.Generator) -> np.ndarray:
    op = consumer.op_type if consumer is not None else ""
    if op == "BatchNormalization" and slot in (1, 4):  # scale, variance
        return rng.uniform(0.5, 1.5, shape).astype(np.float32)
    if op == "BatchNormalization" or len(shape) <= 1:  # bias, mean, other vectors
        return (rng.standard_normal(shape) * 0.1).astype(np.float32)
    if op == "Gemm" and consumer is not None:
        trans_b = any(a.name == "transB" and a.i for a in consumer.attribute)
        fan_in = shape[1] if trans_b else shape[0]
    else:
        fan_in = math.prod(shape[1:])
    return (rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(np.float32)


def make_random_copy(name: str, out_dir: str, seed: int = 0) -> str:
    """Write random_<name>.onnx into out_dir (ConstantOfShape weights -> seeded random initializers)."""
    model = onnx.load(light_path(name))
    g = model.graph
    rng = np.random.default_rng(seed)
    inits = {i.name: i for i in g.initializer}
    consumers: dict[str, tuple[onnx.NodeProto, int]] = {}
    for node in g.node:
        for slot, i in enumerate(node.input):
            consumers.setdefault(i, (node, slot))
    keep, new_inits = [], []
    for node in g.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in inits:
            shape = tuple(int(d) for d in numpy_helper.to_array(inits[node.input[0]]))
            consumer, slot = consumers.get(node.output[0], (None, 0))
            new_inits.append(numpy_helper.from_array(_random_weight(shape, consumer, slot, rng), node.output[0]))
        else:
            keep.append(node)
    del g.node[:]
    g.node.extend(keep)
    used = {i for n in keep for i in n.input}
    kept_inits = [i for i in g.initializer if i.name in used]  # the shapes the ConstantOfShape nodes read
    dropped = {i.name for i in g.initializer} - {i.name for i in kept_inits}
    del g.initializer[:]
    g.initializer.extend(kept_inits + new_inits)
    graph_inputs = [i for i in g.input if i.name not in dropped]  # IR 3 files list initializers as inputs too
    del g.input[:]
    g.input.extend(graph_inputs)
    for vi in list(g.input) + list(g.output):  # a named batch dim, so batch 8 runs too
        if vi.name not in inits and vi.type.tensor_type.shape.dim:
            vi.type.tensor_type.shape.dim[0].dim_param = "N"
    del g.value_info[:]
    path = os.path.join(out_dir, f"random_{name}.onnx")
    onnx.save_model(model, path)
    return path


def light_input(model: onnx.ModelProto | str) -> tuple[str, np.ndarray]:
    """The input ONNX's backend test feeds the light models: arange(n) / n in the declared shape."""
    from baregrad.onnx.model import read_model
    m = read_model(model) if isinstance(model, str) else model
    inits = set(m.graph.initializers)
    (vi,) = [v for v in m.graph.inputs if v.name not in inits]
    shape = tuple(d if isinstance(d, int) else 1 for d in vi.type.shape)
    n = math.prod(shape)
    return vi.name, (np.arange(n).reshape(shape) / n).astype(np.float32)


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    for model_name in sys.argv[2:] or LIGHT_MODELS:
        print(make_random_copy(model_name, out))
