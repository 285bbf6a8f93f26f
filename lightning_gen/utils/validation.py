"""Validation of closed options: a bad value fails at construction and lists the allowed values."""

from __future__ import annotations

from typing import Any, get_args


def check_choice(name: str, value: Any, choices: Any) -> Any:
    """Return ``value`` if it is one of ``choices`` (a ``Literal[...]`` type or an iterable).

    Raises:
        ValueError: naming the option, the bad value and every allowed value.
    """
    allowed = get_args(choices) or tuple(choices)
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name}={value!r} is not supported; choose one of: {listed}.")
    return value


def check_positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    """Return ``value`` if it is > 0 (or >= 0 with ``allow_zero``); else a ValueError naming it."""
    ok = value >= 0 if allow_zero else value > 0
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}.")
    return value
