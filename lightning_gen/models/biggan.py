"""BigGAN (Brock, Donahue & Simonyan, 2019)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lightning_gen.losses import AdversarialLoss, orthogonal_regularization, regularized_weights
from lightning_gen.models.conditional_gan import ConditionalGAN

__all__ = ["BigGAN"]


class BigGAN(ConditionalGAN):
    """BigGAN, Brock et al. (2019): a class-conditional GAN trained with the paper's recipe.

    The training loop is :class:`~lightning_gen.models.GAN`'s (Algorithm 1 with ``d_steps_per_g_step`` D
    steps per G step) with BigGAN's choices as defaults, and what BigGAN adds:

    - hinge loss (Lim & Ye, 2017), two D steps per G step (the paper's setting; the reference code's CIFAR
      script uses four), Adam with beta1 = 0 and lr 2e-4 for both networks (the reference code's CIFAR-10
      settings; the paper's ImageNet models use 5e-5 for G);
    - **orthogonal regularisation** of G (section 3.1, beta = 1e-4) added to the generator's loss, on
      every G weight matrix except the shared class embedding
      (:func:`~lightning_gen.losses.orthogonal_regularization`);
    - an **EMA of G's weights** for sampling (the paper: decay 0.9999);
    - the **truncation trick** at sampling (section 3.1): ``sample(..., truncation=0.5)`` resamples the z
      entries whose magnitude exceeds the threshold (:func:`~lightning_gen.models.gan.truncated_noise`).

    The architecture (shared embedding, hierarchical z, conditional BN, self-attention, spectral norm,
    projection D) lives in the networks: :class:`~lightning_gen.nn.BigGANGenerator` and
    :class:`~lightning_gen.nn.BigGANDiscriminator`. G is class-conditional: training needs labelled batches,
    ``sample`` takes ``labels=K`` (or cycles through the classes).

    Args:
        loss, d_steps_per_g_step, betas_g, betas_d, ema_decay: :class:`~lightning_gen.models.GAN`'s, with
            BigGAN's defaults (above).
        ortho_beta: strength of the orthogonal regularisation (0 disables it).
        options: the rest of :class:`~lightning_gen.models.ConditionalGAN`'s (``samples_per_class``, ``lr_g``,
            ``lr_d``, ``val_seed``, training options ...).
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        num_classes: int = 10,
        loss: AdversarialLoss = "hinge",
        d_steps_per_g_step: int = 2,
        betas_g: tuple[float, float] = (0.0, 0.999),
        betas_d: tuple[float, float] = (0.0, 0.999),
        ema_decay: float | None = 0.9999,
        ortho_beta: float = 1e-4,
        **options: Any,
    ) -> None:
        if ortho_beta < 0:
            raise ValueError(
                f"ortho_beta must be >= 0 (0 disables orthogonal regularisation), got {ortho_beta}."
            )
        for name, net in (("generator", generator), ("discriminator", discriminator)):
            if not getattr(net, "num_classes", 0):
                raise ValueError(
                    f"BigGAN is class-conditional: its {name} must be built with num_classes > 0 "
                    f"(e.g. BigGANGenerator(num_classes={num_classes}))."
                )
        super().__init__(
            generator,
            discriminator,
            num_classes=num_classes,
            loss=loss,
            d_steps_per_g_step=d_steps_per_g_step,
            betas_g=betas_g,
            betas_d=betas_d,
            ema_decay=ema_decay,
            **options,
        )

    def ortho_weights(self) -> list[nn.Parameter]:
        """G's weights under orthogonal regularisation: all matrices/filters but the shared embedding."""
        shared = getattr(self.generator, "shared", None)
        exclude = list(shared.parameters()) if isinstance(shared, nn.Module) else []
        return regularized_weights(self.generator, exclude=exclude)

    def generator_regularization(self) -> torch.Tensor | float:
        """R_beta(W) = beta * sum ||W W^T (.) (1 - I)||_F^2 over G's weights (Brock et al., 2019, eq. 3)."""
        beta = self.hparams.ortho_beta
        if beta == 0:
            return 0.0
        penalty = orthogonal_regularization(self.ortho_weights(), beta)
        self.log("train/g_ortho", penalty.detach())
        return penalty
