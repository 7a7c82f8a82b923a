"""The ONNX operator table: `register` puts an implementation under (domain, op type); the runner asks `lookup`.

An implementation takes the node's context, its inputs (a Tensor, a list of Tensors for an ONNX sequence, or None
for an absent optional input) and its attributes as Python values, and returns its outputs: one value or a
sequence of them, in the node's output order (None for an optional output it does not produce).
Importing this package loads every op module so the table is complete.
"""
from __future__ import annotations

from baregrad.onnx.ops.registry import OpContext, OpImpl, lookup, register, registered_ops

__all__ = ["OpContext", "OpImpl", "lookup", "register", "registered_ops"]
