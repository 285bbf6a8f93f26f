"""Conditional GAN (Mirza & Osindero, 2014)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lightning_gen.models.gan import GAN
from lightning_gen.models.labels import class_grid_labels

__all__ = ["ConditionalGAN"]


class ConditionalGAN(GAN):
    """Conditional GAN, Mirza & Osindero (2014): G(z | y) and D(x | y), both fed the class label y.

    The networks embed y themselves (``num_classes`` > 0 on both). Training is :class:`GAN`'s algorithm with
    the batch's labels given to both players; validation grids have one row per class.

    Args:
        num_classes: K, the number of classes (the networks' ``num_classes`` must agree).
        samples_per_class: validation grid: one row of this many samples per class.
        options: :class:`GAN`'s (loss, label smoothing, k, Adam settings, EMA, val_seed, training options);
            ``num_val_samples`` is ``num_classes * samples_per_class``.
    """

    fixed_options = ("num_val_samples",)  # num_classes * samples_per_class

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        num_classes: int = 10,
        samples_per_class: int = 8,
        **options: Any,
    ) -> None:
        self.refuse_fixed_options(options)
        for name, net in (("generator", generator), ("discriminator", discriminator)):
            got = getattr(net, "num_classes", None)
            if got is not None and got != num_classes:
                raise ValueError(
                    f"ConditionalGAN(num_classes={num_classes}) but its {name} was built with num_classes={got}; "
                    "set the same num_classes on the model and both networks."
                )
        super().__init__(generator, discriminator, num_val_samples=num_classes * samples_per_class, **options)
        self.num_classes = num_classes

    def split_batch(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        if not isinstance(batch, list | tuple) or len(batch) < 2:
            raise ValueError("ConditionalGAN needs (images, labels) batches; use a labelled datamodule.")
        return batch[0], batch[1].long()

    def validation_labels(self) -> torch.Tensor:
        """One row of ``samples_per_class`` samples per class."""
        return class_grid_labels(self.num_classes, self.hparams.samples_per_class, self.device)
