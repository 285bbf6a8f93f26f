"""Gaussian conditioning augmentation of cascaded diffusion, Ho et al. (2021), Section 4.2.

The low-resolution image z that conditions a super-resolution stage is corrupted by the forward process
at a level s, z_s = sqrt(abar_s) z + sqrt(1 - abar_s) eps, and s is given to the model. Training draws s
uniformly in [0, max_level]; sampling fixes s (a hyper-parameter swept at inference). Trained that way,
the SR stage learns to ignore the artifacts of the base model's samples, which the paper finds
critical for cascade sample quality. Level s means s steps of the forward process (x_s in DDPM's
indexing, timestep index s - 1); level 0 is the clean image.
"""

from __future__ import annotations

import torch

from lightning_gen.diffusion import rng
from lightning_gen.diffusion.schedule import NoiseSchedule
from lightning_gen.utils.validation import check_range

__all__ = ["augment_condition", "random_levels"]


def random_levels(
    batch: int, max_level: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
) -> torch.Tensor:
    """Augmentation levels s ~ U{0, ..., max_level} (B,), long, on ``device`` (drawn on the generator's)."""
    if max_level < 0:
        raise ValueError(f"max_augmentation_level must be >= 0, got {max_level}.")
    return rng.randint(0, max_level + 1, (batch,), generator=generator, device=device)


def augment_condition(
    cond: torch.Tensor, levels: torch.Tensor, schedule: NoiseSchedule, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``cond`` noised by q(z_s | z) at per-sample ``levels`` (timestep units; 0 leaves the image clean)."""
    check_range("Augmentation levels", levels, 0, schedule.num_timesteps)  # host tensors only: no device sync
    levels = levels.to(cond.device).long()
    noise = rng.randn(cond.shape, generator=generator, device=cond.device, dtype=cond.dtype)
    noisy = schedule.q_sample(cond, levels.clamp(min=1) - 1, noise)
    return torch.where(levels.reshape(-1, *([1] * (cond.dim() - 1))) > 0, noisy, cond)
