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
from baregrad.engine.pending import pending_writes, write_done
from baregrad.errors import ArgumentError, DTypeError, ShapeError
from baregrad.host_data import (
    check_fits,
    fit_range,
    flatten_data,
    infer_dtype,
    nest_values,
    numpy_dtype_name,
    pack_values,
)
from baregrad.ir.node import Node
from baregrad.ir.ops import Op
from baregrad.tensor_ops.hooks import AFTER_BACKWARD, HOOKS, RETAINED, run_after_backward, run_hooks
from baregrad.tensor_ops.mixins import TensorExtras

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
        t = Tensor.from_node(private_node_copy(self.node, self.device), self.device)
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


# Float fmod, remainder and floor_divide follow torch's kernels (c10 div_floor_floating, remainder_kernel): all
# three start from Op.MOD, C's exact fmod; a - floor(a / b) * b rounds a / b first (1.0 % 0.1 gave 0, not 0.1)


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


def private_node_copy(node: Node, device: str) -> Node:
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
