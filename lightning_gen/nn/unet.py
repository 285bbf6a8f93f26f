"""The denoiser: diffusers' ``UNet2DModel`` behind the ``(x_t, t[, cond])`` signature of lightning-gen.

The network is the DDPM U-Net of Ho et al. (2020, "Denoising Diffusion Probabilistic Models", Appendix B):
a PixelCNN++-style U-Net of residual blocks with group normalisation, a sinusoidal timestep embedding
added in every residual block, and self-attention at chosen resolutions (16x16 in the paper) and in the
middle block. diffusers implements it as ``UNet2DModel``; this wrapper only

- builds it from plain arguments (widths, attention resolutions ...), so checkpoints can rebuild it
  (:class:`~lightning_gen.nn.spec.Network`);
- concatenates conditioning images on the channel axis (the upsampled low-resolution image of a
  super-resolution stage, Ho et al. 2021 / Saharia et al. 2021; the grayscale image of colorization);
- routes class labels through the U-Net's class embedding, with one extra "no label" row used by
  classifier-free guidance (Ho & Salimans, 2022);
- routes the conditioning-augmentation noise level of cascaded diffusion (Ho et al., 2021, Section 4.2)
  through a second sinusoidal embedding (diffusers' ``class_embed_type="timestep"``).
"""

from __future__ import annotations

import torch
from diffusers import UNet2DModel

from lightning_gen.nn.spec import Network

__all__ = ["UNetDenoiser", "attention_levels"]


def attention_levels(
    image_size: int, widths: tuple[int, ...], attention_resolutions: tuple[int, ...] | list[int], norm_groups: int
) -> list[bool]:
    """Check a U-Net's geometry (image_size halved once per extra level, norm_groups dividing every width,
    attention at existing resolutions) and say which levels get attention (level i works at image_size / 2**i)."""
    if image_size % 2 ** (len(widths) - 1):
        raise ValueError(
            f"image_size={image_size} cannot be halved {len(widths) - 1} times (one per extra level of "
            f"widths={list(widths)}); use fewer levels or a size divisible by {2 ** (len(widths) - 1)}."
        )
    bad = [w for w in widths if w % norm_groups]
    if bad:
        raise ValueError(f"norm_groups={norm_groups} must divide every width; it does not divide {bad}.")
    resolutions = [image_size // 2**i for i in range(len(widths))]
    unknown = sorted(set(attention_resolutions) - set(resolutions))
    if unknown:
        raise ValueError(
            f"attention_resolutions {unknown} are not resolutions of this U-Net; its levels work at {resolutions}."
        )
    return [r in attention_resolutions for r in resolutions]


class UNetDenoiser(Network):
    """Denoiser ``(x_t, t, cond=None, *, labels=None, cond_level=None) -> prediction`` (same shape as ``x_t``).

    Args:
        image_size: side of the (square) images.
        channels: image channels (the input ``x_t`` and the prediction).
        cond_channels: channels of the conditioning image concatenated to ``x_t`` (0: none).
        widths: channels per resolution level; level ``i`` works at ``image_size / 2**i``.
        layers_per_block: residual blocks per level (Ho et al.: 2).
        attention_resolutions: resolutions (e.g. ``[7]`` or ``[8, 16]``) whose blocks get self-attention;
            the middle block always has it.
        num_classes: 0 for an unconditional model; K > 0 adds a class embedding with K + 1 rows, row K
            being the null label of classifier-free guidance.
        cond_level_input: take ``cond_level`` (the conditioning augmentation's noise level, in timestep
            units) as an input. Not combinable with ``num_classes`` (one extra embedding slot).
        dropout: dropout in the residual blocks (Ho et al.: 0.1 on CIFAR-10).
        norm_groups: GroupNorm groups (must divide every width).
        attention_head_dim: channels per attention head; None uses one head per block.
    """

    def __init__(
        self,
        image_size: int,
        channels: int = 1,
        cond_channels: int = 0,
        widths: tuple[int, ...] | list[int] = (32, 64, 64),
        layers_per_block: int = 1,
        attention_resolutions: tuple[int, ...] | list[int] = (7,),
        num_classes: int = 0,
        cond_level_input: bool = False,
        dropout: float = 0.0,
        norm_groups: int = 8,
        attention_head_dim: int | None = None,
    ) -> None:
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if not widths:
            raise ValueError("widths must list at least one level, e.g. [32, 64, 64].")
        for name, value in (("image_size", image_size), ("channels", channels), ("layers_per_block", layers_per_block)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}.")
        if cond_channels < 0 or num_classes < 0:
            raise ValueError(f"cond_channels and num_classes must be >= 0, got {cond_channels} and {num_classes}.")
        attention = attention_levels(image_size, widths, attention_resolutions, norm_groups)
        if num_classes and cond_level_input:
            raise ValueError("UNetDenoiser takes either num_classes or cond_level_input, not both.")
        down = tuple("AttnDownBlock2D" if a else "DownBlock2D" for a in attention)
        up = tuple("AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attention))
        self.image_size = image_size
        self.channels = channels
        self.cond_channels = cond_channels
        self.num_classes = num_classes
        self.cond_level_input = cond_level_input
        self.unet = UNet2DModel(
            sample_size=image_size,
            in_channels=channels + cond_channels,
            out_channels=channels,
            block_out_channels=widths,
            layers_per_block=layers_per_block,
            down_block_types=down,
            up_block_types=up,
            dropout=dropout,
            norm_num_groups=norm_groups,
            attention_head_dim=attention_head_dim,
            num_class_embeds=num_classes + 1 if num_classes else None,
            class_embed_type="timestep" if cond_level_input else None,
        )

    @property
    def null_label(self) -> int:
        """The class index meaning "no label" (classifier-free guidance's unconditional branch)."""
        if not self.num_classes:
            raise ValueError("This denoiser is unconditional (num_classes=0); it has no null label.")
        return self.num_classes

    def forward(
        self,
        x_t: torch.Tensor,
        t: torch.Tensor,
        cond: torch.Tensor | None = None,
        *,
        labels: torch.Tensor | None = None,
        cond_level: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict the model target (noise, v or x0, as trained) for ``x_t`` (B, C, H, W) at timesteps ``t`` (B,).

        Args:
            cond: (B, cond_channels, H, W) conditioning image, required iff ``cond_channels > 0``.
            labels: (B,) class indices in [0, num_classes] (num_classes = null label); None = all null.
            cond_level: (B,) conditioning-augmentation level in timestep units, required iff
                ``cond_level_input``.
        """
        if (cond is None) != (self.cond_channels == 0):
            raise ValueError(
                f"This denoiser takes a {self.cond_channels}-channel conditioning image; got "
                f"{'none' if cond is None else tuple(cond.shape)}."
            )
        if cond is not None:
            x_t = torch.cat([x_t, cond.to(x_t.dtype)], dim=1)  # (B, C + cond_channels, H, W)
        class_input = None
        if self.num_classes:
            class_input = labels if labels is not None else torch.full_like(t, self.num_classes, dtype=torch.long)
        elif labels is not None:
            raise ValueError("This denoiser is unconditional (num_classes=0); do not pass labels.")
        if self.cond_level_input:
            if cond_level is None:
                raise ValueError("This denoiser takes the conditioning augmentation level; pass cond_level.")
            class_input = cond_level
        elif cond_level is not None:
            raise ValueError("This denoiser was built with cond_level_input=False; do not pass cond_level.")
        return self.unet(x_t, t, class_labels=class_input).sample
