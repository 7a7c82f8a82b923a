"""Containers: Sequential, ModuleList, ModuleDict (children named "0", "1", ... like torch's)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterable, Iterator

from baregrad.nn.module import Module


class Sequential(Module):
    def __init__(self, *mods: Any):
        super().__init__()
        if len(mods) == 1 and isinstance(mods[0], OrderedDict):
            for k, m in mods[0].items():
                self.register_module(k, m)
        else:
            for i, m in enumerate(mods):
                self.register_module(str(i), m)

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            # a slice keeps its children's names ("2", "3", ...), so its state_dict keys match torch's
            return Sequential(OrderedDict(list(self._modules.items())[i]))
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __setitem__(self, i: int, m: Module) -> None:
        self.register_module(_key_at(self._modules, i), m)

    def __delitem__(self, i: int | slice) -> None:
        _delete_and_renumber(self, i)

    def append(self, m: Module) -> "Sequential":
        self.register_module(str(len(self._modules)), m)
        return self

    def extend(self, mods: Iterable[Module]) -> "Sequential":
        for m in mods:
            self.append(m)
        return self

    def insert(self, index: int, m: Module) -> "Sequential":
        _insert(self, index, m)
        return self

    def pop(self, i: int | slice) -> Any:
        v = self[i]
        del self[i]
        return v


def _key_at(mods: "OrderedDict[str, Module]", i: int) -> str:
    """The name of the i-th child (negative counts from the end), as torch's _get_item_by_idx finds it."""
    n = len(mods)
    if not -n <= i < n:
        raise IndexError(f"index {i} is out of range for {n} modules")
    return list(mods)[i % n]


def _delete_and_renumber(container: Module, i: int | slice) -> None:
    """Delete child i (or a slice of them); the rest are renamed "0", "1", ... as torch renames them."""
    keys = list(container._modules)[i] if isinstance(i, slice) else [_key_at(container._modules, i)]
    for k in keys:
        del container._modules[k]
    kept = list(container._modules.items())
    container._modules.clear()
    container._modules.update((str(j), m) for j, (_, m) in enumerate(kept))


def _insert(container: Module, index: int, m: Module) -> None:
    """Put m at position index (negative counts from the end), shifting the children after it up by one."""
    if not isinstance(m, Module):
        raise TypeError(f"{type(container).__name__}.insert takes a Module, not {type(m).__name__}")
    mods = list(container._modules.values())
    n = len(mods)
    if not -n <= index <= n:
        raise IndexError(f"index {index} is out of range for inserting into {n} modules")
    mods.insert(index + n if index < 0 else index, m)
    container._modules.clear()
    container._modules.update((str(j), c) for j, c in enumerate(mods))


class ModuleList(Module):
    def __init__(self, mods: Iterable[Module] | None = None):
        super().__init__()
        for m in mods or ():
            self.append(m)

    def append(self, m: Module) -> "ModuleList":
        self.register_module(str(len(self._modules)), m)
        return self

    def extend(self, mods: Iterable[Module]) -> "ModuleList":
        for m in mods:
            self.append(m)
        return self

    def __getitem__(self, i: int | slice) -> Any:
        mods = list(self._modules.values())
        return ModuleList(mods[i]) if isinstance(i, slice) else mods[i]

    def __setitem__(self, i: int, m: Module) -> None:
        self.register_module(_key_at(self._modules, i), m)

    def __delitem__(self, i: int | slice) -> None:
        _delete_and_renumber(self, i)

    def insert(self, index: int, m: Module) -> None:
        _insert(self, index, m)

    def pop(self, i: int | slice) -> Any:
        v = self[i]
        del self[i]
        return v

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class ModuleDict(Module):
    def __init__(self, mods: dict[str, Module] | None = None):
        super().__init__()
        for k, m in (mods or {}).items():
            self.register_module(k, m)

    def __getitem__(self, k: str) -> Module:
        return self._modules[k]

    def __setitem__(self, k: str, m: Module) -> None:
        self.register_module(k, m)

    def __contains__(self, k: str) -> bool:
        return k in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def keys(self) -> Any:
        return self._modules.keys()

    def values(self) -> Any:
        return self._modules.values()

    def items(self) -> Any:
        return self._modules.items()
