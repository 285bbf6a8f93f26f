"""Static and dynamic thresholding of the predicted x_0 at sampling, Saharia et al. (2022, Imagen), section 2.3.

Large classifier-free guidance weights push the predicted x_0 far outside the data range [-1, 1].
*Static* thresholding clips it to [-1, 1] at every step (Ho et al. 2020 do so too); Imagen finds that this
still yields over-saturated images at high weights. *Dynamic* thresholding sets, per sample, s to the
p-th percentile of |x_0| and, if s > 1, clamps x_0 to [-s, s] and divides by s, which pushes saturated
pixels inwards. With s <= 1 (e.g. a small p) both coincide.

In the samplers the operation is diffusers' own (``thresholding=True``, ``dynamic_thresholding_ratio=p``,
``sample_max_value``) inside DDPM, DDIM and DPM-Solver++ steps: :func:`scheduler_thresholding` gives the
config, and :func:`dynamic_threshold` is the reference the tests compare the schedulers with.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["check_percentile", "dynamic_threshold", "scheduler_thresholding", "static_threshold"]


def check_percentile(percentile: float) -> float:
    """``percentile`` if it lies in (0, 1] (Imagen uses 0.995; the CLI's --dynamic-threshold takes e.g. 0.95)."""
    if not 0.0 < percentile <= 1.0:
        raise ValueError(
            f"The dynamic-thresholding percentile must be in (0, 1] (a quantile of |x0|, Imagen: 0.995), got {percentile}."
        )
    return float(percentile)


def static_threshold(x0: torch.Tensor, limit: float = 1.0) -> torch.Tensor:
    """x_0 clipped to [-limit, limit] (static thresholding)."""
    return x0.clamp(-limit, limit)


def dynamic_threshold(x0: torch.Tensor, percentile: float = 0.995, max_value: float = float("inf")) -> torch.Tensor:
    """Imagen's dynamic thresholding of a batch x_0 (B, ...): s = max(1, quantile_p(|x_0|)) per sample
    (capped at ``max_value``), then clamp to [-s, s] and divide by s. The result lies in [-1, 1]."""
    check_percentile(percentile)
    flat = x0.reshape(x0.shape[0], -1).float()
    s = torch.quantile(flat.abs(), percentile, dim=1).clamp(min=1.0, max=max_value)  # (B,)
    s = s.reshape(-1, *([1] * (x0.dim() - 1)))
    return (torch.maximum(torch.minimum(x0.float(), s), -s) / s).to(x0.dtype)


def scheduler_thresholding(percentile: float | None) -> dict[str, Any]:
    """diffusers scheduler config for ``percentile`` (None: none, so the scheduler's static clipping applies).

    ``sample_max_value`` is diffusers' cap on s; Imagen has none, so it is infinite here (diffusers' default
    of 1.0 would make dynamic thresholding the same as static clipping)."""
    if percentile is None:
        return {}
    return {"thresholding": True, "dynamic_thresholding_ratio": check_percentile(percentile), "sample_max_value": float("inf")}
