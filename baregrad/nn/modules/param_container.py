"""ParameterList and ParameterDict: parameters held by index or key and registered under those names ("0", "1", ...
or the keys), so an owning module's parameters() and state_dict() hold them with torch's names
("plist.0", "pdict.alpha"). A Tensor that is no Parameter yet is made one, as torch does; other values are kept as
plain attributes."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, Iterator

from baregrad.errors import ArgumentError
from baregrad.nn.module import Module, Parameter, is_parameter
from baregrad.tensor import Tensor


def _as_parameter(value: Any) -> Any:
    return Parameter(value) if isinstance(value, Tensor) and not is_parameter(value) else value


def _describe(k: Any, v: Any) -> str:
    if isinstance(v, Tensor):
        kind = "Parameter" if is_parameter(v) else "Tensor"
        return f"({k}): {kind} containing: [{v.dtype.name} of size {'x'.join(map(str, v.shape))}]"
    return f"({k}): Object of type: {type(v).__name__}"


class ParameterList(Module):
    def __init__(self, values: Iterable[Any] | None = None):
        super().__init__()
        object.__setattr__(self, "_size", 0)
        if values is not None:
            self.extend(values)

    def _index(self, i: int) -> str:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} is out of range for a ParameterList of {len(self)}")
        return str(i % len(self))

    def _get(self, name: str) -> Any:
        return self._parameters[name] if name in self._parameters else getattr(self, name)

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return type(self)([self._get(str(j)) for j in range(len(self))[i]])
        return self._get(self._index(i))

    def __setitem__(self, i: int, value: Any) -> None:
        setattr(self, self._index(i), _as_parameter(value))

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        return (self._get(str(j)) for j in range(len(self)))

    def __iadd__(self, values: Iterable[Any]) -> "ParameterList":
        return self.extend(values)

    def append(self, value: Any) -> "ParameterList":
        object.__setattr__(self, "_size", self._size + 1)
        self[self._size - 1] = value
        return self

    def extend(self, values: Iterable[Any]) -> "ParameterList":
        if not isinstance(values, Iterable) or isinstance(values, Tensor):
            raise TypeError(f"ParameterList.extend should be called with an iterable, but got {type(values).__name__}")
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_describe(k, v) for k, v in enumerate(self))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise ArgumentError("ParameterList should not be called.")


class ParameterDict(Module):
    def __init__(self, parameters: Any = None):
        super().__init__()
        object.__setattr__(self, "_keys", {})
        if parameters is not None:
            self.update(parameters)

    @staticmethod
    def _key(key: Any) -> str:
        if not isinstance(key, str):
            raise TypeError(f"a ParameterDict key must be a string, not {type(key).__name__} ({key!r})")
        return key

    def __getitem__(self, key: str) -> Any:
        key = self._key(key)
        if key not in self._keys:
            raise KeyError(key)
        return self._parameters[key] if key in self._parameters else getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        self._keys[self._key(key)] = None
        setattr(self, key, _as_parameter(value))

    def __delitem__(self, key: str) -> None:
        del self._keys[self._key(key)]
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self._keys))

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def keys(self) -> Any:
        return self._keys.keys()

    def values(self) -> Iterator[Any]:
        return (self[k] for k in self._keys)

    def items(self) -> Iterator[tuple[str, Any]]:
        return ((k, self[k]) for k in self._keys)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: str) -> Any:
        value = self[key]
        del self[key]
        return value

    def popitem(self) -> tuple[str, Any]:
        if not self._keys:
            raise KeyError("popitem(): ParameterDict is empty")
        key = next(reversed(self))
        return key, self.pop(key)

    def clear(self) -> None:
        for k in list(self._keys):
            del self[k]

    def copy(self) -> "ParameterDict":
        return ParameterDict(OrderedDict(self.items()))

    def fromkeys(self, keys: Iterable[str], default: Any = None) -> "ParameterDict":
        return ParameterDict((k, default) for k in keys)

    def update(self, parameters: Any) -> None:
        """From a ParameterDict, an OrderedDict or (key, value) pairs in their order; from another mapping in sorted
        key order (torch's rule)."""
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs: Iterable[Any] = parameters.items()
        elif isinstance(parameters, Mapping):
            pairs = sorted(parameters.items())
        elif isinstance(parameters, Iterable):
            pairs = parameters
        else:
            raise TypeError(f"ParameterDict.update needs an iterable of key/value pairs, got "
                            f"{type(parameters).__name__}")
        for j, pair in enumerate(pairs):
            if not isinstance(pair, Iterable) or len(pair) != 2:
                raise ArgumentError(f"ParameterDict update sequence element #{j} must be a (key, value) pair, got "
                                    f"{pair!r}")
            self[pair[0]] = pair[1]

    def __or__(self, other: "ParameterDict") -> "ParameterDict":
        out = self.copy()
        out.update(other)
        return out

    def __ror__(self, other: "ParameterDict") -> "ParameterDict":
        out = other.copy()
        out.update(self)
        return out

    def __ior__(self, other: "ParameterDict") -> "ParameterDict":
        self.update(other)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_describe(k, v) for k, v in self.items())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise ArgumentError("ParameterDict should not be called.")
