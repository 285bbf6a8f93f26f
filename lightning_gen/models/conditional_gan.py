"""Conditional GAN (Mirza & Osindero, 2014)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lightning_gen.losses import AdversarialLoss
from lightning_gen.models.base import ClipAlgorithm
from lightning_gen.models.gan import GAN

__all__ = ["ConditionalGAN"]


class ConditionalGAN(GAN):
    """Conditional GAN, Mirza & Osindero (2014): G(z | y) and D(x | y), both fed the class label y.

    The networks embed y themselves (``num_classes`` > 0 on both). Training is :class:`GAN`'s algorithm with
    the batch's labels given to both players; validation grids have one row per class.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        num_classes: int = 10,
        loss: AdversarialLoss = "non_saturating",
        real_label_range: tuple[float, float] | None = None,
        d_steps_per_g_step: int = 1,
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        betas_g: tuple[float, float] = (0.5, 0.999),
        betas_d: tuple[float, float] = (0.5, 0.999),
        ema_decay: float | None = None,
        samples_per_class: int = 8,
        val_seed: int = 0,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: ClipAlgorithm = "norm",
    ) -> None:
        for name, net in (("generator", generator), ("discriminator", discriminator)):
            got = getattr(net, "num_classes", None)
            if got is not None and got != num_classes:
                raise ValueError(
                    f"ConditionalGAN(num_classes={num_classes}) but its {name} was built with num_classes={got}; "
                    "set the same num_classes on the model and both networks."
                )
        super().__init__(
            generator,
            discriminator,
            loss=loss,
            real_label_range=real_label_range,
            d_steps_per_g_step=d_steps_per_g_step,
            lr_g=lr_g,
            lr_d=lr_d,
            betas_g=betas_g,
            betas_d=betas_d,
            ema_decay=ema_decay,
            num_val_samples=num_classes * samples_per_class,
            val_seed=val_seed,
            gradient_clip_val=gradient_clip_val,
            gradient_clip_algorithm=gradient_clip_algorithm,
        )
        self.num_classes = num_classes

    def split_batch(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        if not isinstance(batch, list | tuple) or len(batch) < 2:
            raise ValueError("ConditionalGAN needs (images, labels) batches; use a labelled datamodule.")
        return batch[0], batch[1].long()

    def class_grid_labels(self, per_class: int) -> torch.Tensor:
        """Labels 0,0,...,1,1,...: one row of ``per_class`` samples per class."""
        return torch.arange(self.num_classes, device=self.device).repeat_interleave(per_class)

    def validation_labels(self) -> torch.Tensor:
        return self.class_grid_labels(self.hparams.samples_per_class)

    def sample_labels(self, num: int, labels: torch.Tensor | int | None) -> torch.Tensor:
        """Given labels, one repeated label, or (None) classes cycling 0..K-1 so every class appears."""
        if labels is None:
            return torch.arange(num, device=self.device) % self.num_classes
        if isinstance(labels, int):
            labels = torch.full((num,), labels, device=self.device)
        labels = labels.to(self.device).long()
        if labels.numel() != num:
            raise ValueError(f"Got {labels.numel()} labels for {num} samples.")
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(f"Labels must lie in [0, {self.num_classes - 1}], got {labels.unique().tolist()}.")
        return labels
