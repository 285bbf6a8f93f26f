"""Inpainting with an unconditional diffusion model: RePaint (Lugmayr et al., 2022).

At every reverse step the known region is replaced by its forward-noised version q(x_{t-1} | x_0) and
the unknown region is the model's reverse step (Algorithm 1); "resampling" jumps back ``jump_length``
steps by re-noising, ``jump_n_sample`` times per jump, so the generated part harmonises with the known
part (Section 4.2; the paper uses 250 steps, jump length 10, 10 resamplings). The schedule of jumps and
the step itself are diffusers' ``RePaintScheduler``; the model only has to provide eps(x_t, t).

Masks are 1 where the pixel is known and 0 where it is to be generated (diffusers' convention).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from diffusers import RePaintScheduler
from tqdm.auto import tqdm

from lightning_gen.diffusion import rng
from lightning_gen.diffusion.schedule import NoiseSchedule
from lightning_gen.utils.validation import check_choice

__all__ = ["MaskPreset", "make_repaint_scheduler", "preset_mask", "repaint"]

MaskPreset = Literal["center", "random", "left", "top"]


def preset_mask(
    preset: MaskPreset, num: int, size: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """(num, 1, size, size) masks, 1 = known:

    - ``center``: the central (size/2)^2 square is missing (a quarter of the image);
    - ``random``: the union of three random rectangles with sides in [size/4, size/2] is missing;
    - ``left`` / ``top``: the left / top half is missing.
    """
    check_choice("mask", preset, MaskPreset)
    mask = torch.ones(num, 1, size, size)
    half, quarter = size // 2, size // 4
    if preset == "center":
        mask[..., quarter : quarter + half, quarter : quarter + half] = 0
    elif preset == "left":
        mask[..., :, :half] = 0
    elif preset == "top":
        mask[..., :half, :] = 0
    else:
        for i in range(num):
            for _ in range(3):
                h, w = rng.randint(quarter, half + 1, (2,), generator=generator, device="cpu").tolist()
                top, left = rng.randint(0, size - max(h, w) + 1, (2,), generator=generator, device="cpu").tolist()
                mask[i, :, top : top + h, left : left + w] = 0
    return mask


def make_repaint_scheduler(
    schedule: NoiseSchedule, steps: int, jump_length: int, jump_n_sample: int, device: torch.device | str | None = None
) -> RePaintScheduler:
    """diffusers' RePaint scheduler on the training betas; ancestral (eta = 1), as in the paper."""
    if not 1 <= steps <= schedule.num_timesteps:
        raise ValueError(f"steps must be in [1, {schedule.num_timesteps}], got {steps}.")
    if jump_length < 1 or jump_n_sample < 1:
        raise ValueError(f"jumps and resample must be >= 1, got {jump_length} and {jump_n_sample}.")
    scheduler = RePaintScheduler(**schedule.scheduler_config(), eta=1.0)
    scheduler.set_timesteps(steps, jump_length=jump_length, jump_n_sample=jump_n_sample, device=device)
    return scheduler


@torch.inference_mode()
def repaint(
    eps_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    known: torch.Tensor,
    mask: torch.Tensor,
    scheduler: RePaintScheduler,
    *,
    generator: torch.Generator | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """RePaint's Algorithm 1: fill the ``mask == 0`` region of ``known`` (N, C, H, W) in [-1, 1]."""
    mask = mask.to(known)
    x = rng.randn(known.shape, generator=generator, device=known.device)
    t_last = int(scheduler.timesteps[0]) + 1
    for t in tqdm(scheduler.timesteps.tolist(), desc="repaint", disable=not progress, leave=False):
        if t < t_last:  # reverse step: model for the unknown part, q(x_{t-1} | x_0) for the known part
            eps = eps_fn(x, torch.full((x.shape[0],), t, device=x.device, dtype=torch.long))
            x = scheduler.step(eps, t, x, known, mask, generator=generator).prev_sample
        else:  # resampling jump: x_{t} ~ q(x_t | x_{t-1})
            x = scheduler.undo_step(x, t_last, generator=generator)
        t_last = t
    return x.clamp(-1.0, 1.0)
