"""Third-party methods: packages register through the `unlearnlab.methods` entry-point group.

An entry point may name a module (importing it registers its methods) or a Method subclass
(registered under its `name`). A plugin that fails is recorded with its reason; the rest load.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import inspect
from pathlib import Path

from ..errors import BadInput
from ..registry import load_entry_points

ENTRY_POINT_GROUP = "unlearnlab.methods"
PLUGIN_ERRORS: dict[str, str] = {}
_loaded = False
#: Resolved paths of the method files loaded in this process, so worker processes can load them too.
LOADED_FILES: list[str] = []


def _register_object(ep_name: str, obj: object) -> None:
    from .base import METHODS, Method

    if inspect.isclass(obj):
        if not issubclass(obj, Method) or not callable(getattr(obj, "unlearn", None)):
            raise TypeError(f"{obj!r} is not a unlearnlab Method subclass")
        if not obj.name:
            raise TypeError(f"{obj.__name__} has no name: decorate it with @register_method")
        obj.param_defaults()  # raises if the constructor does not follow the protocol
        if obj.name not in METHODS:
            METHODS.add(obj.name, obj)


def ensure_loaded() -> None:
    """Load every installed plugin once per process."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    load_entry_points(ENTRY_POINT_GROUP, lambda ep: _register_object(ep.name, ep.load()), PLUGIN_ERRORS)


def load_method_file(path: str | Path) -> None:
    """Import a local .py file whose @register_method classes join the registry."""
    p = Path(path)
    if not p.is_file():
        raise BadInput(f"method file {str(path)!r} does not exist")
    # One module per file, so loading the same file twice (API, then CLI) registers its methods once.
    name = "unlearnlab_user_" + hashlib.sha256(str(p.resolve()).encode()).hexdigest()[:16]
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, p)
    if spec is None or spec.loader is None:
        raise BadInput(f"method file {str(path)!r} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        sys.modules[name] = module
        LOADED_FILES.append(str(p.resolve()))
    except Exception as err:
        raise BadInput(f"method file {str(path)!r} failed to import: {type(err).__name__}: {err}") from None
