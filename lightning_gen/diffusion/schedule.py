"""The forward (noising) process q(x_t | x_0) of DDPM as an ``nn.Module`` of registered buffers.

Ho et al. (2020), Eq. (4): q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) with abar_t = prod_{s<=t} (1 - beta_s).
Two beta schedules: ``linear`` (beta from 1e-4 to 0.02 over T = 1000 steps, Ho et al. 2020) and ``cosine``
(Nichol & Dhariwal 2021, "Improved DDPM", Eq. 17; diffusers' ``squaredcos_cap_v2``). The betas come from
diffusers' ``DDPMScheduler`` built with :meth:`NoiseSchedule.scheduler_config`, and the samplers
(:mod:`lightning_gen.diffusion.samplers`) are built from the same config, so training and sampling agree.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from diffusers import DDPMScheduler
from torch import nn

from lightning_gen.utils.validation import check_choice, check_range

__all__ = ["BetaSchedule", "NoiseSchedule"]

BetaSchedule = Literal["linear", "cosine"]
_DIFFUSERS_NAME = {"linear": "linear", "cosine": "squaredcos_cap_v2"}


class NoiseSchedule(nn.Module):
    """Buffers ``betas``, ``alphas_cumprod``, ``sqrt_alphas_cumprod``, ``sqrt_one_minus_alphas_cumprod`` (T,).

    Args:
        schedule: ``"linear"`` (Ho et al. 2020) or ``"cosine"`` (Nichol & Dhariwal 2021).
        num_timesteps: T.
        beta_start, beta_end: the linear schedule's end points (ignored by ``cosine``).
    """

    def __init__(
        self, schedule: BetaSchedule = "linear", num_timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02
    ) -> None:
        super().__init__()
        check_choice("schedule", schedule, BetaSchedule)
        if num_timesteps < 2:
            raise ValueError(f"num_timesteps must be >= 2, got {num_timesteps}.")
        if not 0.0 < beta_start < beta_end < 1.0:
            raise ValueError(f"Need 0 < beta_start < beta_end < 1, got beta_start={beta_start}, beta_end={beta_end}.")
        self.schedule = schedule
        self.num_timesteps = num_timesteps
        self.beta_start = beta_start
        self.beta_end = beta_end
        reference = DDPMScheduler(**self.scheduler_config())
        betas = reference.betas.double()
        alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
        # Derived from the hyper-parameters, so not persistent: checkpoints stay small and cannot disagree.
        self.register_buffer("betas", betas.float(), persistent=False)
        self.register_buffer("alphas_cumprod", alphas_cumprod.float(), persistent=False)
        self.register_buffer("sqrt_alphas_cumprod", alphas_cumprod.sqrt().float(), persistent=False)
        self.register_buffer("sqrt_one_minus_alphas_cumprod", (1.0 - alphas_cumprod).sqrt().float(), persistent=False)

    def scheduler_config(self) -> dict[str, Any]:
        """Keyword arguments of the diffusers schedulers that share these betas."""
        return {
            "num_train_timesteps": self.num_timesteps,
            "beta_schedule": _DIFFUSERS_NAME[self.schedule],
            "beta_start": self.beta_start,
            "beta_end": self.beta_end,
        }

    def _gather(self, values: torch.Tensor, t: torch.Tensor, ndim: int) -> torch.Tensor:
        check_range("Timesteps", t, 0, self.num_timesteps - 1)  # host tensors only: no device sync per step
        return values[t.long()].reshape(-1, *([1] * (ndim - 1)))  # (B, 1, 1, 1) for images

    def q_mean_std(self, x0: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean sqrt(abar_t) x_0 and standard deviation sqrt(1 - abar_t) of q(x_t | x_0) (Ho et al., Eq. 4)."""
        mean = self._gather(self.sqrt_alphas_cumprod, t, x0.dim()) * x0
        std = self._gather(self.sqrt_one_minus_alphas_cumprod, t, x0.dim()).expand_as(x0)
        return mean, std

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Draw x_t ~ q(x_t | x_0) for any t in one step: sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps."""
        if noise is None:
            noise = torch.randn_like(x0)
        mean, std = self.q_mean_std(x0, t)
        return mean + std * noise

    def noising_chain(self, x0: torch.Tensor, timesteps: list[int], noise: torch.Tensor | None = None) -> torch.Tensor:
        """x_t of one image (C, H, W) at each of ``timesteps``, with shared noise: (len(timesteps), C, H, W).

        What the course notebook shows to picture the forward process.
        """
        t = torch.as_tensor(timesteps, device=x0.device, dtype=torch.long)
        x0 = x0.unsqueeze(0).expand(len(timesteps), *x0.shape)
        shared = torch.randn_like(x0[:1]) if noise is None else noise.unsqueeze(0)
        return self.q_sample(x0, t, shared.expand_as(x0))

    def snr(self, t: torch.Tensor) -> torch.Tensor:
        """Signal-to-noise ratio abar_t / (1 - abar_t) at timesteps ``t`` (shape of ``t``)."""
        abar = self.alphas_cumprod[t.long()]
        return abar / (1.0 - abar)

    def extra_repr(self) -> str:
        return f"schedule={self.schedule!r}, num_timesteps={self.num_timesteps}"
