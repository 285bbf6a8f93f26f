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


def check_range(name: str, values: Any, low: int, high: int) -> None:
    """Raise unless every entry of the tensor ``values`` lies in [low, high], naming ``name`` and the bounds.

    Only host (CPU) tensors are read: reading a CUDA tensor's values back stalls the device until the
    queued work has finished, so hot paths (every step's labels, timesteps, augmentation levels) do not
    check device tensors; their inputs are checked once where they enter (sampling entry points, which
    build or check labels and levels on the host) or made in range by construction (timesteps drawn with
    randint, a sampler's timestep list).
    """
    if values.device.type != "cpu" or values.numel() == 0:
        return
    lo, hi = int(values.min()), int(values.max())
    if lo < low or hi > high:
        raise ValueError(f"{name} must lie in [{low}, {high}], got min {lo} max {hi}.")
