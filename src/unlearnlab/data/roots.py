"""The data root: the one folder the standard data sets (CIFAR, MNIST, SVHN) are read from.

Resolved here and nowhere else. An explicit root (`--data-root`, `data_root=`) wins; otherwise the
registered sources are asked in the order they were registered, and the first that names a folder
decides:

1. `env`: `$UNLEARNLAB_DATA`;
2. `cache`: the per-user cache, `$XDG_CACHE_HOME/unlearnlab/data` (default `~/.cache/unlearnlab/data`).

A plugin may register another source (`@register_data_root`), e.g. a lab's shared folder. Only a
source declared `create=True` (the cache) is created when a download needs it: a root the user
named must exist, so that a typo is reported instead of filling a new folder with downloads.

The layout inside the root is torchvision's (`ROOT/cifar-10-batches-py/`, `ROOT/MNIST/raw/`,
`ROOT/train_32x32.mat`, ...), so pointing the root at a folder torchvision filled reuses its files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInput
from ..registry import Registry

#: The environment variable that names the data root.
ENV = "UNLEARNLAB_DATA"
_HINT = f"give --data-root (data_root=) or set ${ENV} to the folder that holds the data sets"


@dataclass(frozen=True)
class RootSource:
    """One place a data root may come from: `find()` returns a folder or None (no opinion)."""

    find: Callable[[], str | None]
    label: str
    create: bool = False


DATA_ROOTS: Registry[RootSource] = Registry("data root source")


def register_data_root(name: str, *, label: str, create: bool = False
                       ) -> Callable[[Callable[[], str | None]], Callable[[], str | None]]:
    """Decorator that registers `fn() -> folder | None` as a data-root source, asked after those
    registered before it. `label` names it in messages; `create`: the folder may be created."""
    def decorate(fn: Callable[[], str | None]) -> Callable[[], str | None]:
        DATA_ROOTS.add(name, RootSource(fn, label, create))
        return fn

    return decorate


@register_data_root("env", label=f"${ENV}")
def _from_env() -> str | None:
    return os.environ.get(ENV) or None


@register_data_root("cache", label="the user cache", create=True)
def _user_cache() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return os.path.join(base, "unlearnlab", "data")


@dataclass(frozen=True)
class DataRoot:
    """A resolved data root: an absolute path, where it came from, and whether it may be created."""

    path: Path
    source: str
    create: bool = False

    def check(self) -> Path:
        """The path if it is a directory (creating it where allowed); BadInput otherwise."""
        p = self.path
        if p.is_dir():
            return p
        if p.exists():
            raise BadInput(f"data root {str(p)!r} (from {self.source}) is not a directory; {_HINT}")
        if not self.create:
            raise BadInput(f"data root {str(p)!r} (from {self.source}) does not exist; create it, or {_HINT}")
        try:
            p.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadInput(f"data root {str(p)!r} (from {self.source}) cannot be created "
                           f"({exc.strerror or type(exc).__name__}); {_HINT}") from None
        return p


def resolve_data_root(explicit: str | os.PathLike[str] | None = None) -> DataRoot:
    """The data root in force: `explicit` if given, else the first registered source with an answer."""
    if explicit is not None:
        if not isinstance(explicit, (str, os.PathLike)) or not os.fspath(explicit):
            raise BadInput(f"data_root={explicit!r} is not allowed; it must be the path of a folder")
        return DataRoot(_absolute(explicit), "--data-root")
    for name in DATA_ROOTS:
        source = DATA_ROOTS.get(name)
        found = source.find()
        if found:
            return DataRoot(_absolute(found), source.label, source.create)
    raise BadInput(f"no data root is set; {_HINT}")  # only if a plugin removed the cache source


def _absolute(path: str | os.PathLike[str]) -> Path:
    # Absolute and with ~ expanded, so that the path recorded with a run reads back from any folder;
    # symlinks are kept (the user's name for the folder is the one worth recording).
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
