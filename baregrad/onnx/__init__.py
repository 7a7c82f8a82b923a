"""ONNX frontend: read a .onnx file with our own protobuf parser and run its graph as lazy baregrad ops.

`bg.onnx.load(path)` returns a callable model; the reader lives in `wire.py`/`model.py`, the graph runner in
`runner.py`, and one implementation per ONNX operator in `ops/` (registered by op type and domain).
"""
