"""ONNX control flow: If, Loop and Scan, which run subgraph attributes through the runner (`ctx.run_graph`).

A condition or trip count is read on the host, so a graph with If/Loop is not replayable by `bg.jit` (the runner
falls back to a plain run). Loop and Scan realize their carried state once per iteration, so a long loop keeps
a bounded lazy graph instead of one that grows with the trip count.
"""
from __future__ import annotations

from typing import Any

from baregrad.errors import FormatError
from baregrad.onnx.ops.registry import OpContext, register


def _scalar(t: Any, what: str) -> Any:
    if t.numel() != 1:
        raise FormatError(f"{what} must hold one value, got shape {tuple(t.shape)}")
    return t.reshape(()).item()


def _realize(values: list) -> None:
    from baregrad.tensor import Tensor, realize_all
    flat: list = []
    for v in values:
        if isinstance(v, Tensor):
            flat.append(v)
        elif isinstance(v, list):
            flat.extend(x for x in v if isinstance(x, Tensor))
    realize_all(flat)


@register("If")
def if_op(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    branch = attrs["then_branch"] if _scalar(inputs[0], "If condition") else attrs["else_branch"]
    outs = ctx.run_graph(branch, [])
    return tuple(outs) if len(outs) != 1 else outs[0]


def _stack(items: list, like: Any) -> Any:
    from baregrad.tensor import Tensor
    if items:
        return Tensor.stack(items, 0)
    return like


@register("Loop")
def loop_op(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    from baregrad import dtype as dt
    from baregrad.tensor import Tensor
    body = attrs["body"]
    trip = inputs[0] if inputs else None
    cond = inputs[1] if len(inputs) > 1 else None
    state = list(inputs[2:])
    max_trips = int(_scalar(trip, "Loop trip count M")) if trip is not None else None
    keep_going = bool(_scalar(cond, "Loop condition")) if cond is not None else True
    n_scan = len(body.outputs) - 1 - len(state)
    if n_scan < 0:
        raise FormatError(f"Loop body has {len(body.outputs)} outputs for {len(state)} carried values")
    scans: list[list] = [[] for _ in range(n_scan)]
    cond_t = cond if cond is not None else Tensor(True, device=ctx.device)
    i = 0
    while keep_going and (max_trips is None or i < max_trips):
        it = Tensor(i, dtype=dt.int64, device=ctx.device)
        outs = ctx.run_graph(body, [it, cond_t] + state)
        cond_t, state, new_scans = outs[0], list(outs[1:1 + len(state)]), outs[1 + len(state):]
        for acc, v in zip(scans, new_scans):
            acc.append(v)
        _realize(state + list(new_scans))
        if cond is not None or cond_t is not None:
            keep_going = bool(_scalar(cond_t, "Loop body condition")) if cond_t is not None else True
        i += 1
    empty = Tensor.zeros(0, device=ctx.device)
    results = state + [_stack(acc, empty) for acc in scans]
    return tuple(results) if len(results) != 1 else results[0]


@register("Scan")
def scan_op(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    if ctx.opset < 9:
        return _scan8(ctx, inputs, attrs)
    body, n_in = attrs["body"], attrs["num_scan_inputs"]
    state, xs = list(inputs[:len(inputs) - n_in]), inputs[len(inputs) - n_in:]
    outs = _scan(ctx, body, state, xs, attrs)
    return tuple(outs) if len(outs) != 1 else outs[0]


def _scan(ctx: OpContext, body: Any, state: list, xs: list, attrs: dict) -> list:
    n_in = len(xs)
    in_axes = attrs.get("scan_input_axes") or [0] * n_in
    in_dirs = attrs.get("scan_input_directions") or [0] * n_in
    xs = [x.movedim(a % x.ndim, 0) for x, a in zip(xs, in_axes)]
    xs = [x.flip(0) if d else x for x, d in zip(xs, in_dirs)]
    steps = {x.shape[0] for x in xs}
    if len(steps) > 1:
        raise FormatError(f"Scan inputs have different lengths along their scan axes: {sorted(steps)}")
    n = steps.pop() if steps else 0
    n_out = len(body.outputs) - len(state)
    scans: list[list] = [[] for _ in range(n_out)]
    for i in range(n):
        outs = ctx.run_graph(body, state + [x[i] for x in xs])
        state = list(outs[:len(state)])
        for acc, v in zip(scans, outs[len(state):]):
            acc.append(v)
        _realize(state)
    out_axes = attrs.get("scan_output_axes") or [0] * n_out
    out_dirs = attrs.get("scan_output_directions") or [0] * n_out
    results = []
    from baregrad.tensor import Tensor
    for acc, axis, d in zip(scans, out_axes, out_dirs):
        if not acc:
            raise FormatError("Scan over zero steps: the scan outputs' shapes are unknown")
        y = Tensor.stack(acc[::-1] if d else acc, 0)
        results.append(y.movedim(0, axis % y.ndim))
    return state + results


def _scan8(ctx: OpContext, inputs: list, attrs: dict) -> Any:
    """Opset 8's Scan: a leading batch axis on every input, scan axis 1, optional per-batch sequence_lens."""
    from baregrad.tensor import Tensor
    lens, rest = inputs[0], inputs[1:]
    body, n_in = attrs["body"], attrs["num_scan_inputs"]
    state, xs = rest[:len(rest) - n_in], rest[len(rest) - n_in:]
    if lens is not None:
        raise FormatError("Scan (opset 8) with sequence_lens is not supported")
    dirs = attrs.get("directions") or [0] * n_in
    per_batch = []
    for b in range(xs[0].shape[0] if xs else state[0].shape[0]):
        outs = _scan(ctx, body, [s[b] for s in state], [x[b] for x in xs], {"scan_input_directions": dirs})
        per_batch.append(outs)
    results = [Tensor.stack([outs[j] for outs in per_batch], 0) for j in range(len(per_batch[0]))]
    return tuple(results) if len(results) != 1 else results[0]
