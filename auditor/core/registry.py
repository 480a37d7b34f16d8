"""A registry: names mapped to what they stand for (a judge kind, a target backend, an output
writer), with a clear error for a name nobody registered, never a silent fallback.

An entry may point at its implementation by "module:attribute" so that reading a policy file
never imports vLLM or scikit-learn; `load` imports it when it is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar

from auditor.core.errors import AuditorError


class Named(Protocol):
    @property
    def name(self) -> str: ...


EntryT = TypeVar("EntryT", bound=Named)


class Registry(Generic[EntryT]):
    def __init__(self, what: str, field: str) -> None:
        self.what = what  # "judge kind", "target backend"
        self.field = field  # where a user names one, e.g. "judge.kind"
        self._entries: dict[str, EntryT] = {}

    def register(self, entry: EntryT, *, replace: bool = False) -> EntryT:
        if entry.name in self._entries and not replace:
            raise ValueError(f"{self.what} {entry.name!r} is already registered")
        self._entries[entry.name] = entry
        return entry

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[EntryT]:
        return iter(self._entries.values())

    def get(self, name: str) -> EntryT:
        try:
            return self._entries[name]
        except KeyError:
            raise AuditorError(f"unknown {self.what} {name!r}",
                               hint=f"{self.field} is one of: {', '.join(self._entries)}"
                               ) from None


def load(reference: str) -> object:
    """The object a "module:attribute.attribute" reference names, imported now."""
    module, _, path = reference.partition(":")
    found: object = importlib.import_module(module)
    for attribute in path.split("."):
        found = getattr(found, attribute)
    return found
