"""torch.* free functions for the methods of more_math, special, stats_ops, index_ops and random_ops
(torch.NAME(input, ...) is input.NAME(...)), plus torch.normal. `baregrad/__init__.py` exports them."""
from __future__ import annotations

from typing import Callable

from baregrad.tensor_ops.functions import as_function
from baregrad.tensor_ops.random import normal

METHOD_FUNCTIONS = (
    "addcmul", "addcdiv", "mv", "vdot", "dist", "renorm", "fmax", "fmin", "logcumsumexp", "gcd", "lcm", "ldexp",
    "bitwise_left_shift", "bitwise_right_shift", "isposinf", "isneginf", "isreal", "nextafter",
    "erfc", "erfinv", "lgamma", "digamma",
    "quantile", "nanquantile", "mode", "histc", "cov", "corrcoef",
    "scatter_reduce", "index_copy", "index_fill", "index_put", "masked_scatter",
    "bernoulli", "multinomial",
)


def more_functions() -> dict[str, Callable]:
    out = {name: as_function(name) for name in METHOD_FUNCTIONS}
    out["normal"] = normal
    return out


__all__ = ["more_functions", "METHOD_FUNCTIONS"]
