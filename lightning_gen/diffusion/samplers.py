"""Reverse-process samplers, all diffusers schedulers built from the training schedule's config.

- ``ddpm``: ancestral sampling, Ho et al. (2020), Algorithm 2 (sigma_t^2 = beta-tilde_t, "fixed_small");
  with fewer steps than T it skips timesteps with the matching posterior variances.
- ``ddim``: Song, Meng & Ermon (2021), Eq. (12); ``eta`` = 0 is deterministic, 1 recovers DDPM's variance.
- ``dpmpp``: DPM-Solver++(2M), Lu et al. (2022), second-order multistep in data-prediction form.

All three are set up alike: the same timesteps for a given number of steps, "trailing" spacing
(Lin et al., 2024, "Common Diffusion Noise Schedules and Sample Steps are Flawed", Table 2: the first step
is t = T - 1, where x_T ~ N(0, I) is drawn, instead of diffusers' "leading" T - T/steps, e.g. t = 980 for
DDIM-50, or "linspace"), and the same static clipping of the predicted x_0 to [-1, 1] (for DPM-Solver++
through diffusers' thresholding with its cap at 1, which is exactly the clamp).

:func:`run_sampler` is the whole loop (~15 lines): the caller supplies ``model_fn(x_t, t) -> output``
(guidance, conditioning images and EMA choice live there), so one loop serves every model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypedDict

import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler
from tqdm.auto import tqdm

from lightning_gen.diffusion.objectives import PredictionType
from lightning_gen.diffusion.schedule import NoiseSchedule
from lightning_gen.diffusion.thresholding import scheduler_thresholding
from lightning_gen.utils.validation import check_choice

__all__ = [
    "DEFAULT_STEPS",
    "TIMESTEP_SPACING",
    "ModelFn",
    "Sampler",
    "SamplingOptions",
    "make_scheduler",
    "resolve_steps",
    "run_sampler",
]

Sampler = Literal["ddpm", "ddim", "dpmpp"]
ModelFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class SamplingOptions(TypedDict, total=False):
    """Keyword options shared by every sampling entry point of the diffusion models (``DDPM.sample``,
    ``generate_from``, ``upsample``, ``colorize``); the defaults are :meth:`DDPM.sample`'s."""

    seed: int | None  # seeds x_T and the sampler's noise
    use_ema: bool  # sample with the EMA denoiser (default True)
    batch_size: int  # images per forward pass (default 256)
    sampler: Sampler  # "ddpm" | "ddim" (default) | "dpmpp"
    steps: int | None  # denoising steps (None: the sampler's default)
    eta: float  # DDIM stochasticity (0: deterministic)
    progress: bool  # tqdm progress bar (default True)


#: how every sampler spaces its ``steps`` timesteps over [0, T - 1] (Lin et al., 2024)
TIMESTEP_SPACING = "trailing"

#: steps used when ``steps=None`` (None = all T timesteps)
DEFAULT_STEPS: dict[str, int | None] = {"ddpm": None, "ddim": 50, "dpmpp": 20}


def resolve_steps(sampler: Sampler, steps: int | None, num_timesteps: int) -> int:
    """``steps`` checked against T, or the sampler's default."""
    check_choice("sampler", sampler, Sampler)
    steps = steps if steps is not None else (DEFAULT_STEPS[sampler] or num_timesteps)
    if not 1 <= steps <= num_timesteps:
        raise ValueError(f"steps must be in [1, {num_timesteps}] (the training schedule's T), got {steps}.")
    return steps


def make_scheduler(
    sampler: Sampler,
    schedule: NoiseSchedule,
    prediction_type: PredictionType,
    steps: int | None = None,
    device: torch.device | str | None = None,
    *,
    clip_sample: bool = True,
    dynamic_threshold: float | None = None,
):
    """A fresh diffusers scheduler for ``sampler`` with ``set_timesteps`` done (schedulers keep state).

    ``clip_sample``: clamp the predicted x_0 to [-1, 1] (images); False for data of another range (the
    standardised CLIP embeddings of the unCLIP prior); the same for every sampler.
    ``dynamic_threshold``: Imagen's dynamic thresholding of the predicted x_0 at that percentile instead
    (:mod:`~lightning_gen.diffusion.thresholding`; every sampler, DPM-Solver++ included).
    """
    steps = resolve_steps(sampler, steps, schedule.num_timesteps)
    config = {**schedule.scheduler_config(), "prediction_type": prediction_type, **scheduler_thresholding(dynamic_threshold)}
    if sampler == "ddpm":
        scheduler = DDPMScheduler(
            **config, variance_type="fixed_small", clip_sample=clip_sample, timestep_spacing=TIMESTEP_SPACING
        )
    elif sampler == "ddim":
        scheduler = DDIMScheduler(**config, clip_sample=clip_sample, timestep_spacing=TIMESTEP_SPACING)
    else:
        # DPM-Solver++ has no clip_sample; thresholding with s capped at 1 is the clamp to [-1, 1]
        clamp = {"thresholding": True, "sample_max_value": 1.0} if clip_sample else {}
        scheduler = DPMSolverMultistepScheduler(
            **{**clamp, **config}, algorithm_type="dpmsolver++", solver_order=2, timestep_spacing=TIMESTEP_SPACING
        )
    scheduler.set_timesteps(steps, device=device)
    return scheduler


@torch.inference_mode()
def run_sampler(
    model_fn: ModelFn,
    noise: torch.Tensor,
    scheduler,
    *,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    progress: bool = False,
    description: str = "sampling",
) -> torch.Tensor:
    """Integrate the reverse process from ``noise`` (x_T) with ``scheduler``; returns x_0 (same shape)."""
    # DDIM re-derives eps from the clipped x_0 (GLIDE's rule): with diffusers' default it keeps the unclipped eps, so
    # each clipped step drops part of x_t and DDIM drifts further from the ODE solution the more steps it takes
    step_kwargs = {"eta": eta, "use_clipped_model_output": True} if isinstance(scheduler, DDIMScheduler) else {}
    if eta and not step_kwargs:
        raise ValueError(f"eta applies to the DDIM sampler only, not {type(scheduler).__name__}.")
    x = noise * scheduler.init_noise_sigma
    batch = x.shape[0]
    for t in tqdm(scheduler.timesteps, desc=description, disable=not progress, leave=False):
        t_batch = torch.full((batch,), int(t), device=x.device, dtype=torch.long)
        output = model_fn(scheduler.scale_model_input(x, t), t_batch)
        x = scheduler.step(output, t, x, generator=generator, **step_kwargs).prev_sample
    return x
