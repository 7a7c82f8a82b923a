"""Module: the base of every layer. It tracks parameters, buffers and child modules by attribute name, so
state_dict keys match torch's (`features.0.weight`) and torch checkpoints load by name.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Callable, Iterator, NamedTuple

from baregrad.errors import ShapeError
from baregrad.tensor import Tensor, realize_all


class Parameter(Tensor):
    """torch.nn.Parameter: a leaf tensor that a Module registers as a parameter. A Tensor subclass, so a frozen one
    (requires_grad=False) is still known as a parameter; ops on it return plain Tensors."""
    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True):
        src = data.detach() if isinstance(data, Tensor) else Tensor([] if data is None else data)
        src = _private(src)
        super().__init__(src, device=src.device, requires_grad=requires_grad)

    def __deepcopy__(self, memo: dict) -> "Parameter":
        if id(self) in memo:
            return memo[id(self)]
        copy = super().__deepcopy__(memo)  # a plain Tensor with its own buffer (and grad)
        out = memo[id(self)] = Parameter(copy, self.requires_grad)
        out.grad = copy.grad
        return out

    def __reduce__(self) -> tuple:
        rebuild, args = super().__reduce__()
        return (rebuild_parameter, (rebuild, args))


def rebuild_parameter(rebuild: Any, args: tuple) -> Parameter:
    """pickle's constructor for a Parameter: the Tensor, rebuilt as Tensor.__reduce__ says, made a Parameter."""
    t = rebuild(*args)
    return Parameter(t, t.requires_grad)


def is_parameter(value: Any) -> bool:
    """A Parameter (frozen ones included), or any Tensor with requires_grad, which a Module also registers."""
    return isinstance(value, Parameter) or (isinstance(value, Tensor) and value.requires_grad)


def _private(t: Tensor) -> Tensor:
    """A lazy tensor made concrete in a buffer of its own: equal lazy graphs (two ones(3)) would share one
    realized buffer, and parameters and buffers are written in place. A constant fill (zeros, ones, full) is packed
    on the host: run as a kernel it would compile once per parameter shape when a model is built."""
    from baregrad.ir.ops import Op
    if t.node.op is Op.BUFFER:
        return t
    node = t.node
    while node.op in (Op.EXPAND, Op.RESHAPE) and len(node.src) == 1:
        node = node.src[0]
    if node.op is Op.CONST and not node.src:
        one = Tensor([node.arg], dtype=t.dtype, device=t.device)
        return Tensor.from_bytes(bytes(one.to_bytes()) * math.prod(t.shape), t.dtype, t.shape, t.device)
    return Tensor.from_bytes(t.to_bytes(), t.dtype, t.shape, t.device)


class IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Subclasses set parameters, buffers and modules as attributes in __init__ and define forward()."""
    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ---- registration ----
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"call Module.__init__() before assigning {name!r} on {type(self).__name__}")
        tables = (self._parameters, self._buffers, self._modules)
        if isinstance(value, Module):
            table = self._modules
        elif name in self._buffers:
            table = self._buffers
        elif name in self._parameters or is_parameter(value):
            table = self._parameters
        else:
            for other in tables:
                other.pop(name, None)
            object.__setattr__(self, name, value)
            return
        for other in tables:
            if other is not table:
                other.pop(name, None)
        self.__dict__.pop(name, None)
        table[name] = value

    def __getattr__(self, name: str) -> Any:
        for table in ("_parameters", "_buffers", "_modules"):
            d = self.__dict__.get(table)
            if d is not None and name in d:
                return d[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Tensor | None) -> None:
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        self._buffers[name] = _private(tensor) if tensor is not None else None
        if persistent:
            self._non_persistent.discard(name)  # registered again as persistent: back in state_dict, as in torch
        else:
            self._non_persistent.add(name)

    def register_module(self, name: str, module: "Module | None") -> None:
        self._modules[name] = module

    add_module = register_module

    # ---- traversal ----
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            kids = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items() if c is not None]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator["Module"]:
        return (m for _, m in self.named_modules())

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        return ((k, m) for k, m in self._modules.items() if m is not None)

    def children(self) -> Iterator["Module"]:
        return (m for _, m in self.named_children())

    def _named_tensors(self, table: str, prefix: str = "", recurse: bool = True,
                       remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        for mod_name, m in (self.named_modules(prefix) if recurse else [(prefix, self)]):
            for k, t in getattr(m, table).items():
                if t is not None and not (remove_duplicate and id(t) in seen):
                    seen.add(id(t))
                    yield (f"{mod_name}.{k}" if mod_name else k), t

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_tensors("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Tensor]:
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_tensors("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        return (b for _, b in self.named_buffers(recurse=recurse))

    def get_submodule(self, target: str) -> "Module":
        """The module at a dotted path ("features.0"); "" is this module."""
        m: Module = self
        for i, name in enumerate(target.split(".") if target else []):
            child = m._modules.get(name)
            if not isinstance(child, Module):
                where = ".".join(target.split(".")[:i]) or type(self).__name__
                raise AttributeError(f"{where} has no submodule {name!r} (looking up {target!r})")
            m = child
        return m

    def _get_tensor(self, target: str, table: str, kind: str) -> Tensor:
        module_path, _, name = target.rpartition(".")
        t = getattr(self.get_submodule(module_path), table).get(name)
        if t is None:
            raise AttributeError(f"{target!r} is no {kind}")
        return t

    def get_parameter(self, target: str) -> Tensor:
        return self._get_tensor(target, "_parameters", "parameter")

    def get_buffer(self, target: str) -> Tensor:
        return self._get_tensor(target, "_buffers", "buffer")

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call fn on every submodule, children before their parent (torch's order), then return self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ---- state ----
    def state_dict(self, prefix: str = "", *, destination: dict | None = None,
                   keep_vars: bool = False) -> "OrderedDict[str, Tensor]":
        """Parameters and persistent buffers by name. As in torch the values are detached (they share the
        buffers, so they follow later updates) unless keep_vars, which hands back the tensors themselves."""
        out: OrderedDict[str, Tensor] = OrderedDict()
        for mod_name, m in self.named_modules(prefix.rstrip(".")):
            items = list(m._parameters.items()) + [(k, b) for k, b in m._buffers.items()
                                                   if k not in m._non_persistent]
            for k, t in items:
                if t is not None:
                    out[f"{mod_name}.{k}" if mod_name else k] = t
        realize_all(list(out.values()))
        if not keep_vars:
            out = OrderedDict((k, t.detach()) for k, t in out.items())
        if destination is not None:
            destination.update(out)
            return destination  # type: ignore[return-value]
        return out

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values in by name. strict: every key must match, and a shape mismatch is always an error."""
        own = self.state_dict(keep_vars=True)  # the tensors themselves: they are written in place
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = [f"{k}: checkpoint {tuple(_shape(v))} vs model {own[k].shape}" for k, v in state_dict.items()
                      if k in own and tuple(_shape(v)) != own[k].shape]
        problems = []
        if mismatched:
            problems.append("shape mismatch for " + "; ".join(mismatched))
        if strict and missing:
            problems.append(f"missing keys: {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {unexpected}")
        if problems:
            raise ShapeError(f"error loading state_dict into {type(self).__name__}: " + " | ".join(problems))
        targets = []
        for k, v in state_dict.items():
            if k in own:
                targets.append(own[k].assign(_as_tensor(v, own[k])))
        realize_all(targets)
        return IncompatibleKeys(missing, unexpected)

    # ---- modes and placement ----
    def train(self, mode: bool = True) -> "Module":
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, mode: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad = mode
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            p.grad = None if set_to_none or p.grad is None else p.grad.zeros_like()

    def to(self, *args: Any, **kwargs: Any) -> "Module":
        """Move or cast every parameter and buffer (floating dtypes only change float tensors, like torch)."""
        for t in list(self.parameters()) + list(self.buffers()):
            moved = t.detach().to(*args, **kwargs) if t.dtype.is_float else _device_only(t, args, kwargs)
            if moved.node is not t.node or moved.device != t.device:
                moved = moved.contiguous().realize()
                t.node, t.device = moved.node, moved.device
        return self

    def float(self) -> "Module":
        return self.to("float32")

    def half(self) -> "Module":
        return self.to("float16")

    # ---- calling and printing ----
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        kids = [f"({k}): " + repr(m).replace("\n", "\n  ") for k, m in self.named_children()]
        extra = self.extra_repr()
        if not kids:
            return f"{type(self).__name__}({extra})"
        lines = ([extra] if extra else []) + kids
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def _shape(v: Any) -> tuple[int, ...]:
    return tuple(v.shape)


def _as_tensor(v: Any, like: Tensor) -> Tensor:
    if isinstance(v, Tensor):
        return v
    if hasattr(v, "to_tensor"):
        return v.to_tensor()
    if type(v).__module__.startswith("torch"):
        v = v.detach().cpu().numpy()
    return Tensor(v, device=like.device)


def _device_only(t: Tensor, args: tuple, kwargs: dict) -> Tensor:
    """Module.to on an integer tensor: apply the device part only."""
    device = kwargs.get("device")
    for a in args:
        if isinstance(a, str) and not a.lower().startswith(("float", "half", "bfloat", "double")):
            device = a
    return t.to(device) if device is not None else t


__all__ = ["Module", "Parameter", "IncompatibleKeys", "is_parameter", "rebuild_parameter"]
