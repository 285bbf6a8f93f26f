"""Colorization as conditional diffusion (Saharia et al., 2022, "Palette")."""

from __future__ import annotations

from typing import Any, Unpack

import torch
from torch import nn

from lightning_gen.diffusion.samplers import SamplingOptions
from lightning_gen.models.cascade import ImageConditionedDDPM

__all__ = ["ColorizationDDPM", "to_grayscale"]

#: ITU-R BT.601 luma weights (what PIL's convert("L") uses)
LUMA = (0.299, 0.587, 0.114)


def to_grayscale(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [-1, 1] -> (B, 1, H, W) luma in [-1, 1] (linear, so the range is kept)."""
    if images.shape[1] != 3:
        raise ValueError(f"Expected RGB images (B, 3, H, W), got {tuple(images.shape)}.")
    weights = torch.tensor(LUMA, device=images.device, dtype=images.dtype).reshape(1, 3, 1, 1)
    return (images * weights).sum(dim=1, keepdim=True)


class ColorizationDDPM(ImageConditionedDDPM):
    """p(RGB image | its grayscale version): DDPM whose denoiser sees the luma channel concatenated to x_t,
    trained on colour images (the condition is computed from each training image), as in Palette
    (Saharia et al., 2022), with the DDPM objective of Ho et al. (2020).

    The denoiser must have ``channels=3`` and ``cond_channels=1``. Other keyword arguments are
    :class:`DDPM`'s (LightningCLI lists and type-checks them; an unknown one is an error).
    """

    usage_hint = "Colorize grayscale images with lightning-gen colorize --ckpt colorize.ckpt --input IMAGES."

    def __init__(self, denoiser: nn.Module, **ddpm_options: Any) -> None:
        if getattr(denoiser, "channels", None) != 3 or getattr(denoiser, "cond_channels", None) != 1:
            raise ValueError(
                "ColorizationDDPM needs a denoiser of RGB images conditioned on one grayscale channel: "
                "UNetDenoiser(..., channels=3, cond_channels=1)."
            )
        if getattr(denoiser, "num_classes", 0) or getattr(denoiser, "cond_level_input", False):
            raise ValueError("ColorizationDDPM's denoiser takes no class labels and no cond_level input.")
        super().__init__(denoiser, **ddpm_options)

    def condition_from_image(self, x0: torch.Tensor) -> torch.Tensor:
        return to_grayscale(x0)

    def condition_inputs(
        self, condition: torch.Tensor, generator: torch.Generator | None, level: int | None = None
    ) -> dict[str, torch.Tensor]:
        size = self.denoiser.image_size
        if condition.shape[1:] != (1, size, size):
            raise ValueError(f"This model colorizes 1x{size}x{size} grayscale images, got {tuple(condition.shape[1:])}.")
        return {"cond": condition}

    def show_condition(self, condition: torch.Tensor) -> torch.Tensor:
        return condition.float().expand(-1, 3, -1, -1)

    def colorize(self, gray: torch.Tensor, **options: Unpack[SamplingOptions]) -> torch.Tensor:
        """Colour versions (N, 3, H, W) of grayscale images ``gray`` (N, 1, H, W) in [-1, 1];
        ``options``: see :class:`~lightning_gen.diffusion.SamplingOptions`."""
        return self.generate_from(gray, **options)
