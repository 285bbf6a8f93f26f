"""Image-conditioned diffusion: the super-resolution stage of cascaded diffusion (Ho et al., 2021)."""

from __future__ import annotations

from typing import Any, Unpack

import torch
import torch.nn.functional as F
from torch import nn

from lightning_gen.data.transforms import resize
from lightning_gen.diffusion import rng
from lightning_gen.diffusion.augmentation import augment_condition, random_levels
from lightning_gen.diffusion.samplers import SamplingOptions
from lightning_gen.models.ddpm import DDPM

__all__ = ["ImageConditionedDDPM", "SuperResolutionDDPM"]


class ImageConditionedDDPM(DDPM):
    """DDPM of p(x | c) where c is an image derived from x (low-resolution copy, grayscale copy ...),
    concatenated to x_t on the channel axis (Saharia et al., 2021, SR3; Ho et al., 2021).

    Subclasses say how c is made from a training image (:meth:`condition_from_image`) and how it enters
    the denoiser (:meth:`condition_inputs`); training is :class:`DDPM`'s Algorithm 1 with those inputs, and
    :meth:`generate_from` runs any sampler from a given condition. Validation grids show, for the first
    validation images: the condition (top rows), the model's output, the original (bottom rows).
    """

    #: how many validation images the grid shows
    num_grid_images = 8
    #: DDPM options this class sets itself (the grid's size), so they are not constructor arguments
    fixed_options = ("num_val_samples",)

    def __init__(self, denoiser: nn.Module, **ddpm_options: Any) -> None:
        self.refuse_fixed_options(ddpm_options)
        super().__init__(denoiser, num_val_samples=self.num_grid_images, **ddpm_options)

    def condition_from_image(self, x0: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def condition_inputs(
        self, condition: torch.Tensor, generator: torch.Generator | None, level: int | None = None
    ) -> dict[str, torch.Tensor]:
        """Denoiser inputs for ``condition``; ``level=None`` means training (random augmentation)."""
        raise NotImplementedError

    def show_condition(self, condition: torch.Tensor) -> torch.Tensor:
        """The condition drawn at the output's shape (for grids)."""
        raise NotImplementedError

    def conditioning(
        self, x0: torch.Tensor, labels: torch.Tensor | None, generator: torch.Generator, training: bool
    ) -> dict[str, torch.Tensor]:
        inputs = super().conditioning(x0, labels, generator, training)
        return {**inputs, **self.condition_inputs(self.condition_from_image(x0), generator, None if training else self.eval_level)}

    @property
    def eval_level(self) -> int | None:
        return None

    @torch.inference_mode()
    def generate_from(
        self,
        condition: torch.Tensor,
        *,
        level: int | None = None,
        extra_inputs: dict[str, torch.Tensor] | None = None,
        **options: Unpack[SamplingOptions],
    ) -> torch.Tensor:
        """Sample x ~ p(x | condition) for a batch of conditions; returns (N, C, H, W) in [-1, 1].

        ``level``: the condition's augmentation level (None: the model's own); ``extra_inputs``: further
        per-sample denoiser inputs (a text-conditional stage's prompt encodings); ``options``: see
        :class:`~lightning_gen.diffusion.SamplingOptions` (defaults as in :meth:`DDPM.sample`).
        """
        generator = self.random_generator(options.pop("seed", None))
        condition = condition.to(self.device, torch.float32)
        inputs = {**self.condition_inputs(condition, generator, self.eval_level if level is None else level), **(extra_inputs or {})}
        noise = rng.randn((condition.shape[0], *self.image_shape), generator=generator, device=self.device)
        return self.denoise(noise, inputs, generator=generator, **{"progress": True, **options})

    def sample(self, num: int, **options: Any) -> torch.Tensor:
        """Not available: this model needs a condition image; see :meth:`generate_from`."""
        raise ValueError(
            f"A {type(self).__name__} generates from a condition image, not from noise alone. "
            f"{self.usage_hint}"
        )

    usage_hint = "Use generate_from(condition)."

    # ------------------------------------------------------------------ validation grid
    def validation_step(self, batch: Any, batch_idx: int) -> None:
        if batch_idx == 0:
            x0, _ = self.split_batch(batch)
            self._grid_images = x0[: self.num_grid_images].detach()
        super().validation_step(batch, batch_idx)

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        """One sample per item of the batch, conditioned on that item's condition (its low-resolution or
        grayscale version), with the validation sampler and steps."""
        x0, _ = self.split_batch(batch)
        hp = self.hparams
        return self.generate_from(self.condition_from_image(x0), seed=self.predict_seed(batch_idx),
                                  sampler=hp.val_sampler, steps=hp.val_steps, progress=False)

    def validation_samples(self) -> torch.Tensor:
        hp = self.hparams
        x0 = getattr(self, "_grid_images", None)
        if x0 is None:
            return torch.empty(0)
        condition = self.condition_from_image(x0)
        out = self.generate_from(
            condition, **self.grid_options(), seed=hp.val_seed, sampler=hp.val_sampler, steps=hp.val_steps, progress=False
        )
        return torch.cat([self.show_condition(condition), out, x0.float()])

    def grid_options(self) -> dict[str, Any]:
        """Further :meth:`generate_from` arguments of the validation grid (a text-conditional stage: captions)."""
        return {}


class SuperResolutionDDPM(ImageConditionedDDPM):
    """Super-resolution stage of Cascaded Diffusion Models, Ho et al. (2021).

    Models p(x | z) where z is x downsampled to ``low_res_size`` (bilinear, antialiased: the same resize as
    the datamodules, so a base model trained on resized images produces what this stage was trained on).
    z is corrupted by Gaussian conditioning augmentation (Section 4.2): training draws the level s
    uniformly in [0, ``max_augmentation_level``] and gives s to the denoiser; sampling uses
    ``sampling_augmentation_level``. ``conditioning_augmentation=False`` is the paper's ablation (s = 0
    always). The corrupted z is upsampled (bilinear) to the output size and concatenated to x_t.

    The denoiser must have ``cond_channels == channels`` and ``cond_level_input=True``. Other keyword
    arguments are :class:`DDPM`'s (LightningCLI lists and type-checks them; an unknown one is an error).
    """

    usage_hint = (
        "Chain it after a base model (lightning-gen sample --ckpt base.ckpt --ckpt sr.ckpt ...) or "
        "upsample your images with lightning-gen superres --ckpt sr.ckpt --input IMAGES."
    )

    def __init__(
        self,
        denoiser: nn.Module,
        low_res_size: int,
        conditioning_augmentation: bool = True,
        max_augmentation_level: int = 500,
        sampling_augmentation_level: int = 100,
        **ddpm_options: Any,
    ) -> None:
        channels, size = getattr(denoiser, "channels", None), getattr(denoiser, "image_size", None)
        if getattr(denoiser, "cond_channels", None) != channels or not getattr(denoiser, "cond_level_input", False):
            raise ValueError(
                "SuperResolutionDDPM needs a denoiser that takes the upsampled low-resolution image and its "
                f"augmentation level: UNetDenoiser(..., cond_channels={channels}, cond_level_input=true)."
            )
        if size is None or not 1 <= low_res_size < size:
            raise ValueError(f"low_res_size must be in [1, {size}) (below the denoiser's image_size), got {low_res_size}.")
        super().__init__(denoiser, **ddpm_options)
        num_timesteps = self.noise_schedule.num_timesteps
        if not 0 <= sampling_augmentation_level <= num_timesteps or not 0 <= max_augmentation_level <= num_timesteps:
            raise ValueError(
                f"Augmentation levels must lie in [0, num_timesteps={num_timesteps}], got max_augmentation_level="
                f"{max_augmentation_level}, sampling_augmentation_level={sampling_augmentation_level}."
            )

    @property
    def low_res_size(self) -> int:
        return int(self.hparams.low_res_size)

    @property
    def eval_level(self) -> int:
        hp = self.hparams
        return hp.sampling_augmentation_level if hp.conditioning_augmentation else 0

    def condition_from_image(self, x0: torch.Tensor) -> torch.Tensor:
        return resize(x0, self.low_res_size)

    def condition_inputs(
        self, condition: torch.Tensor, generator: torch.Generator | None, level: int | None = None
    ) -> dict[str, torch.Tensor]:
        hp = self.hparams
        if condition.shape[-1] != self.low_res_size or condition.shape[1] != self.denoiser.channels:
            raise ValueError(
                f"This super-resolution stage takes {self.denoiser.channels}x{self.low_res_size}x{self.low_res_size} "
                f"inputs, got {tuple(condition.shape[1:])}."
            )
        batch, device = condition.shape[0], condition.device
        if level is not None and not 0 <= level <= self.noise_schedule.num_timesteps:  # checked here, once
            raise ValueError(
                f"augmentation_level must lie in [0, num_timesteps={self.noise_schedule.num_timesteps}], got {level}."
            )
        if level is not None:
            levels = torch.full((batch,), level, dtype=torch.long, device=device)
        elif hp.conditioning_augmentation:
            levels = random_levels(batch, hp.max_augmentation_level, generator, device=device)
        else:
            levels = torch.zeros(batch, dtype=torch.long, device=device)
        noisy = augment_condition(condition, levels, self.noise_schedule, generator)
        up = F.interpolate(noisy, size=self.denoiser.image_size, mode="bilinear", align_corners=False)
        return {"cond": up, "cond_level": levels.float()}

    def show_condition(self, condition: torch.Tensor) -> torch.Tensor:
        return F.interpolate(condition.float(), size=self.denoiser.image_size, mode="nearest")

    def upsample(
        self, low_res: torch.Tensor, *, augmentation_level: int | None = None, **options: Unpack[SamplingOptions]
    ) -> torch.Tensor:
        """Super-resolve ``low_res`` (N, C, low_res_size, low_res_size) in [-1, 1] to the model's size.

        ``augmentation_level`` overrides ``sampling_augmentation_level`` (Ho et al. sweep it at inference);
        ``options``: see :class:`~lightning_gen.diffusion.SamplingOptions`.
        """
        return self.generate_from(low_res, level=augmentation_level, **options)
