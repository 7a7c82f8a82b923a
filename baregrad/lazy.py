"""Subpackages loaded on first attribute access (PEP 562), so `bg.nn` works after `import baregrad` without
`import baregrad` paying for nn, optim, onnx or distributed."""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Callable, Iterable


def lazy_submodules(package: str, names: Iterable[str]) -> Callable[[str], ModuleType]:
    """A module-level `__getattr__` for `package` that imports `package.<name>` the first time it is asked for."""
    known = frozenset(names)

    def __getattr__(name: str) -> ModuleType:
        if name not in known:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        try:
            return importlib.import_module(f"{package}.{name}")  # the import also sets it as the package attribute
        except ModuleNotFoundError as e:
            if e.name != f"{package}.{name}":
                raise  # the subpackage exists but needs something missing: say what
            raise AttributeError(f"module {package!r} has no attribute {name!r} ({package}.{name} is not part "
                                 "of this install)") from e

    return __getattr__
