"""ONNX linear algebra: MatMul, Gemm, Einsum, Det."""
from __future__ import annotations

from typing import Any

import baregrad.dtype as dt
from baregrad.onnx.ops.common import input_at, matmul_rounded_once, wide
from baregrad.onnx.ops.registry import OpContext, register
from baregrad.tensor import Tensor
from baregrad.tensor_ops.linalg import einsum as tensor_einsum


@register("MatMul")
def matmul(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    a, b = inputs
    return matmul_rounded_once(a, b)


@register("Gemm")
def gemm(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    a, b, c = inputs[0], inputs[1], input_at(inputs, 2)
    if attrs.get("transA", 0):
        a = a.T
    if attrs.get("transB", 0):
        b = b.T
    out = wide(a) @ wide(b)
    alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
    if alpha != 1.0:
        out = out * alpha
    if c is not None:
        out = out + (wide(c) * beta if beta != 1.0 else wide(c))
    return out.cast(inputs[0].dtype)


@register("Einsum")
def einsum(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    equation = attrs["equation"].replace(" ", "")
    return tensor_einsum(equation, *[wide(x) for x in inputs]).cast(inputs[0].dtype)


@register("Det")
def det(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    """Gaussian elimination with partial pivoting, unrolled over the (small, static) matrix size."""
    x = inputs[0]
    n = x.shape[-1]
    a = x.double() if x.dtype is dt.float64 else x.float()
    rows = [a[..., i, :] for i in range(n)]
    result = Tensor.ones(*x.shape[:-2], dtype=a.dtype, device=x.device)
    for col in range(n):
        # pick the row with the largest |pivot| among col..n-1 by a running where-swap
        for r in range(col + 1, n):
            swap = rows[r][..., col].abs() > rows[col][..., col].abs()
            s = swap.unsqueeze(-1)
            rows[col], rows[r] = s.where(rows[r], rows[col]), s.where(rows[col], rows[r])
            result = swap.where(-result, result)
        pivot = rows[col][..., col]
        result = result * pivot
        safe = (pivot == 0).where(1.0, pivot).unsqueeze(-1)
        for r in range(col + 1, n):
            factor = rows[r][..., col].unsqueeze(-1) / safe
            rows[r] = rows[r] - factor * rows[col]
    return result.cast(x.dtype)
