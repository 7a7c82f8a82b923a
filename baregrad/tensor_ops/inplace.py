"""In-place variants (torch's trailing underscore): `x.op_(...)` is `x.op(...)` written back into x.

Most are generated from one rule: compute the out-of-place result and hand it to Tensor._inplace, the repo's
in-place write (the result must keep x's shape; it is cast to x's dtype; a leaf that requires grad refuses it
while grad is on; autograd continues through the old value). The view ops unsqueeze_/squeeze_/t_/transpose_
change x's shape, so they rebind x to the view instead; fill_diagonal_ is written out.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable

from baregrad import autograd
from baregrad import dtype as dt
from baregrad.errors import ArgumentError, ShapeError

if TYPE_CHECKING:
    from baregrad.tensor import Tensor

# out-of-place methods whose torch in-place twin is `name_` (add_, sub_, mul_, div_, zero_, fill_ and copy_ are
# written by hand in tensor.py)
INPLACE_OF = (
    # unary math
    "abs", "neg", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal", "square",
    "sin", "cos", "tan", "tanh", "sigmoid", "relu", "erf", "erfc", "erfinv", "lgamma", "digamma", "atan", "asin",
    "acos", "sinh", "cosh", "asinh", "acosh", "atanh", "arctan", "arcsin", "arccos", "arcsinh", "arccosh",
    "arctanh", "sinc", "logit", "deg2rad", "rad2deg", "floor", "ceil", "round", "trunc", "frac", "sign",
    "nan_to_num", "clamp", "clip", "clamp_min", "clamp_max",
    # binary and ternary math
    "pow", "fmod", "remainder", "floor_divide", "atan2", "arctan2", "hypot", "copysign", "heaviside", "xlogy",
    "lerp", "addcmul", "addcdiv", "gcd", "lcm", "ldexp", "nextafter", "renorm", "logical_and", "logical_or",
    "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
    "bitwise_right_shift", "eq", "ne", "lt", "le", "gt", "ge", "cumsum", "cumprod",
    # linear algebra
    "tril", "triu", "addmm", "addmv", "addr", "baddbmm",
    # indexed writes
    "masked_fill", "masked_scatter", "scatter", "scatter_add", "scatter_reduce", "index_add", "index_fill",
    "index_copy", "index_put",
    # torch's other names (aliases)
    "negative", "absolute", "fix", "sgn", "multiply", "subtract", "divide", "true_divide", "greater",
    "greater_equal", "less", "less_equal", "not_equal",
)


def _inplace_method(name: str) -> Callable[..., "Tensor"]:
    def method(self: "Tensor", *args: Any, **kwargs: Any) -> "Tensor":
        return self._inplace(getattr(self, name)(*args, **kwargs))
    method.__name__ = method.__qualname__ = f"{name}_"
    method.__doc__ = f"In place: self.{name}(...) written into self (Tensor._inplace rules)."
    return method


def _rebind_view(self: "Tensor", view: "Tensor") -> "Tensor":
    """Make self the view (a new shape of the same values), as _inplace does for same-shape results."""
    from baregrad.tensor_ops.arithmetic import rebind_parent
    if self.requires_grad and self.is_leaf and autograd.grad_enabled():
        raise ArgumentError(f"a leaf tensor of shape {self.shape} that requires grad cannot be modified in place")
    if self.requires_grad and view._ctx is not None:
        rebind_parent(view, self)  # the view's history must reach self's old value, not self itself
    self.node, self._ctx = view.node, view._ctx
    return self


class InplaceOps:
    """In-place methods; `self` is a Tensor. The `name_` methods of INPLACE_OF are added below the class."""
    __slots__ = ()

    def unsqueeze_(self: "Tensor", dim: int) -> "Tensor":
        return _rebind_view(self, self.unsqueeze(dim))

    def squeeze_(self: "Tensor", dim: Any = None) -> "Tensor":
        return _rebind_view(self, self.squeeze(dim))

    def t_(self: "Tensor") -> "Tensor":
        return _rebind_view(self, self.t())

    def transpose_(self: "Tensor", dim0: int, dim1: int) -> "Tensor":
        return _rebind_view(self, self.transpose(dim0, dim1))

    swapaxes_ = swapdims_ = transpose_

    def fill_diagonal_(self: "Tensor", fill_value: Any, wrap: bool = False) -> "Tensor":
        """Fill the main diagonal (all dims of equal size above 2-d). With wrap, a tall matrix's diagonal starts
        again every (columns + 1) rows, as torch's."""
        from baregrad.tensor import Tensor
        if self.ndim < 2:
            raise ShapeError(f"fill_diagonal_ needs at least 2 dimensions, got shape {self.shape}")
        if self.ndim > 2 and len(set(self.shape)) != 1:
            raise ShapeError(f"fill_diagonal_ needs all dimensions of equal length, got shape {self.shape}")
        # the diagonal in the flat row-major buffer: every `step`-th element, the first `count` of them
        step = sum(math.prod(self.shape[d + 1:]) for d in range(self.ndim))
        count = min(self.shape)
        if wrap and self.ndim == 2:
            count = -(-self.numel() // step)
        flat = Tensor.arange(self.numel(), dtype=dt.int64, device=self.device)
        mask = ((flat % step) == 0) & (flat < count * step)
        return self._inplace(self.masked_fill(mask.reshape(self.shape), fill_value))


for _name in INPLACE_OF:
    setattr(InplaceOps, f"{_name}_", _inplace_method(_name))
del _name
