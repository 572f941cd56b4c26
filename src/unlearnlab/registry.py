"""A small decorator registry, shared by datasets, models, methods and metrics (after timm's)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar

from .errors import BadInput

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> object, filled by a decorator at import time."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorate(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorate

    def add(self, name: str, obj: T) -> None:
        if name in self._items and self._items[name] is not obj:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = obj

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            hint = difflib.get_close_matches(name, self._items, n=1)
            near = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise BadInput(
                f"unknown {self.kind} {name!r}{near}; allowed: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


def load_entry_points(group: str, register: Callable[[EntryPoint], None], errors: dict[str, str]) -> None:
    """Call `register` on every installed entry point of `group`. A plugin that fails is recorded in
    `errors` (name -> reason) and the rest still load: a broken plugin must not take the built-ins down."""
    for ep in entry_points(group=group):
        try:
            register(ep)
        except Exception as err:
            errors[ep.name] = f"{type(err).__name__}: {err}"
