"""torch's free functions, from one table: `torch_functions(Tensor)` is every torch.NAME that baregrad has.

- METHOD_FUNCTIONS: torch.NAME(input, *args) is input.NAME(*args);
- BUILTIN_NAMES: the same for the names of Python builtins (abs, sum, max, ...): exported as package attributes
  but left out of __all__, so `from baregrad import *` keeps the builtins;
- CONSTRUCTORS: Tensor's static constructors (zeros, arange, cat, ...), and LIKE_FUNCTIONS (zeros_like, ...);
- OTHER_FUNCTIONS: functions that are no method (einsum, hstack, cdist, normal, torch.max's several forms, ...),
  implemented in the tensor_ops module of their concept.
`baregrad/__init__.py` exports the table; the earlier entry wins where a name appears twice.
"""
from __future__ import annotations

from typing import Any, Callable

from baregrad.tensor_ops import linalg as _linalg
from baregrad.tensor_ops.movement import (
    broadcast_shapes,
    broadcast_tensors,
    meshgrid,
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


def as_function(method: str, name: str | None = None) -> Callable:
    """torch.NAME(input, *args, **kwargs) as input.METHOD(*args, **kwargs)."""
    name = name or method

    def fn(input: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A002 - torch's argument name
        return getattr(input, method)(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"torch.{name}(input, ...): the same as input.{method}(...)."
    return fn


# torch.NAME(input, *args) == input.NAME(*args), under torch's other names too
METHOD_FUNCTIONS += (
    # arithmetic and comparison, under every name torch has for them
    "add", "sub", "mul", "div", "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
    "less_equal", "not_equal", "multiply", "subtract", "divide", "true_divide", "negative", "positive",
    "absolute", "sgn", "fix", "relu", "where", "maximum", "minimum", "matmul",
    # metadata and copies
    "numel", "is_floating_point", "is_complex", "is_nonzero", "is_signed", "get_device", "clone", "detach", "t",
    # shape
    "swapdims", "ravel", "fliplr", "flipud", "rot90", "select", "narrow_copy", "tensor_split", "hsplit",
    "vsplit", "dsplit", "split_with_sizes", "take", "masked_select", "kron",
    # more math, special functions, statistics, indexed writes, sampling
    "addcmul", "addcdiv", "mv", "vdot", "dist", "renorm", "fmax", "fmin", "logcumsumexp", "gcd", "lcm", "ldexp",
    "bitwise_left_shift", "bitwise_right_shift", "isposinf", "isneginf", "isreal", "nextafter",
    "erfc", "erfinv", "lgamma", "digamma",
    "quantile", "nanquantile", "mode", "histc", "cov", "corrcoef",
    "scatter_reduce", "index_copy", "index_fill", "index_put", "masked_scatter",
    "bernoulli", "multinomial",
)

BUILTIN_NAMES = ("abs", "sum", "all", "any", "round", "pow", "max", "min")

CONSTRUCTORS = ("zeros", "ones", "full", "empty", "arange", "linspace", "eye", "rand", "randn", "randint", "randperm",
                "cat", "stack")

# torch.NAME_like(t, dtype=None) == t.METHOD(dtype)
LIKE_FUNCTIONS = {"zeros_like": "zeros_like", "ones_like": "ones_like", "full_like": "full_like",
                  "rand_like": "rand_like", "randn_like": "randn_like", "empty_like": "zeros_like"}


def torch_functions(tensor: type) -> dict[str, Callable]:
    """Every free function to export from the package, by name (`tensor` is the Tensor class)."""
    from baregrad.tensor_ops import free_functions as free
    from baregrad.tensor_ops.random import normal
    out: dict[str, Callable] = {}
    out.update({name: getattr(tensor, name) for name in CONSTRUCTORS})
    out.update({name: as_function(method, name) for name, method in LIKE_FUNCTIONS.items()})
    for name in METHOD_FUNCTIONS:
        out.setdefault(name, as_function(name))
    others = {"einsum": _linalg.einsum, "meshgrid": meshgrid, "broadcast_tensors": broadcast_tensors,
              "broadcast_shapes": broadcast_shapes, "tril_indices": tril_indices, "triu_indices": triu_indices,
              "max": free.torch_max, "min": free.torch_min, "normal": normal, "row_stack": free.vstack,
              "concat": free.concatenate, "trapz": free.trapezoid}
    others.update({fn.__name__: fn for fn in free.FREE_FUNCTIONS})
    for name, fn in others.items():
        out.setdefault(name, fn)
    for name in BUILTIN_NAMES:
        out.setdefault(name, as_function(name))
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

__all__ = ["torch_functions", "linalg", "as_function", "METHOD_FUNCTIONS", "BUILTIN_NAMES", "CONSTRUCTORS",
           "LIKE_FUNCTIONS"]
