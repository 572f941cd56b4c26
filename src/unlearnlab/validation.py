"""One-call checks for hyper-parameters; each raises BadInput naming the value and the allowed range."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .errors import BadInput


def _finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadInput(f"{name}={value!r} is not allowed; it must be a finite number")
    return float(value)


def check_positive(**values: Any) -> None:
    """Every value must be a finite number > 0."""
    for name, value in values.items():
        if _finite(name, value) <= 0:
            raise BadInput(f"{name}={value!r} is not allowed; it must be > 0")


def check_non_negative(**values: Any) -> None:
    for name, value in values.items():
        if _finite(name, value) < 0:
            raise BadInput(f"{name}={value!r} is not allowed; it must be >= 0")


def check_range(name: str, value: Any, low: float, high: float, *, closed: str = "both") -> None:
    """low <= value <= high; `closed` in {"both", "left", "right", "neither"} says which ends count."""
    v = _finite(name, value)
    lo_ok = v >= low if closed in ("both", "left") else v > low
    hi_ok = v <= high if closed in ("both", "right") else v < high
    if not (lo_ok and hi_ok):
        lb = "[" if closed in ("both", "left") else "("
        rb = "]" if closed in ("both", "right") else ")"
        raise BadInput(f"{name}={value!r} is not allowed; it must be in {lb}{low}, {high}{rb}")


def check_int(name: str, value: Any, minimum: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BadInput(f"{name}={value!r} is not allowed; it must be an integer >= {minimum}")


def check_sgd(lr: Any, epochs: Any, batch_size: Any, momentum: Any = 0.0, weight_decay: Any = 0.0) -> None:
    """The hyper-parameters every SGD-trained method shares."""
    check_positive(lr=lr)
    check_int("epochs", epochs, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    check_non_negative(momentum=momentum, weight_decay=weight_decay)


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> None:
    allowed = list(allowed)
    if value not in allowed:
        raise BadInput(f"{name}={value!r} is not allowed; choose from {', '.join(map(str, allowed))}")


def coerce(name: str, raw: Any, default: Any) -> Any:
    """Convert a command-line string to the type of `default` (bool, int, float, str or tuple)."""
    if not isinstance(raw, str) or isinstance(default, str) or default is None:
        return raw
    kind = type(default)
    try:
        if kind is bool:
            low = raw.lower()
            if low not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return low in ("true", "1", "yes")
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is tuple:
            return tuple(type(default[0])(v) for v in raw.split(",")) if default else tuple(raw.split(","))
    except (ValueError, IndexError):
        pass
    expected = {bool: "a bool (true or false)", int: "an int"}.get(kind, f"a {kind.__name__}")
    raise BadInput(f"{name}={raw!r} is not allowed; expected {expected}")
