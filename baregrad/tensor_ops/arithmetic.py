"""The elementwise core of Tensor: broadcasting and dtype promotion, arithmetic, comparison and bitwise ops,
the Python operators, and unary math. Each op is a primitive Function of autograd (or a composition of
them), so it stays lazy, fuses with its neighbours and is differentiable."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable

from baregrad import autograd
from baregrad import dtype as dt
from baregrad import tensor as core  # the Tensor class, at call time (tensor.py imports this module)
from baregrad.engine.pending import record_write
from baregrad.errors import ArgumentError, DeviceError, DTypeError, ShapeError
from baregrad.host_data import I64_MIN, U64_END, check_fits
from baregrad.ir.node import Node
from baregrad.ir.ops import Op
from baregrad.tensor_ops.custom_grad import with_grad

if TYPE_CHECKING:
    from baregrad.tensor import Scalar, Tensor

_FLOAT_KIND = dt.Kind.FLOAT


class ArithmeticOps:
    """Tensor's broadcasting, type promotion, arithmetic, comparison and bitwise ops, Python operators and unary
    math; `self` is a Tensor."""
    __slots__ = ()

    # ---- broadcasting and type promotion ----
    def _axis(self, axis: int, ndim: int | None = None) -> int:
        n = self.ndim if ndim is None else ndim
        if not -max(n, 1) <= axis < max(n, 1):
            raise ShapeError(f"dimension {axis} is out of range for a tensor of shape {self.shape}")
        return axis % max(n, 1) if n else 0

    def _coerce(self, other: Any, reverse: bool = False) -> tuple["Tensor", "Tensor"]:
        node = self.node
        if type(other) is float and node.dtype.kind is _FLOAT_KIND:  # the commonest case, `x * 0.5`, first
            b = core.Tensor.from_node(core.const_node(other, node.dtype, node.shape), self.device)
            return (b, self) if reverse else (self, b)
        if isinstance(other, core.Tensor):
            if other.device != self.device:
                raise DeviceError(f"tensors on different devices: {self.device} and {other.device}")
            d = dt.promote(self.dtype, other.dtype)
            if other.ndim == 0 and self.ndim > 0 and _category(other.dtype) <= _category(self.dtype):
                d = self.dtype  # a 0-d tensor does not widen a dimensioned one (torch's rule)
            elif self.ndim == 0 and other.ndim > 0 and _category(self.dtype) <= _category(other.dtype):
                d = other.dtype
            a, b = self.cast(d), other.cast(d)
        else:
            # a Python scalar: a constant already broadcast to the tensor's shape (the nodes _broadcast would build)
            d = dt.python_scalar_dtype(other, self.dtype)
            if type(other) is int and not I64_MIN <= other < U64_END and d.kind is not _FLOAT_KIND:
                # within 64 bits an int operand wraps into an integer dtype as in torch (x + 2**40 on int32)
                raise DTypeError(f"value {other} cannot be converted to {d.name} without overflow: a Python int "
                                 f"operand of a {self.dtype.name} tensor must fit in 64 bits")
            a = self.cast(d)
            b = core.Tensor.from_node(core.const_node(other, d, a.shape), self.device)
            return (b, a) if reverse else (a, b)
        a, b = broadcast_pair(a, b)
        return (b, a) if reverse else (a, b)

    def _binary(self, fn: type[autograd.Function], other: Any, reverse: bool = False) -> "Tensor":
        if self.node.dtype in _HALF and fn is autograd.Mul and _inexact_in_half(other, self.dtype):
            return self.float()._binary(fn, other, reverse).cast(self.dtype)
        a, b = self._coerce(other, reverse)
        return fn.apply(a, b)

    # ---- elementwise arithmetic ----
    def add(self, other: Any, alpha: Scalar = 1) -> "Tensor":
        return self._binary(autograd.Add, other * alpha if alpha != 1 else other)

    def sub(self, other: Any, alpha: Scalar = 1) -> "Tensor":
        return self._binary(autograd.Sub, other * alpha if alpha != 1 else other)

    def mul(self, other: Any) -> "Tensor":
        return self._binary(autograd.Mul, other)

    def div(self, other: Any, rounding_mode: str | None = None) -> "Tensor":
        if rounding_mode == "floor":
            return self.floor_divide(other)
        if rounding_mode == "trunc":
            a, b = self._coerce(other)
            return autograd.Trunc.apply(a.float_div(b)) if a.dtype.is_float else _alu(Op.IDIV, a, b)
        if rounding_mode is not None:
            raise ArgumentError(f"rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")
        return self.float_div(other)

    def float_div(self, other: Any, reverse: bool = False) -> "Tensor":
        if self.node.dtype in _HALF and not reverse and _inexact_in_half(other, self.dtype):
            return self.float().float_div(other).cast(self.dtype)
        a, b = self._coerce(other, reverse)
        if not a.dtype.is_float:
            a, b = a.cast(dt.default_float), b.cast(dt.default_float)
        return autograd.Div.apply(a, b)

    def floor_divide(self, other: Any, reverse: bool = False) -> "Tensor":
        a, b = self._coerce(other, reverse)
        if a.dtype.is_float:  # torch has no derivative for floor_divide: the result is not differentiable
            return _in_float32(_float_floor_divide, a.detach(), b.detach())
        q = _alu(Op.IDIV, a, b)
        r = _alu(Op.MOD, a, b)
        adjust = (r != 0) & ((r < 0) != (b < 0))
        return adjust.where(q - 1, q)

    def remainder(self, other: Any, reverse: bool = False) -> "Tensor":
        a, b = self._coerce(other, reverse)
        if a.dtype.is_float:
            return _in_float32(_float_remainder, a, b)
        r = _alu(Op.MOD, a, b)
        adjust = (r != 0) & ((r < 0) != (b < 0))
        return adjust.where(r + b, r)

    def fmod(self, other: Any) -> "Tensor":
        a, b = self._coerce(other)
        if a.dtype.is_float:
            return _in_float32(_float_fmod, a, b)
        return _alu(Op.MOD, a, b)

    def pow(self, exponent: Any, reverse: bool = False) -> "Tensor":
        if not reverse and isinstance(exponent, (int, float)) and not isinstance(exponent, bool) \
                and self.dtype is not dt.bool_:  # bool ** 2 is int64 in torch, not bool * bool
            if exponent == 2:
                return self * self
            if exponent == 1:
                return self * 1
            if exponent == 0.5 and self.dtype.is_float:
                return self.sqrt()
        a, b = self._coerce(exponent, reverse)
        if not a.dtype.is_float:
            return _int_pow(a, b)
        return autograd.Pow.apply(a, b)

    def neg(self) -> "Tensor":
        if self.dtype is dt.bool_:
            raise DTypeError("negation of a bool tensor is not supported; use ~ or logical_not()")
        return autograd.Neg.apply(self)

    def maximum(self, other: Any) -> "Tensor":
        return self._binary(autograd.Maximum, other)

    def minimum(self, other: Any) -> "Tensor":
        a, b = self._coerce(other)
        if a.dtype is dt.bool_:
            return a & b
        if not a.dtype.is_float:  # ~x = -x - 1 reverses the order without overflowing at the type's minimum
            return ~autograd.Maximum.apply(~a, ~b)
        return -autograd.Maximum.apply(-a, -b)

    def where(self, x: Any, y: Any) -> "Tensor":
        """self is the condition: x where self is true, else y (torch.where(self, x, y))."""
        cond = self if self.dtype is dt.bool_ else self != 0
        if not isinstance(x, core.Tensor) and not isinstance(y, core.Tensor):
            d = dt.bool_ if isinstance(x, bool) and isinstance(y, bool) else (
                dt.default_float if isinstance(x, float) or isinstance(y, float) else dt.default_int)
            x = core.Tensor.from_node(core.const_node(x, d, ()), self.device)
        if not isinstance(x, core.Tensor):
            x = core.Tensor.from_node(_fitting_const(x, dt.python_scalar_dtype(x, y.dtype)), self.device)
        if not isinstance(y, core.Tensor):
            y = core.Tensor.from_node(_fitting_const(y, dt.python_scalar_dtype(y, x.dtype)), self.device)
        x, y = x._coerce(y)
        cond, x = broadcast_pair(cond, x)
        cond, y = broadcast_pair(cond, y)
        return autograd.Where.apply(cond, x, y)

    def masked_fill(self, mask: "Tensor", value: Any) -> "Tensor":
        return mask.where(value, self).cast(self.dtype)

    # ---- comparison and bitwise ----
    def _compare(self, op: Op, other: Any, reverse: bool = False) -> "Tensor":
        a, b = self._coerce(other, reverse)
        return core.Tensor.from_node(Node(op, dt.bool_, (a.node, b.node)), a.device)

    def __lt__(self, other: Any) -> "Tensor":
        return self._compare(Op.CMPLT, other)

    def __gt__(self, other: Any) -> "Tensor":
        return self._compare(Op.CMPLT, other, reverse=True)

    def __le__(self, other: Any) -> "Tensor":
        return ~self._compare(Op.CMPLT, other, reverse=True) & ~self.isnan() & ~_other_isnan(self, other)

    def __ge__(self, other: Any) -> "Tensor":
        return ~self._compare(Op.CMPLT, other) & ~self.isnan() & ~_other_isnan(self, other)

    def __eq__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return self._compare(Op.CMPEQ, other)

    def __ne__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return self._compare(Op.CMPNE, other)

    lt, gt, le, ge, eq, ne = __lt__, __gt__, __le__, __ge__, __eq__, __ne__

    def _bitwise(self, op: Op, other: Any, reverse: bool = False) -> "Tensor":
        a, b = self._coerce(other, reverse)
        if a.dtype.is_float:
            raise DTypeError(f"bitwise {op.name.lower()} needs integer or bool tensors, got {a.dtype.name}")
        return _alu(op, a, b)

    def __and__(self, other: Any) -> "Tensor":
        return self._bitwise(Op.AND, other)

    def __or__(self, other: Any) -> "Tensor":
        return self._bitwise(Op.OR, other)

    def __xor__(self, other: Any) -> "Tensor":
        return self._bitwise(Op.XOR, other)

    def __lshift__(self, other: Any) -> "Tensor":
        return self._bitwise(Op.SHL, other)

    def __rshift__(self, other: Any) -> "Tensor":
        return self._bitwise(Op.SHR, other)

    def __rand__(self, other: Any) -> "Tensor":
        return self._bitwise(Op.AND, other, True)

    def __ror__(self, other: Any) -> "Tensor":
        return self._bitwise(Op.OR, other, True)

    def __rxor__(self, other: Any) -> "Tensor":
        return self._bitwise(Op.XOR, other, True)

    def __rlshift__(self, other: Any) -> "Tensor":
        return self._bitwise(Op.SHL, other, True)

    def __rrshift__(self, other: Any) -> "Tensor":
        return self._bitwise(Op.SHR, other, True)

    def __invert__(self) -> "Tensor":
        if self.dtype is dt.bool_:
            return core.Tensor.from_node(Node(Op.NOT, dt.bool_, (self.node,)), self.device)
        if self.dtype.is_float:
            raise DTypeError(f"~ needs an integer or bool tensor, got {self.dtype.name}")
        return self ^ -1 if not self.dtype.is_unsigned else self ^ (2 ** self.dtype.bits - 1)

    def logical_not(self) -> "Tensor":
        return ~self.bool()

    def logical_and(self, other: "Tensor") -> "Tensor":
        return self.bool() & other.bool()

    def logical_or(self, other: "Tensor") -> "Tensor":
        return self.bool() | other.bool()

    def logical_xor(self, other: "Tensor") -> "Tensor":
        return self.bool() ^ other.bool()

    bitwise_and, bitwise_or, bitwise_xor, bitwise_not = __and__, __or__, __xor__, __invert__

    # ---- Python operators ----
    def __add__(self, other: Any) -> "Tensor":
        return self._binary(autograd.Add, other)

    def __radd__(self, other: Any) -> "Tensor":
        return self._binary(autograd.Add, other, True)

    def __sub__(self, other: Any) -> "Tensor":
        return self._binary(autograd.Sub, other)

    def __rsub__(self, other: Any) -> "Tensor":
        return self._binary(autograd.Sub, other, True)

    def __mul__(self, other: Any) -> "Tensor":
        return self._binary(autograd.Mul, other)

    def __rmul__(self, other: Any) -> "Tensor":
        return self._binary(autograd.Mul, other, True)

    def __truediv__(self, other: Any) -> "Tensor":
        return self.float_div(other)

    def __rtruediv__(self, other: Any) -> "Tensor":
        return self.float_div(other, reverse=True)

    def __floordiv__(self, other: Any) -> "Tensor":
        return self.floor_divide(other)

    def __rfloordiv__(self, other: Any) -> "Tensor":
        return self.floor_divide(other, reverse=True)

    def __mod__(self, other: Any) -> "Tensor":
        return self.remainder(other)

    def __rmod__(self, other: Any) -> "Tensor":
        return self.remainder(other, reverse=True)

    def __pow__(self, other: Any) -> "Tensor":
        return self.pow(other)

    def __rpow__(self, other: Any) -> "Tensor":
        return self.pow(other, reverse=True)

    def __neg__(self) -> "Tensor":
        return self.neg()

    def __pos__(self) -> "Tensor":
        return self

    def __abs__(self) -> "Tensor":
        return self.abs()

    def __matmul__(self, other: "Tensor") -> "Tensor":
        return self.matmul(other)

    def __rmatmul__(self, other: "Tensor") -> "Tensor":
        return other.matmul(self)

    def _inplace(self, result: "Tensor") -> "Tensor":
        if self.requires_grad and self.is_leaf and autograd.grad_enabled():
            raise ArgumentError("a leaf tensor that requires grad cannot be modified in place")
        if result.shape != self.shape:
            raise ShapeError(f"in-place result of shape {result.shape} does not fit tensor of shape {self.shape}")
        result = result.cast(self.dtype)
        if self.requires_grad and result._ctx is not None:
            rebind_parent(result, self)
        self.node, self._ctx = result.node, result._ctx
        self.requires_grad = self.requires_grad or result.requires_grad
        return self

    def __iadd__(self, other: Any) -> "Tensor":
        return self._inplace(self + other)

    def __isub__(self, other: Any) -> "Tensor":
        return self._inplace(self - other)

    def __imul__(self, other: Any) -> "Tensor":
        return self._inplace(self * other)

    def __itruediv__(self, other: Any) -> "Tensor":
        return self._inplace(self / other)

    def __ifloordiv__(self, other: Any) -> "Tensor":
        return self._inplace(self // other)

    def __imod__(self, other: Any) -> "Tensor":
        return self._inplace(self % other)

    def __ipow__(self, other: Any) -> "Tensor":
        return self._inplace(self ** other)

    def __iand__(self, other: Any) -> "Tensor":
        return self._inplace(self & other)

    def __ior__(self, other: Any) -> "Tensor":
        return self._inplace(self | other)

    def __ixor__(self, other: Any) -> "Tensor":
        return self._inplace(self ^ other)

    def __ilshift__(self, other: Any) -> "Tensor":
        return self._inplace(self << other)

    def __irshift__(self, other: Any) -> "Tensor":
        return self._inplace(self >> other)

    def add_(self, other: Any, alpha: Scalar = 1) -> "Tensor":
        return self._inplace(self.add(other, alpha))

    def sub_(self, other: Any, alpha: Scalar = 1) -> "Tensor":
        return self._inplace(self.sub(other, alpha))

    def mul_(self, other: Any) -> "Tensor":
        return self._inplace(self * other)

    def div_(self, other: Any) -> "Tensor":
        return self._inplace(self / other)

    def zero_(self) -> "Tensor":
        return self._inplace(self.zeros_like())

    def fill_(self, value: Scalar) -> "Tensor":
        return self._inplace(self.full_like(value))

    def copy_(self, src: "Tensor") -> "Tensor":
        return self._inplace(src.to(self.device).cast(self.dtype).expand(self.shape))

    def assign(self, value: "Tensor") -> "Tensor":
        """Write value into this tensor's buffer (realized in place); used by optimizers."""
        value = value.to(self.device).cast(self.dtype).expand(self.shape)
        if self.node.op is Op.ASSIGN:
            self.realize()  # finish the previous write first; its buffer is already this tensor's own
        if self.node.op is not Op.BUFFER or self.node.arg.shared:
            # equal nodes (two zeros(3)) share one computed buffer, which must not change under the other
            self.node = core.private_node_copy(self.node, self.device)
        self.node = Node(Op.ASSIGN, self.dtype, (self.node, value.node))
        # hash-consing hands back last step's equal ASSIGN, marked done: this is a new write, so it must run
        self.node.buffer = None
        record_write(self)
        return self

    # ---- unary math ----
    def _float_input(self) -> "Tensor":
        return self if self.dtype.is_float else self.cast(dt.default_float)

    def exp(self) -> "Tensor":
        return autograd.Exp.apply(self._float_input())

    def exp2(self) -> "Tensor":
        return (self._float_input() * math.log(2)).exp()

    def log(self) -> "Tensor":
        return autograd.Log.apply(self._float_input())

    def log2(self) -> "Tensor":
        return self.log() * (1 / math.log(2))

    def log10(self) -> "Tensor":
        return self.log() * (1 / math.log(10))

    def log1p(self) -> "Tensor":
        def value(x: "Tensor") -> "Tensor":
            u = x + 1
            # log(1+x) = log(u) * x / (u-1) corrects the rounding of u for small x; at u = inf it is inf/inf
            return ((u - 1) == 0).where(x, (u == math.inf).where(u, u.log() * x / (u - 1)))

        # a closed-form gradient: the branch not taken has 0/0 at x = 0, whose NaN would leak through `where`
        return with_grad(value, lambda g, out, x: (g / (x + 1),), self._float_input())

    def expm1(self) -> "Tensor":
        def value(x: "Tensor") -> "Tensor":
            u = x.exp()
            exact = (u == math.inf).where(u, ((u - 1) == -1).where(-1.0, (u - 1) * x / u.log()))
            return (u == 1).where(x, exact)

        # closed form, as for log1p: d/dx expm1(x) = expm1(x) + 1
        return with_grad(value, lambda g, out, x: (g * (out + 1),), self._float_input())

    def sqrt(self) -> "Tensor":
        return autograd.Sqrt.apply(self._float_input())

    def rsqrt(self) -> "Tensor":
        return self.sqrt().reciprocal()

    def reciprocal(self) -> "Tensor":
        return autograd.Recip.apply(self._float_input())

    def sin(self) -> "Tensor":
        return autograd.Sin.apply(self._float_input())

    def cos(self) -> "Tensor":
        return autograd.Cos.apply(self._float_input())

    def tan(self) -> "Tensor":
        return self.sin() / self.cos()

    def tanh(self) -> "Tensor":
        return autograd.Tanh.apply(self._float_input())

    def erf(self) -> "Tensor":
        return autograd.Erf.apply(self._float_input())

    def sigmoid(self) -> "Tensor":
        # closed-form gradient y * (1 - y): through the reciprocal it is 0 * inf = NaN once exp(-x) overflows
        value = lambda x: (1 + (-x).exp()).reciprocal()  # noqa: E731
        return with_grad(value, lambda g, out, x: (g * out * (1 - out),), self._float_input())

    def relu(self) -> "Tensor":
        return ((self > 0) | self.isnan()).where(self, self.zeros_like())

    def leaky_relu(self, negative_slope: float = 0.01) -> "Tensor":
        return (self > 0).where(self, self * negative_slope)

    def elu(self, alpha: float = 1.0) -> "Tensor":
        return (self > 0).where(self, (self.exp() - 1) * alpha)

    def gelu(self, approximate: str = "none") -> "Tensor":
        if approximate == "tanh":
            return 0.5 * self * (1 + (math.sqrt(2 / math.pi) * (self + 0.044715 * self * self * self)).tanh())
        return 0.5 * self * (1 + (self * (1 / math.sqrt(2))).erf())

    def silu(self) -> "Tensor":
        return self * self.sigmoid()

    def softplus(self, beta: float = 1.0, threshold: float = 20.0) -> "Tensor":
        scaled = self * beta
        soft = (1 + (-scaled.abs()).exp()).log() + scaled.maximum(0.0)
        return (scaled > threshold).where(self, soft / beta)

    def mish(self) -> "Tensor":
        return self * self.softplus().tanh()

    def hardswish(self) -> "Tensor":
        return self * (self + 3).hardtanh(0, 6) / 6

    def hardsigmoid(self) -> "Tensor":
        return (self + 3).hardtanh(0, 6) / 6

    def hardtanh(self, min_val: float = -1.0, max_val: float = 1.0) -> "Tensor":
        # unlike clamp, torch's hardtanh (and relu6, hardsigmoid, hardswish) has gradient 0 at the bounds
        inside = (self > min_val) & (self < max_val)
        return inside.where(self, self.detach().clamp(min_val, max_val))

    def relu6(self) -> "Tensor":
        return self.hardtanh(0, 6)

    def abs(self) -> "Tensor":
        if self.dtype is dt.bool_ or self.dtype.is_unsigned:
            return self
        # x * 0 at zero (and NaN): torch's gradient of abs at 0 is 0
        return (self < 0).where(-self, (self > 0).where(self, self * 0))

    def sign(self) -> "Tensor":
        if self.dtype is dt.bool_:
            return self
        one = self.ones_like()
        # torch's sign(NaN) is 0; x * 0 (at +-0) keeps the result connected to autograd with a zero gradient
        return (self > 0).where(one, (self < 0).where(-one, self.isnan().where(self.zeros_like(), self * 0)))

    def trunc(self) -> "Tensor":
        return autograd.Trunc.apply(self) if self.dtype.is_float else self

    def floor(self) -> "Tensor":
        if not self.dtype.is_float:
            return self
        t = self.trunc()
        return (t > self).where(t - 1, t)

    def ceil(self) -> "Tensor":
        if not self.dtype.is_float:
            return self
        t = self.trunc()
        return (t < self).where(t + 1, t)

    def round(self, decimals: int = 0) -> "Tensor":
        if not self.dtype.is_float:
            return self
        if decimals:
            scale = 10.0 ** decimals
            return (self * scale).round() / scale
        # round half to even, as torch does
        f = self.floor()
        diff = self - f
        f_is_even = (f * 0.5).floor() * 2 == f
        up = (diff > 0.5) | ((diff == 0.5) & ~f_is_even)
        return up.where(f + 1, f)

    def frac(self) -> "Tensor":
        return self - self.trunc()

    def clamp(self, min: Any = None, max: Any = None) -> "Tensor":
        if min is None and max is None:
            raise ArgumentError("clamp needs at least one of min and max")
        out = self
        for bound in (min, max):
            if type(bound) is int and self.dtype.is_int:  # as in torch: a bound the dtype cannot hold raises
                check_fits((bound,), self.dtype)
        # where, not maximum/minimum: torch passes the gradient at the bounds (min <= x <= max) and keeps NaN
        if min is not None:
            a, b = out._coerce(min)
            out = ((a < b) | b.isnan() if _may_be_nan(min) else a < b).where(b, a)
        if max is not None:
            a, b = out._coerce(max)
            out = ((a > b) | b.isnan() if _may_be_nan(max) else a > b).where(b, a)
        return out

    clip = clamp

    def isnan(self) -> "Tensor":
        return self != self if self.dtype.is_float else self.full_like(False, dt.bool_)

    def isinf(self) -> "Tensor":
        return self.abs() == math.inf if self.dtype.is_float else self.full_like(False, dt.bool_)

    def isfinite(self) -> "Tensor":
        return ~(self.isnan() | self.isinf())

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> "Tensor":
        if not self.dtype.is_float:
            return self.clone()
        hi, lo = dt.finite_max(self.dtype), -dt.finite_max(self.dtype)
        out = self.isnan().where(nan, self)
        out = (out == math.inf).where(hi if posinf is None else posinf, out)
        return (out == -math.inf).where(lo if neginf is None else neginf, out).cast(self.dtype)

    def lerp(self, end: "Tensor", weight: Any) -> "Tensor":
        return self + (end - self) * weight

    def square(self) -> "Tensor":
        return self * self


def _fitting_const(value: Any, d: dt.DType) -> Node:
    """A 0-d constant of a Python scalar for where/masked_fill: as in torch, an int that integer dtype d cannot
    hold raises there (binary arithmetic wraps instead, as torch's does)."""
    if type(value) is int and d.is_int:
        check_fits((value,), d)
    return core.const_node(value, d, ())


_HALF = (dt.float16, dt.bfloat16)


def _inexact_in_half(other: Any, d: dt.DType) -> bool:
    """True for a Python number that float16/bfloat16 `d` cannot hold (70000.0 in float16, 1.01 in bfloat16).
    torch computes `half_tensor * number` and `half_tensor / number` in float32 and rounds once (add and sub
    round the number to `d` first), so for those two such a number must not be rounded to `d` first; a number
    that `d` holds exactly gives the same result either way, and keeps the half kernel."""
    if type(other) not in (int, float):
        return False
    from baregrad.render.python import bf16, f16
    return (f16 if d is dt.float16 else bf16)(float(other)) != other


def _in_float32(fn: Callable[[core.Tensor, core.Tensor], core.Tensor], a: core.Tensor, b: core.Tensor) -> core.Tensor:
    """fn on float16/bfloat16 computed in float32 and rounded once, as torch's CPU kernels do (opmath)."""
    if a.dtype in _HALF:
        return fn(a.float(), b.float()).cast(a.dtype)
    return fn(a, b)


def _float_fmod(a: core.Tensor, b: core.Tensor) -> core.Tensor:
    return with_grad(lambda x, y: _alu(Op.MOD, x, y), lambda g, out, x, y: (g, -g * (x / y).trunc()), a, b)


def _remainder_value(a: core.Tensor, b: core.Tensor) -> core.Tensor:
    r = _alu(Op.MOD, a, b)
    return ((r != 0) & ((b < 0) != (r < 0))).where(r + b, r)  # fmod keeps a's sign; remainder takes b's


def _float_remainder(a: core.Tensor, b: core.Tensor) -> core.Tensor:
    return with_grad(_remainder_value, lambda g, out, x, y: (g, -g * _float_floor_divide(x, y)), a, b)


def _float_floor_divide(a: core.Tensor, b: core.Tensor) -> core.Tensor:
    """(a - fmod(a, b)) / b is an exact integer before rounding, so floor(a / b) rounding up (1.0 // 0.1 = 10)
    cannot happen; what rounding is left is corrected toward the nearest integer."""
    a, b = a.detach(), b.detach()
    quotient = a / b
    r = _alu(Op.MOD, a, b)
    div = (a - r) / b
    div = ((r != 0) & ((b < 0) != (r < 0))).where(div - 1, div)
    floored = div.floor()
    floored = (div - floored > 0.5).where(floored + 1, floored)
    floored = (div != 0).where(floored, quotient * 0)  # a zero takes the sign of a / b
    return (b == 0).where(quotient, floored)  # division by zero: IEEE's a / b (inf, -inf or nan)


def _may_be_nan(bound: Any) -> bool:
    """Whether a clamp bound can be NaN (torch's clamp then gives NaN), so that the compare must test for it."""
    if isinstance(bound, core.Tensor):
        return bound.dtype.is_float
    return isinstance(bound, float) and math.isnan(bound)


def _category(d: dt.DType) -> int:
    return 2 if d.is_float else (1 if d.is_int else 0)


def _other_isnan(self: core.Tensor, other: Any) -> core.Tensor:
    if isinstance(other, core.Tensor):
        return broadcast_pair(other.isnan(), self)[0]
    if isinstance(other, float) and math.isnan(other):
        return self.full_like(True, dt.bool_)
    return self.full_like(False, dt.bool_)


def rebind_parent(result: core.Tensor, target: core.Tensor) -> None:
    """Before `target` takes over `result`'s graph in place, point result's history at a stand-in that holds
    target's old value; otherwise target would become its own parent and the gradient would stop there."""
    stand_in = core.Tensor.from_node(target.node, target.device)
    stand_in.requires_grad, stand_in._ctx = target.requires_grad, target._ctx
    stack, seen = [result], set()
    while stack:
        t = stack.pop()
        if id(t) in seen or t._ctx is None:
            continue
        seen.add(id(t))
        parents = t._ctx.parents
        if any(p is target for p in parents):
            t._ctx.parents = tuple(stand_in if p is target else p for p in parents)
        stack.extend(p for p in parents if p is not target and p.requires_grad)


def _alu(op: Op, a: core.Tensor, b: core.Tensor) -> core.Tensor:
    return core.Tensor.from_node(Node(op, a.dtype, (a.node, b.node)), a.device)


def _int_pow(a: core.Tensor, b: core.Tensor) -> core.Tensor:
    """Integer power by repeated squaring over the bits of the exponent (negative exponents give 0, like C)."""
    result = a.ones_like()
    base, exp = a, b
    for _ in range(a.dtype.bits if a.dtype is not dt.bool_ else 1):
        result = ((exp & 1) == 1).where(result * base, result)
        base = base * base
        exp = exp >> 1
    one = a.ones_like()
    neg = b < 0
    return neg.where((a == 1).where(one, (a == -1).where((b & 1 == 1).where(-one, one), a.zeros_like())), result) \
        if not a.dtype.is_unsigned and a.dtype is not dt.bool_ else result


def broadcast_pair(a: core.Tensor, b: core.Tensor) -> tuple[core.Tensor, core.Tensor]:
    if a.shape == b.shape:
        return a, b
    n = max(a.ndim, b.ndim)
    sa, sb = (1,) * (n - a.ndim) + a.shape, (1,) * (n - b.ndim) + b.shape
    out = []
    for x, y in zip(sa, sb):
        if x != y and x != 1 and y != 1:
            raise ShapeError(f"shapes {a.shape} and {b.shape} cannot be broadcast together")
        out.append(y if x == 1 else x)
    return a.expand(tuple(out)), b.expand(tuple(out))
