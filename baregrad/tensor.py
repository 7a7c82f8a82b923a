"""Tensor: the user API, with PyTorch names. It builds lazy graphs of primitive ops and computes nothing
until a value is needed (`numpy()`, `tolist()`, `item()`, `realize()`).

Every method here decomposes into the primitive Functions of `autograd`, which is what makes each of
them differentiable. Shapes and dtypes are checked where the user calls, so errors name the call.
"""
from __future__ import annotations

import math
import operator
from typing import Any, Callable, Iterable, Sequence

from baregrad import autograd
from baregrad import dtype as dt
from baregrad.device import canonical_name, default_device_name, get_device
from baregrad.engine.pending import pending_writes, record_write, write_done
from baregrad.errors import ArgumentError, DeviceError, DTypeError, ShapeError
from baregrad.host_data import (
    I64_MIN,
    U64_END,
    check_fits,
    fit_range,
    flatten_data,
    infer_dtype,
    nest_values,
    numpy_dtype_name,
    pack_values,
)
from baregrad.ir.node import Node
from baregrad.ir.ops import Op, ReduceOp
from baregrad.tensor_ops.custom_grad import sqrt_zero_grad, with_grad
from baregrad.tensor_ops.hooks import AFTER_BACKWARD, HOOKS, RETAINED, run_after_backward, run_hooks
from baregrad.tensor_ops.mixins import TensorExtras
from baregrad.tensor_ops.results import ValuesIndices

Scalar = int | float | bool
_BUFFER, _ASSIGN = Op.BUFFER, Op.ASSIGN  # bound once: Op.X is slow on Python 3.11 (see ir/ops.py)
_FLOAT_KIND = dt.Kind.FLOAT
ShapeLike = int | Sequence[int]


def _shape_arg(shape: tuple) -> tuple[int, ...]:
    """Accept f(2, 3) and f((2, 3)) alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        out = tuple(operator.index(s) for s in shape)  # not int(): that turns 2.5 into 2 and "3" into 3
    except TypeError:
        raise ShapeError(f"a shape must be integers, got {shape!r}") from None
    if any(s < 0 for s in out):
        raise ShapeError(f"negative dimension in shape {out}")
    return out


def _device_name(device: Any) -> str:
    if device is None:
        return default_device_name()
    if isinstance(device, Tensor):
        return device.device
    return canonical_name(str(device))


def _fitting_const(value: Any, d: dt.DType) -> Node:
    """A 0-d constant of a Python scalar for where/masked_fill: as in torch, an int that integer dtype d cannot
    hold raises there (binary arithmetic wraps instead, as torch's does)."""
    if type(value) is int and d.is_int:
        check_fits((value,), d)
    return const_node(value, d, ())


class Tensor(TensorExtras):
    __slots__ = ("node", "device", "requires_grad", "grad", "_ctx", "__weakref__")
    training = False

    def __init__(self, data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False):
        device_name = _device_name(device)
        d = dt.to_dtype(dtype) if dtype is not None else None
        if isinstance(data, Tensor):
            src = data.to(device_name) if data.device != device_name else data
            src = src.cast(d) if d is not None and d is not src.dtype else src
            self._init(src.detach().node, device_name, requires_grad)
            return
        if type(data).__module__ == "numpy" and type(data).__name__ == "ndarray":
            self._init(_from_numpy(data, d, device_name), device_name, requires_grad)
            return
        if isinstance(data, (bytes, bytearray, memoryview)):
            raw = bytes(data)
            d = d or dt.uint8
            if len(raw) % d.itemsize:
                raise ShapeError(f"{len(raw)} bytes is not a whole number of {d.name} elements")
            self._init(_buffer_node(raw, d, (len(raw) // d.itemsize,), device_name), device_name, requires_grad)
            return
        values, shape = flatten_data(data)
        d = d or infer_dtype(values)
        if d.is_int:  # floats round to inf and any number is a bool, as in torch; integers must fit
            check_fits(values, d)
        self._init(_buffer_node(pack_values(values, d), d, shape, device_name), device_name, requires_grad)

    def _init(self, node: Node, device: str, requires_grad: bool) -> None:
        self.node, self.device = node, device
        self.requires_grad, self.grad, self._ctx = requires_grad, None, None

    @classmethod
    def from_node(cls, node: Node, device: str) -> "Tensor":
        t = object.__new__(Tensor)
        t.node, t.device, t.requires_grad, t.grad, t._ctx = node, device, False, None, None  # _init, inlined
        return t

    @staticmethod
    def from_bytes(data: bytes | memoryview, dtype: Any, shape: Sequence[int], device: Any = None) -> "Tensor":
        """A tensor holding a copy of raw little-endian bytes."""
        d, shape = dt.to_dtype(dtype), tuple(shape)
        nbytes = math.prod(shape) * d.itemsize
        view = memoryview(data).cast("B")
        if view.nbytes != nbytes:
            raise ShapeError(f"{view.nbytes} bytes do not hold a {d.name} tensor of shape {shape} ({nbytes} bytes)")
        name = _device_name(device)
        return Tensor.from_node(_buffer_node(view, d, shape, name), name)

    # ---- properties ----
    @property
    def shape(self) -> tuple[int, ...]:
        return self.node.shape

    @property
    def dtype(self) -> dt.DType:
        return self.node.dtype

    @property
    def ndim(self) -> int:
        return len(self.node.shape)

    def dim(self) -> int:
        return self.ndim

    def size(self, dim: int | None = None) -> Any:
        return self.shape if dim is None else self.shape[self._axis(dim)]

    def numel(self) -> int:
        return math.prod(self.shape)

    def element_size(self) -> int:
        return self.dtype.itemsize

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def T(self) -> "Tensor":
        return self.permute(tuple(reversed(range(self.ndim))))

    @property
    def mT(self) -> "Tensor":
        return self.transpose(-2, -1)

    def __len__(self) -> int:
        if not self.shape:
            raise ShapeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        try:
            body = repr(self.tolist()) if self.numel() <= 64 else f"<{self.numel()} values>"
        except Exception as e:  # noqa: BLE001 - a repr must not raise
            body = f"<unrealized: {e}>"
        return f"tensor({body}, shape={self.shape}, dtype={self.dtype.name}, device={self.device!r}{grad})"

    def __hash__(self) -> int:
        return id(self)

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise ShapeError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.is_float or self.numel() != 1:
            raise DTypeError(f"only integer tensors of one element can be an index, not {self.dtype.name}{self.shape}")
        return int(self.item())

    # ---- realization and conversion ----
    def realize(self) -> "Tensor":
        node = self.node
        if node.op is not _BUFFER:  # realize_all for one tensor, without its grouping (every eager op comes here)
            if node.op is _ASSIGN:
                _run_earlier_writes([self])
                write_done(self)
            (buf,) = _engine_realize()([node], get_device(self.device))
            self.node = Node(_BUFFER, node.dtype, (), buf)
        return self

    def contiguous(self) -> "Tensor":
        if self.node.op is Op.ASSIGN:
            self.realize()
        if self.node.op is Op.BUFFER:
            return self
        return _Contiguous.apply(self)

    def to_bytes(self) -> bytes:
        t = self.contiguous().realize() if self.node.op is not Op.BUFFER else self
        return t.node.arg.to_bytes()

    def numpy(self) -> Any:
        import numpy as np
        t = self.detach()
        if t.dtype is dt.bfloat16:
            t = t.float()
        return np.frombuffer(t.to_bytes(), dtype=numpy_dtype_name(t.dtype)).reshape(t.shape).copy()

    def tolist(self) -> Any:
        from baregrad.device.python import unpack
        values = unpack(self.detach().to_bytes(), self.dtype)
        return nest_values(values, self.shape)

    def item(self) -> Scalar:
        if self.numel() != 1:
            raise ShapeError(f"item() needs a tensor of one element, got shape {self.shape}")
        return self.reshape(()).tolist()

    def to(self, *args: Any, **kwargs: Any) -> Any:
        """to(device), to(dtype), to(device, dtype), to(other_tensor), with keyword forms too; to([devices]) gives
        a MultiTensor with a copy on each device."""
        device, d = kwargs.get("device"), kwargs.get("dtype")
        if args and isinstance(args[0], (list, tuple)):  # several devices: a copy on each (tensor_ops/multi.py)
            return self.shard(args[0], axis=None)
        for a in args:
            if isinstance(a, Tensor):
                device, d = a.device, a.dtype
            elif isinstance(a, dt.DType) or (not isinstance(a, str) and hasattr(a, "is_floating_point")):
                d = a
            elif isinstance(a, str) and a.lower() in ("float32", "float16", "bfloat16", "int64", "int32", "float64",
                                                      "bool", "uint8", "int8", "int16", "half", "float"):
                d = a
            else:
                device = a
        out = self
        if d is not None:
            out = out.cast(dt.to_dtype(d))
        if device is not None and canonical_name(str(device)) != self.device:
            out = _ToDevice.apply(out, device=canonical_name(str(device)))
        return out

    def cpu(self) -> "Tensor":
        return self

    def clone(self) -> "Tensor":
        return _Contiguous.apply(self)

    # ---- copy and pickle ----
    def __copy__(self) -> "Tensor":
        """copy.copy, as torch: a new leaf on the same buffer, so it follows in-place writes as detach() does."""
        t = Tensor.from_node(self.node, self.device)
        t.requires_grad = self.requires_grad
        return t

    def __deepcopy__(self, memo: dict) -> "Tensor":
        """copy.deepcopy (a model, a state_dict, EMA weights): a leaf with a buffer of its own holding the same
        values, dtype, device and requires_grad; its grad is deep-copied too, as torch does."""
        if id(self) in memo:
            return memo[id(self)]
        if self._ctx is not None:  # torch refuses too: the copy could not carry the graph
            raise ArgumentError(f"deepcopy of a tensor of shape {self.shape} computed by an op that records a "
                                "gradient: only leaf tensors can be deep-copied (detach() it first)")
        if self.node.op is _ASSIGN:
            self.realize()  # finish a pending write (an optimizer step) so the copy holds its result
        t = Tensor.from_node(_private_copy(self.node, self.device), self.device)
        t.requires_grad = self.requires_grad
        memo[id(self)] = t
        if self.grad is not None:
            t.grad = self.grad.__deepcopy__(memo)
        return t

    def __reduce__(self) -> tuple:
        """pickle: the values as raw bytes with dtype, shape, device and requires_grad (not the graph or grad),
        as torch tensors pickle. Only plain values and baregrad's own rebuild function are referenced; loading a
        pickle runs code, so baregrad's checkpoint loaders never unpickle this way."""
        return (unpickle_tensor, (self.detach().to_bytes(), self.dtype.name, self.shape, self.device,
                                  self.requires_grad))

    def float(self) -> "Tensor":
        return self.cast(dt.float32)

    def half(self) -> "Tensor":
        return self.cast(dt.float16)

    def bfloat16(self) -> "Tensor":
        return self.cast(dt.bfloat16)

    def double(self) -> "Tensor":
        return self.cast(dt.float64)

    def int(self) -> "Tensor":
        return self.cast(dt.int32)

    def long(self) -> "Tensor":
        return self.cast(dt.int64)

    def bool(self) -> "Tensor":
        return self.cast(dt.bool_)

    def type(self, d: Any) -> "Tensor":
        return self.cast(dt.to_dtype(d))

    def cast(self, d: Any) -> "Tensor":
        d = dt.to_dtype(d)
        return self if d is self.dtype else autograd.Cast.apply(self, dtype=d)

    def bitcast(self, d: Any) -> "Tensor":
        d = dt.to_dtype(d)
        if d.itemsize != self.dtype.itemsize:
            raise DTypeError(f"bitcast from {self.dtype.name} to {d.name} changes the element size")
        return self if d is self.dtype else autograd.Cast.apply(self, dtype=d, bitcast=True)

    def is_floating_point(self) -> bool:
        return self.dtype.is_float

    # ---- autograd ----
    def detach(self) -> "Tensor":
        return Tensor.from_node(self.node, self.device)

    def requires_grad_(self, mode: bool = True) -> "Tensor":
        if mode and not (self.dtype.is_float):
            raise DTypeError(f"only floating point tensors can require gradients, not {self.dtype.name}")
        self.requires_grad = mode
        return self

    def zero_grad(self) -> None:
        self.grad = None

    def backward(self, gradient: "Tensor | None" = None, retain_graph: bool = False) -> None:
        if not self.requires_grad:
            raise ArgumentError("backward() on a tensor that does not require grad (and has no grad_fn)")
        if gradient is None:
            if self.numel() != 1:
                raise ShapeError(f"backward() without a gradient needs a scalar output, got shape {self.shape}")
            gradient = self.ones_like()
        elif not isinstance(gradient, Tensor):
            raise DTypeError(f"backward() gradient must be a Tensor of shape {self.shape}, "
                             f"got {type(gradient).__name__}")
        elif gradient.shape != self.shape:
            raise ShapeError(f"gradient shape {gradient.shape} does not match tensor shape {self.shape}")
        leaves = _run_backward(self, gradient.detach().cast(self.dtype), retain_graph)
        # the output (the loss) with its gradients: it shares their work, and computed later it would read the
        # parameters after optimizer.step() wrote them in place -- the loss of the next step, not this one's
        realize_all([self] + [leaf.grad for leaf in leaves if leaf.grad is not None])
        if AFTER_BACKWARD:  # queued by a hook during this backward (tensor_ops/hooks.py)
            run_after_backward()

    # ---- creation ----
    @staticmethod
    def full(shape: ShapeLike, fill_value: Scalar, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> "Tensor":
        shape = _shape_arg((shape,) if isinstance(shape, int) else tuple(shape))
        if dtype is None:
            d = dt.bool_ if isinstance(fill_value, bool) else (dt.default_int if isinstance(fill_value, int)
                                                               else dt.default_float)
        else:
            d = dt.to_dtype(dtype)
        if d.kind is not _FLOAT_KIND and d is not dt.bool_ and isinstance(fill_value, (int, float)):
            # zeros/ones/full_like/fill_/setitem values come through here: tested inline, it is the eager path
            lo, hi = fit_range(d)
            if not lo <= fill_value <= hi:
                check_fits((fill_value,), d)
        t = Tensor.from_node(const_node(fill_value, d, shape), _device_name(device))
        return t.requires_grad_() if requires_grad else t

    @staticmethod
    def zeros(*shape: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> "Tensor":
        return Tensor.full(_shape_arg(shape), 0.0, dtype or dt.default_float, device, requires_grad)

    @staticmethod
    def ones(*shape: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> "Tensor":
        return Tensor.full(_shape_arg(shape), 1.0, dtype or dt.default_float, device, requires_grad)

    @staticmethod
    def empty(*shape: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> "Tensor":
        return Tensor.zeros(*shape, dtype=dtype, device=device, requires_grad=requires_grad)

    @staticmethod
    def arange(start: Scalar, end: Scalar | None = None, step: Scalar = 1, dtype: Any = None,
               device: Any = None, requires_grad: bool = False) -> "Tensor":
        if end is None:
            start, end = 0, start
        if step == 0:
            raise ArgumentError("arange step must be nonzero")
        n = max(0, math.ceil((end - start) / step))
        is_float = any(isinstance(v, float) for v in (start, end, step))
        d = dt.to_dtype(dtype) if dtype is not None else (dt.default_float if is_float else dt.default_int)
        name = _device_name(device)
        idx = Tensor.from_node(Node(Op.ARANGE, dt.int32 if n < 2**31 else dt.int64, (), n), name)
        if start == 0 and step == 1:
            t = idx.cast(d)
        elif d.is_float:
            t = (idx.cast(dt.float64 if d is dt.float64 else dt.float32) * step + start).cast(d)
        else:
            t = (idx.cast(dt.int64) * int(step) + int(start)).cast(d)
        return t.requires_grad_() if requires_grad else t

    @staticmethod
    def linspace(start: float, end: float, steps: int, dtype: Any = None, device: Any = None) -> "Tensor":
        if steps < 0:
            raise ArgumentError(f"linspace needs steps >= 0, got {steps}")
        d = dt.to_dtype(dtype) if dtype is not None else dt.default_float
        if steps == 1:
            return Tensor.full((1,), float(start), d, device)
        step = (end - start) / (steps - 1)
        idx = Tensor.arange(steps, dtype=dt.float64 if d is dt.float64 else dt.float32, device=device)
        # torch fills the second half from the end, which keeps the last value exact
        half = steps // 2
        left = idx * step + start
        right = end - (steps - 1 - idx) * step
        return (idx < half).where(left, right).cast(d)

    @staticmethod
    def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None) -> "Tensor":
        m = n if m is None else m
        rows = Tensor.arange(n, dtype=dt.int32, device=device).reshape(n, 1)
        cols = Tensor.arange(m, dtype=dt.int32, device=device).reshape(1, m)
        return (rows == cols).cast(dtype or dt.default_float)

    @staticmethod
    def rand(*shape: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> "Tensor":
        from baregrad.random import uniform01
        shape = _shape_arg(shape)
        t = uniform01(math.prod(shape), _device_name(device), dt.to_dtype(dtype or dt.default_float)).reshape(shape)
        return t.requires_grad_() if requires_grad else t

    @staticmethod
    def randn(*shape: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> "Tensor":
        from baregrad.random import uniform01
        shape = _shape_arg(shape)
        n = math.prod(shape)
        u = uniform01(2 * n, _device_name(device))
        u1, u2 = u[:n], u[n:]
        z = (-2.0 * (1.0 - u1).log()).sqrt() * (u2 * (2 * math.pi)).cos()
        t = z.cast(dt.to_dtype(dtype or dt.default_float)).reshape(shape)
        return t.requires_grad_() if requires_grad else t

    @staticmethod
    def randint(low: int, high: int | None = None, size: ShapeLike = (), dtype: Any = None,
                device: Any = None) -> "Tensor":
        if high is None:
            low, high = 0, low
        if high <= low:
            raise ArgumentError(f"randint needs low < high, got [{low}, {high})")
        shape = _shape_arg((size,) if isinstance(size, int) else tuple(size))
        # float32 (24 random bits) where it covers the range, so devices without float64 can draw; the clamp
        # guards the rounding of u * n up to n
        n = high - low
        u = Tensor.rand(*shape, dtype=dt.float32 if n <= 1 << 24 else dt.float64, device=device)
        return ((u * n).floor().cast(dt.int64).clamp(None, n - 1) + low).cast(dtype or dt.int64)

    @staticmethod
    def randperm(n: int, device: Any = None, dtype: Any = None) -> "Tensor":
        return Tensor.rand(n, device=device).argsort().cast(dtype or dt.int64)

    def zeros_like(self, dtype: Any = None) -> "Tensor":
        return Tensor.full(self.shape, 0, dtype or self.dtype, self.device)

    def ones_like(self, dtype: Any = None) -> "Tensor":
        return Tensor.full(self.shape, 1, dtype or self.dtype, self.device)

    def full_like(self, value: Scalar, dtype: Any = None) -> "Tensor":
        return Tensor.full(self.shape, value, dtype or self.dtype, self.device)

    def rand_like(self, dtype: Any = None) -> "Tensor":
        return Tensor.rand(*self.shape, dtype=dtype or self.dtype, device=self.device)

    def randn_like(self, dtype: Any = None) -> "Tensor":
        return Tensor.randn(*self.shape, dtype=dtype or self.dtype, device=self.device)

    def empty_like(self, dtype: Any = None) -> "Tensor":
        return self.zeros_like(dtype)

    # ---- broadcasting and type promotion ----
    def _axis(self, axis: int, ndim: int | None = None) -> int:
        n = self.ndim if ndim is None else ndim
        if not -max(n, 1) <= axis < max(n, 1):
            raise ShapeError(f"dimension {axis} is out of range for a tensor of shape {self.shape}")
        return axis % max(n, 1) if n else 0

    def _coerce(self, other: Any, reverse: bool = False) -> tuple["Tensor", "Tensor"]:
        node = self.node
        if type(other) is float and node.dtype.kind is _FLOAT_KIND:  # the commonest case, `x * 0.5`, first
            b = Tensor.from_node(const_node(other, node.dtype, node.shape), self.device)
            return (b, self) if reverse else (self, b)
        if isinstance(other, Tensor):
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
            b = Tensor.from_node(const_node(other, d, a.shape), self.device)
            return (b, a) if reverse else (a, b)
        a, b = _broadcast(a, b)
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
        if not isinstance(x, Tensor) and not isinstance(y, Tensor):
            d = dt.bool_ if isinstance(x, bool) and isinstance(y, bool) else (
                dt.default_float if isinstance(x, float) or isinstance(y, float) else dt.default_int)
            x = Tensor.from_node(const_node(x, d, ()), self.device)
        if not isinstance(x, Tensor):
            x = Tensor.from_node(_fitting_const(x, dt.python_scalar_dtype(x, y.dtype)), self.device)
        if not isinstance(y, Tensor):
            y = Tensor.from_node(_fitting_const(y, dt.python_scalar_dtype(y, x.dtype)), self.device)
        x, y = x._coerce(y)
        cond, x = _broadcast(cond, x)
        cond, y = _broadcast(cond, y)
        return autograd.Where.apply(cond, x, y)

    def masked_fill(self, mask: "Tensor", value: Any) -> "Tensor":
        return mask.where(value, self).cast(self.dtype)

    # ---- comparison and bitwise ----
    def _compare(self, op: Op, other: Any, reverse: bool = False) -> "Tensor":
        a, b = self._coerce(other, reverse)
        return Tensor.from_node(Node(op, dt.bool_, (a.node, b.node)), a.device)

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
            return Tensor.from_node(Node(Op.NOT, dt.bool_, (self.node,)), self.device)
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
            self.node = _private_copy(self.node, self.device)
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

    # ---- reductions ----
    def _reduce_axes(self, dim: Any) -> tuple[int, ...]:
        # an empty dim list reduces every dim, as torch's sum/mean/amax/var/norm do (any/all keep them: see any)
        if dim is None or (isinstance(dim, (tuple, list)) and not dim):
            return tuple(range(self.ndim))
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        return tuple(sorted({self._axis(d) for d in dims}))

    def _reduce(self, op: ReduceOp, dim: Any, keepdim: bool) -> "Tensor":
        axes = self._reduce_axes(dim)
        if self.ndim == 0:
            return self
        if any(self.shape[a] > 2**31 - 1 for a in axes):  # 32-bit loop counters: the kernel would not compile, or hang
            raise ShapeError(f"cannot reduce dims {axes} of shape {self.shape}: a dim has more than 2**31-1 elements")
        out_shape = tuple(s for i, s in enumerate(self.shape) if i not in axes or keepdim) if not keepdim \
            else tuple(1 if i in axes else s for i, s in enumerate(self.shape))
        if any(self.shape[a] == 0 for a in axes):
            if op is ReduceOp.MAX:
                raise ShapeError(f"max/min over an empty dimension of shape {self.shape}")
            # reduce one identity element instead, so the result stays connected to autograd
            grow = [(0, 1) if i in axes and s == 0 else (0, 0) for i, s in enumerate(self.shape)]
            return self.pad(grow, 0 if op is ReduceOp.SUM else 1)._reduce(op, dim, keepdim)
        reduced = autograd.Reduce.apply(self, op=op, axes=axes)
        return reduced if keepdim else reduced.reshape(out_shape)

    def sum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> "Tensor":
        x = self.cast(dtype) if dtype is not None else self.cast(dt.sum_dtype(self.dtype))
        return x._reduce(ReduceOp.SUM, dim, keepdim)

    def prod(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> "Tensor":
        x = self.cast(dtype) if dtype is not None else self.cast(dt.sum_dtype(self.dtype))
        return x._reduce(ReduceOp.PROD, dim, keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        x = self._float_input()
        count = math.prod(self.shape[a] for a in self._reduce_axes(dim)) if self.ndim else 1
        return x.sum(dim, keepdim) * (1.0 / count) if count else x.sum(dim, keepdim) * math.nan

    def amax(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        return self._reduce(ReduceOp.MAX, dim, keepdim)

    def amin(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        if not self.dtype.is_float:  # ~x reverses bool, unsigned and signed order; -x overflows at int min
            return ~((~self)._reduce(ReduceOp.MAX, dim, keepdim))
        return -((-self)._reduce(ReduceOp.MAX, dim, keepdim))

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        if dim is None:
            return self.amax()
        return self._pick_at(self.argmax(dim, keepdim=True), dim, keepdim)

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        if dim is None:
            return self.amin()
        return self._pick_at(self.argmin(dim, keepdim=True), dim, keepdim)

    def _pick_at(self, index: "Tensor", dim: int, keepdim: bool) -> "ValuesIndices":
        """(values, indices) of max/min(dim): a gather, so a tie sends the gradient to the chosen index only."""
        if self.ndim == 0:
            return ValuesIndices(self, index.reshape(()))
        axis = self._axis(dim)
        values = self.gather(axis, index)
        return ValuesIndices(values, index) if keepdim else ValuesIndices(values.squeeze(axis), index.squeeze(axis))

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        if dim is None:
            return self.reshape(-1).argmax(0)
        axis = self._axis(dim)
        n = self.shape[axis]
        x = self.detach()
        best = x.amax(axis, keepdim=True)
        hit = (x == best) | (x.isnan() if x.dtype.is_float else x.full_like(False, dt.bool_))
        if x.dtype.is_float:
            # NaN is the maximum, as in torch
            hit = hit | (x.isnan().any(axis, keepdim=True) & x.isnan())
            hit = hit & ~(x.isnan().any(axis, keepdim=True) & ~x.isnan())
        rev = Tensor.arange(n, 0, -1, dtype=dt.int64, device=self.device).reshape(
            *[n if i == axis else 1 for i in range(self.ndim)])
        first = (hit.where(rev, 0)).amax(axis, keepdim=keepdim)
        return (n - first).cast(dt.int64)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        x = self.detach()
        # ~x reverses the order of bool and integer types; -x would overflow at a signed type's minimum
        return (-x if x.dtype.is_float else ~x).argmax(dim, keepdim)

    def any(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        if isinstance(dim, (tuple, list)) and not dim:  # torch's any/all reduce nothing over an empty dim list
            found = self != 0
        elif self.numel():
            found = (self != 0)._reduce(ReduceOp.MAX, dim, keepdim)
        else:
            found = Tensor.full(self._empty_reduce_shape(dim, keepdim), False, dt.bool_, self.device)
        return found.cast(dt.uint8) if self.dtype is dt.uint8 else found  # torch keeps uint8 for uint8 input

    def all(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        every = ~((self == 0).any(dim, keepdim))
        return every.cast(dt.uint8) if self.dtype is dt.uint8 else every

    def _empty_reduce_shape(self, dim: Any, keepdim: bool) -> tuple[int, ...]:
        axes = self._reduce_axes(dim)
        return tuple(1 if i in axes else s for i, s in enumerate(self.shape) if keepdim or i not in axes)

    def var(self, dim: Any = None, keepdim: bool = False, correction: int = 1,
            unbiased: bool | None = None) -> "Tensor":
        if unbiased is not None:
            correction = 1 if unbiased else 0
        x = self._float_input()
        n = math.prod(self.shape[a] for a in self._reduce_axes(dim)) if self.ndim else 1
        centered = x - x.mean(dim, keepdim=True)
        return (centered * centered).sum(dim, keepdim) / max(n - correction, 0)

    def std(self, dim: Any = None, keepdim: bool = False, correction: int = 1,
            unbiased: bool | None = None) -> "Tensor":
        return sqrt_zero_grad(self.var(dim, keepdim, correction, unbiased))

    def var_mean(self, dim: Any = None, keepdim: bool = False, correction: int = 1) -> tuple["Tensor", "Tensor"]:
        return self.var(dim, keepdim, correction), self.mean(dim, keepdim)

    def logsumexp(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        x = self._float_input()
        if x.numel() == 0:  # an empty sum: log(0) = -inf, as torch
            out = x.exp().sum(dim, keepdim=True).log()
            return out if keepdim else out.reshape(self._empty_reduce_shape(dim, False))
        m = x.detach().amax(dim, keepdim=True)
        m = m.isinf().where(0.0, m)
        out = (x - m).exp().sum(dim, keepdim=True).log() + m
        return out if keepdim else out.reshape(self._empty_reduce_shape(dim, False))

    def softmax(self, dim: int = -1, dtype: Any = None) -> "Tensor":
        x = self._float_input() if dtype is None else self.cast(dtype)
        e = (x - _row_max(x, dim)).exp()
        return e / e.sum(dim, keepdim=True)

    def log_softmax(self, dim: int = -1, dtype: Any = None) -> "Tensor":
        x = self._float_input() if dtype is None else self.cast(dtype)
        shifted = x - _row_max(x, dim)
        return shifted - shifted.exp().sum(dim, keepdim=True).log()

    def cumsum(self, dim: int = 0, dtype: Any = None) -> "Tensor":
        x = self.cast(dtype) if dtype is not None else self.cast(dt.sum_dtype(self.dtype))
        return x._cumulative(dim, ReduceOp.SUM)

    def cumprod(self, dim: int = 0, dtype: Any = None, exclusive: bool = False) -> "Tensor":
        x = self.cast(dtype) if dtype is not None else self.cast(dt.sum_dtype(self.dtype))
        return x._cumulative(dim, ReduceOp.PROD, exclusive)

    def _cumulative(self, dim: int, op: ReduceOp, exclusive: bool = False) -> "Tensor":
        """out[i] = reduce(x[j] for j <= i) as one fused kernel over a masked square."""
        if self.ndim == 0:
            return self
        axis = self._axis(dim)
        n = self.shape[axis]
        if n == 0:
            return self
        moved = self.transpose(axis, -1)
        rows = moved.unsqueeze(-2).expand(*moved.shape[:-1], n, n)
        i = Tensor.arange(n, dtype=dt.int32, device=self.device).reshape(n, 1)
        j = Tensor.arange(n, dtype=dt.int32, device=self.device).reshape(1, n)
        keep = (j < i) if exclusive else (j <= i)
        identity = {ReduceOp.SUM: 0, ReduceOp.PROD: 1}.get(op)
        if identity is None:
            identity = -math.inf if self.dtype.is_float else dt.min_max_values(self.dtype)[0]
        masked = keep.where(rows, Tensor.full((), identity, self.dtype, self.device))
        return masked._reduce(op, -1, False).transpose(axis, -1)

    # ---- movement ----
    def reshape(self, *shape: Any) -> "Tensor":
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        shape = tuple(int(s) for s in shape)
        if shape.count(-1) > 1:
            raise ShapeError(f"only one dimension can be -1 in reshape{shape}")
        known = math.prod(s for s in shape if s != -1)
        if -1 in shape:
            if known == 0 or self.numel() % known:
                raise ShapeError(f"cannot reshape tensor of shape {self.shape} into {shape}")
            shape = tuple(self.numel() // known if s == -1 else s for s in shape)
        if math.prod(shape) != self.numel() or any(s < 0 for s in shape):
            raise ShapeError(f"cannot reshape tensor of shape {self.shape} ({self.numel()} elements) into {shape}")
        return self if shape == self.shape else autograd.Reshape.apply(self, shape=shape)

    def view(self, *shape: Any) -> "Tensor":
        if len(shape) == 1 and isinstance(shape[0], dt.DType):
            return self.bitcast(shape[0])
        return self.reshape(*shape)

    def view_as(self, other: "Tensor") -> "Tensor":
        return self.reshape(other.shape)

    def reshape_as(self, other: "Tensor") -> "Tensor":
        return self.reshape(other.shape)

    def permute(self, *order: Any) -> "Tensor":
        order = tuple(order[0]) if len(order) == 1 and isinstance(order[0], (tuple, list)) else order
        axes = tuple(self._axis(a) for a in order)
        if sorted(axes) != list(range(self.ndim)):
            raise ShapeError(f"permute{tuple(order)} is not a permutation of the {self.ndim} dims of {self.shape}")
        return self if axes == tuple(range(self.ndim)) else autograd.Permute.apply(self, order=axes)

    def transpose(self, dim0: int = 0, dim1: int = 1) -> "Tensor":
        if self.ndim < 2 and dim0 in (0, -1) and dim1 in (0, 1, -1):
            return self
        order = list(range(self.ndim))
        a, b = self._axis(dim0), self._axis(dim1)
        order[a], order[b] = order[b], order[a]
        return self.permute(order)

    swapaxes = transpose

    def t(self) -> "Tensor":
        if self.ndim > 2:
            raise ShapeError(f"t() expects a tensor with <= 2 dims, got shape {self.shape}")
        return self.transpose(0, 1) if self.ndim == 2 else self

    def expand(self, *shape: Any) -> "Tensor":
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        if len(shape) < self.ndim:
            raise ShapeError(f"cannot expand shape {self.shape} to {tuple(shape)}: fewer dimensions")
        padded = (1,) * (len(shape) - self.ndim) + self.shape
        target = tuple(p if s == -1 else int(s) for p, s in zip(padded, shape))
        for p, s in zip(padded, target):
            if p != s and p != 1:
                raise ShapeError(f"cannot expand shape {self.shape} to {tuple(shape)}")
        x = self.reshape(padded) if padded != self.shape else self
        return x if target == x.shape else autograd.Expand.apply(x, shape=target)

    def expand_as(self, other: "Tensor") -> "Tensor":
        return self.expand(other.shape)

    def broadcast_to(self, shape: Sequence[int]) -> "Tensor":
        return self.expand(tuple(shape))

    def squeeze(self, dim: Any = None) -> "Tensor":
        if dim is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        dims = {self._axis(d) for d in ((dim,) if isinstance(dim, int) else dim)} if self.ndim else set()
        return self.reshape(tuple(s for i, s in enumerate(self.shape) if not (i in dims and s == 1)))

    def unsqueeze(self, dim: int) -> "Tensor":
        axis = self._axis(dim, self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        if self.ndim == 0:
            return self.reshape(1)
        a, b = self._axis(start_dim), self._axis(end_dim)
        if a > b:
            raise ShapeError(f"flatten start_dim {start_dim} comes after end_dim {end_dim} for shape {self.shape}")
        return self.reshape(self.shape[:a] + (math.prod(self.shape[a:b + 1]),) + self.shape[b + 1:])

    def unflatten(self, dim: int, sizes: Sequence[int]) -> "Tensor":
        axis = self._axis(dim)
        return self.reshape(self.shape[:axis] + tuple(sizes) + self.shape[axis + 1:])

    def flip(self, *dims: Any) -> "Tensor":
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        axes = {self._axis(d) for d in dims}
        return self._flip_mask(tuple(i in axes for i in range(self.ndim)))

    def _flip_mask(self, mask: tuple[bool, ...]) -> "Tensor":
        return autograd.Flip.apply(self, axes=mask) if any(mask) else self

    def shrink(self, bounds: Sequence[tuple[int, int]]) -> "Tensor":
        bounds = tuple((int(b), int(e)) for b, e in bounds)
        if all(b == 0 and e == s for (b, e), s in zip(bounds, self.shape)):
            return self
        for (b, e), s in zip(bounds, self.shape):
            if not 0 <= b <= e <= s:
                raise ShapeError(f"shrink bounds {bounds} do not fit shape {self.shape}")
        return autograd.Shrink.apply(self, bounds=bounds)

    def pad(self, pads: Sequence[tuple[int, int]], value: Scalar = 0) -> "Tensor":
        """Pad each dim by (before, after); negative amounts crop. `value` fills the new cells."""
        pads = tuple((int(b), int(a)) for b, a in pads)
        if len(pads) != self.ndim:
            raise ShapeError(f"pad needs one (before, after) pair per dim of {self.shape}, got {pads}")
        crop = tuple((max(0, -b), s - max(0, -a)) for (b, a), s in zip(pads, self.shape))
        x = self.shrink(crop) if any(b < 0 or a < 0 for b, a in pads) else self
        grow = tuple((max(0, b), max(0, a)) for b, a in pads)
        if not any(b or a for b, a in grow):
            return x
        out = autograd.Pad.apply(x, pads=grow)
        if value != 0:
            inside = autograd.Pad.apply(x.ones_like(dt.bool_), pads=grow)
            out = inside.where(out, value).cast(self.dtype)
        return out

    def repeat(self, *repeats: Any) -> "Tensor":
        repeats = tuple(repeats[0]) if len(repeats) == 1 and isinstance(repeats[0], (tuple, list)) else repeats
        if len(repeats) < self.ndim:
            raise ShapeError(f"repeat needs at least {self.ndim} counts for shape {self.shape}, got {repeats}")
        base = (1,) * (len(repeats) - self.ndim) + self.shape
        x = self.reshape(base)
        expanded = x.reshape(tuple(v for s in base for v in (1, s))).expand(
            tuple(v for r, s in zip(repeats, base) for v in (r, s)))
        return expanded.reshape(tuple(r * s for r, s in zip(repeats, base)))

    def repeat_interleave(self, repeats: int, dim: int | None = None) -> "Tensor":
        x = self.reshape(-1) if dim is None else self
        axis = 0 if dim is None else x._axis(dim)
        expanded = x.unsqueeze(axis + 1).expand(*x.shape[:axis + 1], repeats, *x.shape[axis + 1:])
        return expanded.flatten(axis, axis + 1)

    @staticmethod
    def cat(tensors: Sequence["Tensor"], dim: int = 0) -> "Tensor":
        tensors = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or list(tensors)[:1]
        if not tensors:
            raise ShapeError("cat needs at least one tensor")
        first = tensors[0]
        axis = first._axis(dim)
        d = tensors[0].dtype
        for t in tensors[1:]:
            d = dt.promote(d, t.dtype)
            if t.ndim != first.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != axis):
                raise ShapeError(f"cat along dim {dim}: shapes {[tuple(x.shape) for x in tensors]} do not match")
        total = sum(t.shape[axis] for t in tensors)
        out, offset = None, 0
        for t in tensors:
            pads = [(0, 0)] * first.ndim
            pads[axis] = (offset, total - offset - t.shape[axis])
            part = t.cast(d).pad(pads)
            out = part if out is None else out + part
            offset += t.shape[axis]
        return out

    concatenate = cat

    @staticmethod
    def stack(tensors: Sequence["Tensor"], dim: int = 0) -> "Tensor":
        if not tensors:
            raise ShapeError("stack needs at least one tensor")
        shape = tensors[0].shape
        if any(t.shape != shape for t in tensors):
            raise ShapeError(f"stack needs equal shapes, got {[tuple(t.shape) for t in tensors]}")
        axis = tensors[0]._axis(dim, tensors[0].ndim + 1)
        return Tensor.cat([t.unsqueeze(axis) for t in tensors], axis)

    def split(self, split_size: Any, dim: int = 0) -> tuple["Tensor", ...]:
        axis = self._axis(dim)
        n = self.shape[axis]
        if isinstance(split_size, int) and split_size <= 0:
            if split_size < 0 or n:  # torch allows 0 only for an empty dim: one empty piece
                raise ArgumentError(f"split size must be positive, got {split_size} for dim {dim} of {self.shape}")
            return (self,)
        sizes = [split_size] * (n // split_size) + ([n % split_size] if n % split_size else []) \
            if isinstance(split_size, int) else list(split_size)
        if sum(sizes) != n:
            raise ShapeError(f"split sizes {sizes} do not add up to {n} (dim {dim} of {self.shape})")
        out, start = [], 0
        for s in sizes:
            out.append(self.narrow(axis, start, s))
            start += s
        return tuple(out)

    def chunk(self, chunks: int, dim: int = 0) -> tuple["Tensor", ...]:
        if chunks <= 0:
            raise ArgumentError(f"chunk needs a positive number of chunks, got {chunks} for shape {self.shape}")
        n = self.shape[self._axis(dim)]
        return self.split(max(1, math.ceil(n / chunks)), dim)

    def unbind(self, dim: int = 0) -> tuple["Tensor", ...]:
        axis = self._axis(dim)
        return tuple(self.narrow(axis, i, 1).squeeze(axis) for i in range(self.shape[axis]))

    def narrow(self, dim: int, start: int, length: int) -> "Tensor":
        axis = self._axis(dim)
        bounds = [(0, s) for s in self.shape]
        bounds[axis] = (start, start + length)
        return self.shrink(bounds)

    # ---- matmul ----
    def matmul(self, other: "Tensor") -> "Tensor":
        a, b = self, other
        if not isinstance(b, Tensor):
            raise DTypeError(f"matmul needs a Tensor, got {type(b).__name__}")
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(f"matmul needs tensors with at least one dim, got {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ShapeError(f"matmul shape mismatch: {a.shape} @ {b.shape}")
        d = dt.promote(a.dtype, b.dtype)
        a, b = a.cast(d), b.cast(d)
        if a.ndim == 1 and b.ndim == 1:
            return (a * b).sum()
        if b.ndim == 1:
            return (a * b).sum(-1)
        if a.ndim == 1:
            return (a.unsqueeze(-1) * b).sum(-2)
        if b.node.op is Op.PERMUTE and b.node.src[0].op is Op.BUFFER and b.numel() >= 4096 and \
                get_device(b.device).wants_row_major_matmul_rhs:
            b = b.contiguous()  # x @ W.T: a copy of W.T is cheap next to the matmul; the device says if it helps
        # (..., n, k) x (..., k, m): broadcast to (..., n, m, k) and reduce the last axis
        lhs = a.unsqueeze(-2)
        rhs = b.transpose(-1, -2).unsqueeze(-3)
        lhs, rhs = _broadcast(lhs, rhs)
        return (lhs * rhs).sum(-1)

    mm = matmul
    bmm = matmul

    def dot(self, other: "Tensor") -> "Tensor":
        if self.ndim != 1 or other.ndim != 1:
            raise ShapeError(f"dot needs 1-d tensors, got {self.shape} and {other.shape}")
        return self.matmul(other)

    # ---- gather / scatter ----
    def gather(self, dim: int, index: "Tensor") -> "Tensor":
        """out[i][j] = self[index[i][j]][j] for dim=0 (torch.gather); one load per output element."""
        axis = self._axis(dim)
        if index.ndim != self.ndim:
            raise ShapeError(f"gather index of shape {index.shape} needs {self.ndim} dims like the input {self.shape}")
        if index.dtype.is_float or index.dtype is dt.bool_:
            raise DTypeError(f"gather index must be an integer tensor, not {index.dtype.name}")
        if any(i > s for d, (i, s) in enumerate(zip(index.shape, self.shape)) if d != axis):
            raise ShapeError(f"gather index shape {index.shape} exceeds input shape {self.shape} off dim {dim}")
        src = self.shrink([(0, s) if d == axis else (0, i) for d, (i, s) in enumerate(zip(index.shape, self.shape))])
        return autograd.Gather.apply(src, index.to(self.device), axis=axis)

    def take_along_dim(self, indices: "Tensor", dim: int | None = None) -> "Tensor":
        if dim is None:  # torch: both flattened
            return self.reshape(-1).take_along_dim(indices.reshape(-1), 0)
        target = tuple(s if d == self._axis(dim) else max(s, i) for d, (s, i) in enumerate(zip(indices.shape,
                                                                                              self.shape)))
        return self.expand(tuple(i if d != self._axis(dim) else s for d, (i, s) in
                                 enumerate(zip(target, self.shape)))).gather(dim, indices.expand(target))

    def index_select(self, dim: int, index: "Tensor") -> "Tensor":
        axis = self._axis(dim)
        if index.ndim != 1:
            raise ShapeError(f"index_select needs a 1-d index, got shape {index.shape}")
        shape = list(self.shape)
        shape[axis] = index.shape[0]
        view = [1] * self.ndim
        view[axis] = index.shape[0]
        return self.gather(axis, index.reshape(view).expand(shape))

    def _onehot_along(self, index: "Tensor", axis: int, n: int) -> "Tensor":
        """hit[..., i, j, ...] = index[..., i, ...] == j, with j a new dim right after `axis`."""
        positions = Tensor.arange(n, dtype=index.dtype, device=self.device)
        positions = positions.reshape([n if d == axis + 1 else 1 for d in range(index.ndim + 1)])
        idx = index.unsqueeze(axis + 1)
        idx = (idx < 0).where(idx + n, idx)
        return idx == positions

    def scatter_add_dense(self, index: "Tensor", axis: int, shape: tuple[int, ...]) -> "Tensor":
        """out (of `shape`) with out[..., j, ...] = sum of self[..., i, ...] over i where index[..., i, ...] == j."""
        n = shape[axis]
        hit = self._onehot_along(index, axis, n)
        summed = hit.where(self.unsqueeze(axis + 1), 0.0).cast(self.dtype).sum(axis).cast(self.dtype)
        return summed.pad([(0, s - c) for s, c in zip(shape, summed.shape)])

    def scatter_add(self, dim: int, index: "Tensor", src: "Tensor") -> "Tensor":
        axis = self._axis(dim)
        src = src.shrink([(0, i) for i in index.shape]).cast(self.dtype)
        return self + src.scatter_add_dense(index, axis, self.shape)

    def scatter(self, dim: int, index: "Tensor", src: Any, reduce: str | None = None) -> "Tensor":
        axis = self._axis(dim)
        if not isinstance(src, Tensor):
            src = Tensor.full(index.shape, src, self.dtype, self.device)
        src = src.shrink([(0, i) for i in index.shape]).cast(self.dtype)
        if reduce == "add":
            return self.scatter_add(dim, index, src)
        if reduce not in (None, "multiply"):
            raise ArgumentError(f"scatter reduce must be None, 'add' or 'multiply', got {reduce!r}")
        n = self.shape[axis]
        hit = self._onehot_along(index, axis, n)
        if reduce == "multiply":
            factor = hit.where(src.unsqueeze(axis + 1), 1).cast(self.dtype).prod(axis).cast(self.dtype)
            return self * factor.pad([(0, s - c) for s, c in zip(self.shape, factor.shape)], 1)
        # the last writer wins where an index repeats (torch leaves that case unspecified)
        order = Tensor.arange(index.shape[axis], dtype=dt.int32, device=self.device).reshape(
            [index.shape[axis] if d == axis else 1 for d in range(index.ndim)]).unsqueeze(axis + 1)
        last = hit.where(order, -1).amax(axis)
        written = last >= 0
        picked = src.scatter_pick(last.clamp(0, None), axis)
        full_written = written.pad([(0, s - c) for s, c in zip(self.shape, written.shape)], False)
        full_picked = picked.pad([(0, s - c) for s, c in zip(self.shape, picked.shape)])
        return full_written.where(full_picked, self)

    def scatter_pick(self, which: "Tensor", axis: int) -> "Tensor":
        """out[..., j, ...] = self[..., which[..., j, ...], ...]: a gather whose index may be longer than self."""
        return autograd.Gather.apply(self, which.cast(dt.int64), axis=axis)

    def index_add(self, dim: int, index: "Tensor", source: "Tensor", alpha: Scalar = 1) -> "Tensor":
        axis = self._axis(dim)
        shape = list(source.shape)
        view = [1] * source.ndim
        view[axis] = index.shape[0]
        return self.scatter_add(axis, index.reshape(view).expand(shape), source * alpha)

    def nonzero_tuple(self) -> tuple["Tensor", ...]:
        """Indices of nonzero elements, one tensor per dim. A sync point: the count decides the shape."""
        flags = self.reshape(-1).tolist() if self.ndim else [self.item()]
        flat = [i for i, v in enumerate(flags) if v]
        shape = self.shape or (1,)
        out = []
        for d in range(len(shape)):
            stride = math.prod(shape[d + 1:])
            out.append(Tensor([(i // stride) % shape[d] for i in flat], dtype=dt.int64, device=self.device)
                       if flat else Tensor.zeros(0, dtype=dt.int64, device=self.device))
        return tuple(out)

    def nonzero(self, as_tuple: bool = False) -> Any:
        parts = self.nonzero_tuple()
        if as_tuple:
            return parts
        return Tensor.stack(list(parts), 1) if parts[0].numel() else Tensor.zeros(0, self.ndim, dtype=dt.int64,
                                                                                 device=self.device)

    # ---- indexing ----
    def __getitem__(self, index: Any) -> "Tensor":
        from baregrad.indexing import getitem
        return getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        from baregrad.indexing import setitem
        setitem(self, index, value)


def _run_earlier_writes(writes: list[Tensor]) -> None:
    """Before `writes` run, the assigns still pending besides them: they were issued first (a batch norm's running
    statistics in the forward pass, before optimizer.step() writes the weights those statistics were taken with),
    and run later they would read what the new writes overwrite."""
    earlier = pending_writes(exclude=writes)
    if earlier:
        _realize_together(earlier)


def _row_max(x: Tensor, dim: int) -> Any:
    """The max that keeps softmax's exp in range (constant for autograd); 0 for an empty x, which torch allows."""
    return x.detach().amax(dim, keepdim=True) if x.numel() else 0.0


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


def _in_float32(fn: Callable[[Tensor, Tensor], Tensor], a: Tensor, b: Tensor) -> Tensor:
    """fn on float16/bfloat16 computed in float32 and rounded once, as torch's CPU kernels do (opmath)."""
    if a.dtype in _HALF:
        return fn(a.float(), b.float()).cast(a.dtype)
    return fn(a, b)


# Float fmod, remainder and floor_divide follow torch's kernels (c10 div_floor_floating, remainder_kernel): all
# three start from Op.MOD, C's exact fmod; a - floor(a / b) * b rounds a / b first (1.0 % 0.1 gave 0, not 0.1)
def _float_fmod(a: Tensor, b: Tensor) -> Tensor:
    return with_grad(lambda x, y: _alu(Op.MOD, x, y), lambda g, out, x, y: (g, -g * (x / y).trunc()), a, b)


def _remainder_value(a: Tensor, b: Tensor) -> Tensor:
    r = _alu(Op.MOD, a, b)
    return ((r != 0) & ((b < 0) != (r < 0))).where(r + b, r)  # fmod keeps a's sign; remainder takes b's


def _float_remainder(a: Tensor, b: Tensor) -> Tensor:
    return with_grad(_remainder_value, lambda g, out, x, y: (g, -g * _float_floor_divide(x, y)), a, b)


def _float_floor_divide(a: Tensor, b: Tensor) -> Tensor:
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
    if isinstance(bound, Tensor):
        return bound.dtype.is_float
    return isinstance(bound, float) and math.isnan(bound)


def _category(d: dt.DType) -> int:
    return 2 if d.is_float else (1 if d.is_int else 0)


def _other_isnan(self: Tensor, other: Any) -> Tensor:
    if isinstance(other, Tensor):
        return _broadcast(other.isnan(), self)[0]
    if isinstance(other, float) and math.isnan(other):
        return self.full_like(True, dt.bool_)
    return self.full_like(False, dt.bool_)


def rebind_parent(result: Tensor, target: Tensor) -> None:
    """Before `target` takes over `result`'s graph in place, point result's history at a stand-in that holds
    target's old value; otherwise target would become its own parent and the gradient would stop there."""
    stand_in = Tensor.from_node(target.node, target.device)
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


def _broadcast(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
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


def _alu(op: Op, a: Tensor, b: Tensor) -> Tensor:
    return Tensor.from_node(Node(op, a.dtype, (a.node, b.node)), a.device)


def _int_pow(a: Tensor, b: Tensor) -> Tensor:
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


_CONST_NODES: dict[tuple, Node] = {}


def const_node(value: Scalar, d: dt.DType, shape: tuple[int, ...]) -> Node:
    """A constant of dtype d broadcast to shape: CONST, then RESHAPE to all ones and EXPAND (when shape has any).

    Memoized by (type, value, dtype, shape): `x * 2` builds one per op, and rounding the value to d and building
    three nodes cost more than the op's other work. Zero (0.0 == -0.0) and NaN (never equal) are not memoized."""
    memoizable = type(value) in (int, float, bool) and value == value and value != 0
    key = (type(value), value, d, shape)
    node = _CONST_NODES.get(key) if memoizable else None
    if node is not None:
        return node
    node = _build_const_node(value, d, shape)
    if memoizable:
        if len(_CONST_NODES) > 4096:
            _CONST_NODES.clear()
        _CONST_NODES[key] = node
    return node


def _build_const_node(value: Scalar, d: dt.DType, shape: tuple[int, ...]) -> Node:
    if d is dt.bool_:
        v: Any = bool(value)
    elif d.is_float:
        from baregrad.render.python import bf16, f16, f32
        v = {dt.float32: f32, dt.float16: f16, dt.bfloat16: bf16}.get(d, float)(float(value))
    else:
        from baregrad.render.python import wrap
        v = wrap(int(value), d.bits, not d.is_unsigned)
    node = Node(Op.CONST, d, (), v)
    if shape:
        node = Node(Op.RESHAPE, d, (node,), (1,) * len(shape))
        if any(s != 1 for s in shape):
            node = Node(Op.EXPAND, d, (node,), shape)
    return node


def _private_copy(node: Node, device: str) -> Node:
    """node's value computed into a buffer that nothing else holds (the memo is not consulted or kept)."""
    from baregrad.engine.realize import realize
    copy = Node(Op.CONTIGUOUS, node.dtype, (node,))
    copy.buffer = None
    (buf,) = realize([copy], get_device(device))
    copy.buffer = None
    buf.shared = False
    return Node(Op.BUFFER, node.dtype, (), buf)


def unpickle_tensor(data: bytes, dtype: str, shape: tuple[int, ...], device: str, requires_grad: bool,
                    frozen_parameter: bool = False) -> Tensor:
    """pickle's constructor for a Tensor (Tensor.__reduce__). `frozen_parameter` is read from older pickles only:
    a Parameter now pickles through nn.module.rebuild_parameter."""
    t = Tensor.from_bytes(data, dtype, shape, device)
    t.requires_grad = requires_grad
    return t


_unpickle_tensor = unpickle_tensor  # the name pickles written before the rename refer to


def _buffer_node(data: bytes | memoryview, d: dt.DType, shape: tuple[int, ...], device: str) -> Node:
    from baregrad.engine.buffer import Buffer
    buf = Buffer(get_device(device), d, shape)
    if buf.nbytes:
        buf.copyin(data)
    return Node(Op.BUFFER, d, (), buf)


def _from_numpy(array: Any, d: dt.DType | None, device: str) -> Node:
    import numpy as np
    arr = np.ascontiguousarray(array)
    src = dt.to_dtype(arr.dtype.name)
    # ascontiguousarray turns a 0-d array into shape (1,): keep the caller's shape
    node = _buffer_node(arr.tobytes(), src, tuple(np.shape(array)), device)
    if d is not None and d is not src:
        node = Node(Op.CAST, d, (node,))
    return node


_ENGINE_REALIZE: list[Callable[..., Any]] = []


def _engine_realize() -> Callable[..., Any]:
    """engine.realize.realize, imported on first use (`import baregrad` does not load the engine) and then kept:
    an import statement per eager op costs more than a list lookup."""
    if not _ENGINE_REALIZE:
        from baregrad.engine.realize import realize
        _ENGINE_REALIZE.append(realize)
    return _ENGINE_REALIZE[0]


def realize_all(tensors: Iterable[Tensor]) -> None:
    """Realize several tensors in one schedule (shared work is computed once), grouped by device."""
    tensors = list(tensors)
    if any(t.node.op is _ASSIGN for t in tensors):
        _run_earlier_writes(tensors)
    _realize_together(tensors)


def _realize_together(tensors: list[Tensor]) -> None:
    realize = _engine_realize()
    by_device: dict[str, list[Tensor]] = {}
    for t in tensors:
        if t.node.op is not _BUFFER:
            by_device.setdefault(t.device, []).append(t)
    for device, group in by_device.items():
        nodes = list(dict.fromkeys(t.node for t in group))
        buffers = realize(nodes, get_device(device))
        done = dict(zip(nodes, buffers))
        for t in group:
            buf = done.get(t.node)
            if buf is not None:  # None: the same tensor was listed twice and is already done
                if t.node.op is _ASSIGN:
                    write_done(t)
                t.node = Node(_BUFFER, t.dtype, (), buf)


def _run_backward(root: Tensor, gradient: Tensor, retain_graph: bool) -> list[Tensor]:
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        if t._ctx is not None:
            stack.extend((p, False) for p in t._ctx.parents if p.requires_grad and id(p) not in seen)
    grads: dict[int, Tensor] = {id(root): gradient}
    leaves: list[Tensor] = []
    with autograd.set_grad_enabled(False):
        for t in reversed(order):
            g = grads.pop(id(t), None)
            if g is None:
                continue
            if id(t) in HOOKS or id(t) in RETAINED:  # register_hook / retain_grad (tensor_ops/hooks.py)
                g = run_hooks(t, g)
                if t._ctx is not None and id(t) in RETAINED:
                    leaves.append(t)  # a retained .grad is realized with the leaves' grads
            if t._ctx is None:
                # a fresh Tensor per leaf: x + x hands the same g to both parents, and grads must not alias
                t.grad = Tensor.from_node(g.node, g.device) if t.grad is None else t.grad + g
                leaves.append(t)
                continue
            for parent, pg in zip(t._ctx.parents, t._ctx.backward(g)):
                if pg is None or not parent.requires_grad:
                    continue
                if pg.shape != parent.shape:
                    raise ShapeError(f"internal: gradient of shape {pg.shape} for a tensor of shape {parent.shape}")
                pg = pg.cast(parent.dtype)
                grads[id(parent)] = pg if id(parent) not in grads else grads[id(parent)] + pg
            if not retain_graph:
                t._ctx = None
    return leaves


class _Contiguous(autograd.Function):
    def forward(self, x: Node) -> Node:
        return Node(Op.CONTIGUOUS, x.dtype, (x,))

    def backward(self, g):
        return (g,)


class _ToDevice(autograd.Function):
    def forward(self, x: Node, device: str) -> Node:
        src = Tensor.from_node(x, self.parents[0].device)
        self.src_device = src.device
        return _buffer_node(src.to_bytes(), x.dtype, x.shape, device)

    @classmethod
    def apply(cls, *parents: Tensor, **kwargs: Any) -> Tensor:
        out = super().apply(*parents, **kwargs)
        out.device = kwargs["device"]
        return out

    def backward(self, g):
        return (g.to(self.src_device),)
