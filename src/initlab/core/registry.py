"""A generic registry: named entries filled by a decorator, as in timm's model registry.

One :class:`Registry` holds the schemes, one the activations, one the datasets. Entries are added
once (a second entry under the same name is an :class:`InitlabError`), looked up by name (an unknown
name raises an ``InitlabError`` naming the closest valid names), and listed, optionally filtered by a
shell-style pattern (:func:`fnmatch.fnmatchcase`: ``*``, ``?``, ``[seq]``):

>>> reg: Registry[int] = Registry("number")
>>> @reg.register()
... def forty_two() -> int:
...     return 42
>>> reg.add("seven", 7)
7
>>> reg.names("*o")
['forty_two']
>>> reg["seven"]
7
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import InitlabError, unknown

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind (``kind`` is the word used in error messages: ``"scheme"``)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        """Register ``entry`` under ``name`` and return it; a name already taken is an error."""
        if not isinstance(name, str) or not name:
            raise InitlabError(f"a {self.kind} needs a non-empty name, got {name!r}")
        if name in self._entries:
            raise InitlabError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator registering the decorated object itself under ``name`` (default its ``__name__``)."""

        def deco(entry: T) -> T:
            key = name if name is not None else getattr(entry, "__name__", None)
            if not isinstance(key, str):
                raise InitlabError(f"{self.kind} {entry!r} has no __name__; pass register(name=...)")
            return self.add(key, entry)

        return deco

    def remove(self, name: str) -> T:
        """Take ``name`` out of the registry and return its entry (for plug-ins and their tests)."""
        if name not in self._entries:
            raise unknown(self.kind, name, self._entries)
        return self._entries.pop(name)

    def __getitem__(self, name: str) -> T:
        """The entry for ``name``; an unknown name raises with the closest valid names."""
        entry = self._entries.get(name)
        if entry is None:
            raise unknown(self.kind, name, self._entries)
        return entry

    def get(self, name: str) -> T | None:
        """The entry for ``name``, or ``None``."""
        return self._entries.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def names(self, pattern: str | None = None) -> list[str]:
        """Sorted names, those matching the shell-style ``pattern`` (``"he_*"``) if one is given."""
        if pattern is None:
            return sorted(self._entries)
        if not isinstance(pattern, str):
            raise InitlabError(f"a {self.kind} name pattern must be a string, got {pattern!r}")
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self)} entries)"
