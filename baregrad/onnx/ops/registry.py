"""Where ONNX operator implementations are registered and found, and the context the runner hands each call."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from baregrad.errors import FormatError

DEFAULT_DOMAIN = ""
_ALIASES = {"ai.onnx": DEFAULT_DOMAIN}


@dataclass
class OpContext:
    """What an operator may need beyond its inputs and attributes.

    opset:        the model's opset version for the node's domain (behaviour changed across versions)
    num_outputs:  how many outputs the node declares, optional empty-named ones included
    output_used:  per declared output, whether the graph names it (an empty name means "not wanted")
    device:       the device the model runs on (tensors an op creates go there)
    run_graph:    runs a subgraph attribute (If/Loop/Scan bodies) on a list of input values, returns its outputs
    node_name:    for error messages
    """
    opset: int
    num_outputs: int
    device: str
    run_graph: Callable[[Any, Sequence[Any]], list[Any]]
    node_name: str = ""
    output_used: list[bool] = field(default_factory=list)


OpImpl = Callable[[OpContext, list, dict[str, Any]], Any]
_TABLE: dict[tuple[str, str], OpImpl] = {}


def _domain(domain: str) -> str:
    return _ALIASES.get(domain, domain)


def register(op_type: str, domain: str = DEFAULT_DOMAIN) -> Callable[[OpImpl], OpImpl]:
    """Decorator: `@register("Relu")` or `@register("FusedMatMul", "com.microsoft")`."""
    def put(fn: OpImpl) -> OpImpl:
        key = (_domain(domain), op_type)
        if key in _TABLE:
            raise ValueError(f"ONNX op {key} registered twice")
        _TABLE[key] = fn
        return fn
    return put


def lookup(op_type: str, domain: str = DEFAULT_DOMAIN) -> OpImpl:
    _load_op_modules()
    impl = _TABLE.get((_domain(domain), op_type))
    if impl is None:
        where = f"domain '{domain}'" if domain else "the default domain"
        raise FormatError(f"ONNX operator {op_type} of {where} is not supported by baregrad")
    return impl


def registered_ops() -> list[tuple[str, str]]:
    _load_op_modules()
    return sorted(_TABLE)


_LOADED = False


def _load_op_modules() -> None:
    """Import every module of this package once (each registers its ops when imported)."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    import importlib
    import pkgutil

    import baregrad.onnx.ops as package
    for info in pkgutil.iter_modules(package.__path__):
        if info.name != "registry":
            importlib.import_module(f"baregrad.onnx.ops.{info.name}")
