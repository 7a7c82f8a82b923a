"""ONNX frontend: read a .onnx file with our own protobuf parser and run its graph as lazy baregrad ops.

`bg.onnx.load(path)` returns a callable model; the reader lives in `wire.py`/`model.py`, the graph runner in
`runner.py`, and one implementation per ONNX operator in `ops/` (registered by op type and domain).
"""
from __future__ import annotations

import os
from typing import Any

from baregrad.onnx.model import Model, parse_model, read_model


def load(source: str | os.PathLike | bytes | bytearray | memoryview | Model, device: str | None = None,
         jit: bool = False) -> Any:
    """An OnnxModel from a file path, the bytes of a .onnx file, or a parsed Model. `device`: where it runs
    (default: the best device here); `jit=True`: replay the captured kernels on repeated calls at one shape.
    `outputs = model(**inputs)` returns {output name: Tensor | list of Tensors | None}."""
    from baregrad.onnx.runner import OnnxModel
    if isinstance(source, Model):
        model = source
    elif isinstance(source, (bytes, bytearray, memoryview)):
        model = parse_model(source)
    else:
        model = read_model(source)
    return OnnxModel(model, device=device, jit=jit)


__all__ = ["Model", "load", "parse_model", "read_model"]
