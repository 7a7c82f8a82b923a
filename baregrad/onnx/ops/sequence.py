"""ONNX sequences and optionals: a sequence is a Python list of Tensors, an empty optional is None.

An op whose single output is a sequence returns it wrapped in a 1-tuple, so the runner never mistakes the list
for several outputs.
"""
from __future__ import annotations

from typing import Any

import baregrad.dtype as dt
from baregrad.onnx.ops.common import host_ints, host_scalar, input_at, norm_axis
from baregrad.onnx.ops.registry import OpContext, register
from baregrad.tensor import Tensor


def _position(pos: Tensor | None, length: int, default: int) -> int:
    p = default if pos is None else int(host_scalar(pos))
    return p + length if p < 0 else p


@register("SequenceConstruct")
def sequence_construct(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> tuple:
    return (list(inputs),)


@register("SequenceEmpty")
def sequence_empty(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> tuple:
    return ([],)


@register("SequenceInsert")
def sequence_insert(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> tuple:
    seq, value, pos = list(inputs[0]), inputs[1], input_at(inputs, 2)
    seq.insert(_position(pos, len(seq), len(seq)), value)
    return (seq,)


@register("SequenceAt")
def sequence_at(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    seq = inputs[0]
    return seq[_position(inputs[1], len(seq), 0)]


@register("SequenceErase")
def sequence_erase(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> tuple:
    seq = list(inputs[0])
    del seq[_position(input_at(inputs, 1), len(seq), len(seq) - 1)]
    return (seq,)


@register("SequenceLength")
def sequence_length(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    return Tensor.full((), len(inputs[0]), dtype=dt.int64, device=ctx.device)


@register("SplitToSequence")
def split_to_sequence(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> tuple:
    x, split = inputs[0], input_at(inputs, 1)
    axis = norm_axis(attrs.get("axis", 0), x.ndim)
    n = x.shape[axis]
    if split is None:
        parts = [x.narrow(axis, i, 1) for i in range(n)]
        if not attrs.get("keepdims", 1):
            parts = [p.squeeze(axis) for p in parts]
        return (parts,)
    sizes = host_ints(split)
    if split.ndim == 0:
        sizes = [sizes[0]] * (n // sizes[0]) + ([n % sizes[0]] if n % sizes[0] else [])
    out, at = [], 0
    for s in sizes:
        out.append(x.narrow(axis, at, s))
        at += s
    return (out,)


@register("ConcatFromSequence")
def concat_from_sequence(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    seq = inputs[0]
    if attrs.get("new_axis", 0):
        axis = norm_axis(attrs["axis"], seq[0].ndim + 1)
        return Tensor.stack(seq, axis)
    axis = norm_axis(attrs["axis"], seq[0].ndim)
    return Tensor.cat(seq, axis) if len(seq) > 1 else seq[0] * 1


@register("SequenceMap")
def sequence_map(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> tuple:
    """Run the body once per element; extra inputs that are sequences are walked alongside, tensors are shared."""
    seq, extra = inputs[0], inputs[1:]
    results: list[list[Tensor]] = []
    for i, item in enumerate(seq):
        args = [item] + [e[i] if isinstance(e, list) else e for e in extra]
        outs = ctx.run_graph(attrs["body"], args)
        if not results:
            results = [[] for _ in outs]
        for acc, o in zip(results, outs):
            acc.append(o)
    if not results:
        results = [[] for _ in range(ctx.num_outputs)]
    return tuple(results)


@register("Optional")
def optional(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Any:
    value = input_at(inputs, 0)
    return (value,)


@register("OptionalHasElement")
def optional_has_element(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    value = input_at(inputs, 0)
    return Tensor.full((), value is not None, dtype=dt.bool_, device=ctx.device)


@register("OptionalGetElement")
def optional_get_element(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Any:
    return (inputs[0],)


