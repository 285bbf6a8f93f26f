"""Seeded random draws that work whatever device the generator and the result live on.

A ``torch.Generator`` only draws on its own device: ``torch.randn(..., generator=g, device=d)`` raises when
``g.device != d``. lightning-gen seeds sampling with a generator on the model's device
(:meth:`~lightning_gen.models.base.GenerativeModule.random_generator`) and training noise with a CPU one, and
both reach the same code (conditioning augmentation, label dropout, masks). These helpers draw on the
generator's device (so one seed gives one stream on that device) and move the result to ``device``.
Without a generator they draw on ``device`` directly, from the global stream of that device.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["rand", "randint", "randn"]

Device = torch.device | str | None


def _source(generator: torch.Generator | None, device: Device) -> torch.device | str | None:
    return generator.device if generator is not None else device


def randn(
    shape: Sequence[int], *, generator: torch.Generator | None = None, device: Device = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Standard normal noise of ``shape`` on ``device``, drawn on the generator's device."""
    return torch.randn(tuple(shape), generator=generator, device=_source(generator, device)).to(device=device, dtype=dtype)


def rand(shape: Sequence[int], *, generator: torch.Generator | None = None, device: Device = None) -> torch.Tensor:
    """U[0, 1) of ``shape`` on ``device``, drawn on the generator's device."""
    return torch.rand(tuple(shape), generator=generator, device=_source(generator, device)).to(device=device)


def randint(
    low: int, high: int, shape: Sequence[int], *, generator: torch.Generator | None = None, device: Device = None
) -> torch.Tensor:
    """Integers in [low, high) of ``shape`` (int64) on ``device``, drawn on the generator's device."""
    return torch.randint(low, high, tuple(shape), generator=generator, device=_source(generator, device)).to(device=device)
