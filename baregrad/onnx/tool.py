"""What `baregrad onnx MODEL.onnx` does: describe a model (inputs, outputs, op counts), run it on .npy inputs and
write its outputs, and time it beside onnxruntime when that is installed."""
from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from baregrad.errors import ArgumentError
from baregrad.onnx.model import Model, TypeInfo, ValueInfo, read_model, type_name


def _type_text(t: TypeInfo | None) -> str:
    if t is None:
        return "?"
    if t.kind in ("sequence", "optional"):
        return f"{t.kind}<{_type_text(t.elem)}>"
    shape = "?" if t.shape is None else "[" + ", ".join("?" if d is None else str(d) for d in t.shape) + "]"
    return f"{type_name(t.elem_type)}{shape}"


def describe(model: Model, out: TextIO) -> None:
    """Inputs, outputs, opsets and how many nodes of each op type (subgraphs included)."""
    g = model.graph
    inits = set(g.initializers) | set(g.sparse_initializers)
    opsets = ", ".join(f"{d or 'ai.onnx'} {v}" for d, v in sorted(model.opset_imports.items()))
    print(f"producer: {model.producer_name} {model.producer_version}  ir {model.ir_version}  opsets: {opsets}",
          file=out)
    print("inputs:", file=out)
    for v in g.inputs:
        if v.name not in inits:
            print(f"  {v.name}: {_type_text(v.type)}", file=out)
    print("outputs:", file=out)
    for v in g.outputs:
        print(f"  {v.name}: {_type_text(v.type)}", file=out)
    counts = op_counts(model)
    total = sum(counts.values())
    print(f"ops ({total} nodes, {len(g.initializers) + len(g.sparse_initializers)} initializers):", file=out)
    for (domain, op), n in counts.most_common():
        print(f"  {n:6d}  {op}" + (f" ({domain})" if domain else ""), file=out)


def op_counts(model: Model) -> Counter:
    """(domain, op type) -> node count over the graph and every subgraph (iterative walk)."""
    from baregrad.onnx.model import Graph
    counts: Counter = Counter()
    stack = [model.graph]
    while stack:
        g = stack.pop()
        for n in g.nodes:
            counts[(n.domain, n.op_type)] += 1
            for v in n.attributes.values():
                stack.extend(x for x in (v if isinstance(v, list) else [v]) if isinstance(x, Graph))
    return counts


def parse_inputs(specs: Sequence[str]) -> dict[str, Any]:
    """name=file.npy pairs as {name: array} (numpy loads with allow_pickle=False)."""
    import numpy as np
    feeds = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ArgumentError(f"--input takes name=file.npy, got {spec!r}")
        feeds[name] = np.load(path, allow_pickle=False)
    return feeds


def random_inputs(inputs: list[ValueInfo], dims: dict[str, int], seed: int = 0) -> dict[str, Any]:
    """Inputs of the declared shapes (named dims from `dims`, else 1) with values that suit each dtype."""
    import numpy as np

    from baregrad.onnx.model import dtype_of
    rng = np.random.default_rng(seed)
    feeds = {}
    for v in inputs:
        if v.type is None or v.type.kind != "tensor" or v.type.shape is None:
            raise ArgumentError(f"input '{v.name}' has no tensor shape; pass it with --input")
        shape = tuple(d if isinstance(d, int) else dims.get(d, 1) if isinstance(d, str) else 1 for d in v.type.shape)
        d = dtype_of(v.type.elem_type)
        if d.is_float:
            feeds[v.name] = rng.standard_normal(shape).astype(d.name if d.name != "bfloat16" else "float32")
        elif d.name == "bool":
            feeds[v.name] = np.ones(shape, bool)
        else:
            feeds[v.name] = rng.integers(0, 2, shape).astype(d.name)
    return feeds


def write_outputs(outputs: dict[str, Any], folder: str, out: TextIO) -> None:
    import numpy as np
    os.makedirs(folder, exist_ok=True)
    for name, value in outputs.items():
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "output"
        path = os.path.join(folder, f"{safe}.npy")
        if isinstance(value, list):
            value = np.stack([v.numpy() for v in value]) if value else np.zeros(0)
        np.save(path, value.numpy() if value is not None else np.zeros(0))
        print(f"wrote {path}", file=out)


@dataclass
class Timing:
    median_ms: float
    best_ms: float


def time_calls(fn: Callable[[], Any], repeat: int, warmup: int = 2) -> Timing:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return Timing(statistics.median(times), min(times))


def onnxruntime_session(path: str, threads: int) -> Any:
    """An onnxruntime CPU session with `threads` intra-op threads, or None when onnxruntime is not installed."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3  # errors only: its graph-cleanup warnings would bury the timings
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def run_tool(path: str, input_specs: Sequence[str], out_dir: str | None, bench: bool, device: str | None,
             threads: int, repeat: int, dims: dict[str, int], out: TextIO) -> int:
    from baregrad.onnx import load
    from baregrad.tensor import Tensor, realize_all
    model = read_model(path)
    describe(model, out)
    if not input_specs and not bench:
        return 0
    runner = load(model, device=device, jit=bench)
    feeds = parse_inputs(input_specs) if input_specs else random_inputs(runner.inputs, dims)
    if input_specs:
        outputs = runner(**feeds)
        write_outputs(outputs, out_dir or os.path.dirname(os.path.abspath(path)), out)
    if bench:
        def ours() -> None:
            result = runner(**feeds)
            realize_all([v for v in result.values() if isinstance(v, Tensor)])
            for v in result.values():
                if isinstance(v, Tensor):
                    v.to_bytes()  # wait for the device
        mine = time_calls(ours, repeat)
        print(f"baregrad ({runner.device}): median {mine.median_ms:.2f} ms, best {mine.best_ms:.2f} ms", file=out)
        session = onnxruntime_session(path, threads)
        if session is None:
            print("onnxruntime: not installed", file=out)
        else:
            theirs = time_calls(lambda: session.run(None, feeds), repeat)
            print(f"onnxruntime (CPU, {threads} threads): median {theirs.median_ms:.2f} ms, best "
                  f"{theirs.best_ms:.2f} ms", file=out)
            print(f"speed vs onnxruntime: {theirs.median_ms / mine.median_ms:.2f}x (above 1 is faster)", file=out)
    return 0
