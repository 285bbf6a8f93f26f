"""Training objectives of DDPM: what the denoiser predicts and how each timestep's loss is weighted.

- ``epsilon``: the noise, Ho et al. (2020), L_simple (Eq. 14).
- ``v_prediction``: v = sqrt(abar_t) eps - sqrt(1 - abar_t) x_0, Salimans & Ho (2022), Section 4.
- ``sample``: x_0 itself.

Loss weighting ``uniform`` is L_simple; ``min_snr`` is Min-SNR-gamma (Hang et al., 2023, Eq. 9 and
Section 3.4): each timestep's loss is weighted so that the implied x_0-loss weight is min(SNR_t, gamma).
"""

from __future__ import annotations

from typing import Literal

import torch

from lightning_gen.diffusion.schedule import NoiseSchedule
from lightning_gen.utils.validation import check_choice

__all__ = ["LossWeighting", "PredictionType", "loss_weights", "to_epsilon", "training_target"]

PredictionType = Literal["epsilon", "v_prediction", "sample"]
LossWeighting = Literal["uniform", "min_snr"]


def _coefficients(schedule: NoiseSchedule, t: torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    shape = (-1, *([1] * (like.dim() - 1)))
    return schedule.sqrt_alphas_cumprod[t].reshape(shape), schedule.sqrt_one_minus_alphas_cumprod[t].reshape(shape)


def training_target(
    x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule, prediction_type: PredictionType
) -> torch.Tensor:
    """The regression target of the denoiser for x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise."""
    check_choice("prediction_type", prediction_type, PredictionType)
    if prediction_type == "epsilon":
        return noise
    if prediction_type == "sample":
        return x0
    a, s = _coefficients(schedule, t, x0)
    return a * noise - s * x0


def to_epsilon(
    output: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule, prediction_type: PredictionType
) -> torch.Tensor:
    """Convert a denoiser output of any prediction type to the noise prediction eps(x_t, t)."""
    check_choice("prediction_type", prediction_type, PredictionType)
    if prediction_type == "epsilon":
        return output
    a, s = _coefficients(schedule, t, x_t)
    if prediction_type == "sample":
        return (x_t - a * output) / s
    return s * x_t + a * output  # v -> eps, using a**2 + s**2 = 1


def loss_weights(
    t: torch.Tensor,
    schedule: NoiseSchedule,
    prediction_type: PredictionType,
    weighting: LossWeighting = "uniform",
    gamma: float = 5.0,
) -> torch.Tensor:
    """Per-sample loss weights (B,) for timesteps ``t``.

    Min-SNR-gamma: the x_0-space weight min(SNR, gamma) expressed in the prediction's own space, i.e.
    min(SNR, gamma) / SNR for epsilon, min(SNR, gamma) / (SNR + 1) for v, min(SNR, gamma) for x_0.
    """
    check_choice("loss_weighting", weighting, LossWeighting)
    check_choice("prediction_type", prediction_type, PredictionType)
    if weighting == "uniform":
        return torch.ones(t.shape, device=t.device)
    if gamma <= 0:
        raise ValueError(f"min_snr_gamma must be > 0, got {gamma}.")
    snr = schedule.snr(t)
    clipped = snr.clamp(max=gamma)
    if prediction_type == "epsilon":
        return clipped / snr
    if prediction_type == "v_prediction":
        return clipped / (snr + 1.0)
    return clipped
