"""Unlearning methods: one file per method, each registered with `@register_method`."""

from . import retrain, ft, ga, rl  # noqa: F401, I001  (registration order = listing order)
from .base import METHODS, Method, MethodResult, UnlearningTask, build_method, register_method, run_method
from .plugins import ENTRY_POINT_GROUP, PLUGIN_ERRORS, ensure_loaded, load_method_file


def method_names() -> list[str]:
    ensure_loaded()
    return METHODS.names()


__all__ = [
    "ENTRY_POINT_GROUP", "METHODS", "PLUGIN_ERRORS", "Method", "MethodResult", "UnlearningTask",
    "build_method", "ensure_loaded", "load_method_file", "method_names", "register_method", "run_method",
]
