"""torch-style free functions: torch.NAME(input, *args) is input.NAME(*args) for every method listed here, plus
the functions that take several tensors (einsum, meshgrid, broadcast_tensors, triu_indices, ...).

`baregrad/__init__.py` exports them. Names of Python builtins (abs, sum, max, ...) are left out on purpose, so
the package namespace never shadows a builtin that its own code calls.
"""
from __future__ import annotations

from typing import Any, Callable

from baregrad.tensor_ops import linalg as _linalg
from baregrad.tensor_ops.movement import (
    broadcast_shapes,
    broadcast_tensors,
    meshgrid,
    one_hot,
    tril_indices,
    triu_indices,
)

METHOD_FUNCTIONS = (
    # math
    "exp", "exp2", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "erf",
    "sigmoid", "atan", "asin", "acos", "atan2", "arctan", "arcsin", "arccos", "arctan2", "sinh", "cosh", "asinh",
    "acosh", "atanh", "arcsinh", "arccosh", "arctanh", "hypot", "logaddexp", "logaddexp2", "logit", "xlogy", "sinc",
    "deg2rad", "rad2deg", "copysign", "heaviside", "signbit", "floor_divide", "remainder", "fmod", "clamp", "clip",
    "clamp_min", "clamp_max", "sign", "floor", "ceil", "trunc", "frac", "square", "reciprocal", "neg", "lerp",
    "isnan", "isinf", "isfinite", "nan_to_num", "isclose", "allclose", "equal", "float_power",
    # reductions
    "mean", "prod", "amax", "amin", "argmax", "argmin", "aminmax", "count_nonzero", "nansum", "nanmean", "std",
    "var", "std_mean", "var_mean", "logsumexp", "cumsum", "cumprod", "cummax", "cummin", "bincount", "softmax",
    "log_softmax",
    # sorting
    "sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "unique",
    # shape
    "reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "permute", "transpose", "swapaxes", "movedim",
    "moveaxis", "flip", "roll", "tile", "diff", "split", "chunk", "unbind", "narrow", "repeat_interleave",
    "broadcast_to",
    # indexing
    "gather", "scatter", "scatter_add", "index_select", "index_add", "take_along_dim", "nonzero", "masked_fill",
    # linear algebra
    "dot", "mm", "bmm", "outer", "ger", "inner", "tril", "triu", "diag", "diag_embed", "diagonal", "trace", "norm",
    "cross", "addmm", "baddbmm", "addmv", "addr",
    # logic
    "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_not",
)


def as_function(name: str) -> Callable:
    def fn(input: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A002 - torch's argument name
        return getattr(input, name)(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"torch.{name}(input, ...): the same as input.{name}(...)."
    return fn


def tensor_functions() -> dict[str, Callable]:
    """Every free function to export from the package, by name."""
    out = {name: as_function(name) for name in METHOD_FUNCTIONS}
    out.update(einsum=_linalg.einsum, meshgrid=meshgrid, broadcast_tensors=broadcast_tensors,
               broadcast_shapes=broadcast_shapes, tril_indices=tril_indices, triu_indices=triu_indices)
    return out


class LinalgNamespace:
    """baregrad.linalg: the torch.linalg functions baregrad has."""
    vector_norm = staticmethod(_linalg.vector_norm)
    norm = staticmethod(_linalg.norm)
    cross = staticmethod(_linalg.cross)
    matmul = staticmethod(lambda a, b: a.matmul(b))
    diagonal = staticmethod(lambda a, offset=0, dim1=-2, dim2=-1: a.diagonal(offset, dim1, dim2))
    vecdot = staticmethod(lambda a, b, dim=-1: (a * b).sum(dim))


linalg = LinalgNamespace()

__all__ = ["tensor_functions", "linalg", "one_hot", "METHOD_FUNCTIONS"]
