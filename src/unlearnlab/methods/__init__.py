"""Unlearning methods: one file per method, each registered with `@register_method`.

Every module of this package except the infrastructure below is imported, so adding a method is
adding a file. `retrain` is imported first so it heads every listing.
"""

import importlib
import pkgutil

from .base import METHODS, Method, MethodResult, UnlearningTask, build_method, register_method, run_method
from .plugins import ENTRY_POINT_GROUP, PLUGIN_ERRORS, ensure_loaded, load_method_file

_INFRASTRUCTURE = {"base", "plugins", "common", "generative_common"}
for _name in ["retrain", *sorted(m.name for m in pkgutil.iter_modules(__path__))]:
    if _name not in _INFRASTRUCTURE and not _name.startswith("_"):
        importlib.import_module(f"{__name__}.{_name}")


def method_names() -> list[str]:
    ensure_loaded()
    return METHODS.names()


__all__ = [
    "ENTRY_POINT_GROUP", "METHODS", "PLUGIN_ERRORS", "Method", "MethodResult", "UnlearningTask",
    "build_method", "ensure_loaded", "load_method_file", "method_names", "register_method", "run_method",
]
