"""Losses as small functions: (logits or outputs, ...) -> per-sample tensor; the caller reduces."""

from lightning_gen.losses.adversarial import (
    AdversarialLoss,
    discriminator_loss,
    generator_loss,
    random_real_targets,
)
from lightning_gen.losses.bigbigan import bigbigan_discriminator_loss, bigbigan_encoder_generator_loss
from lightning_gen.losses.contrastive import (
    ContrastiveLoss,
    caption_groups,
    contrastive_loss,
    distributed_gather,
    positive_targets,
)
from lightning_gen.losses.reconstruction import ReconstructionLoss, reconstruction_loss
from lightning_gen.losses.regularization import orthogonal_regularization, regularized_weights

__all__ = [
    "AdversarialLoss",
    "ContrastiveLoss",
    "ReconstructionLoss",
    "bigbigan_discriminator_loss",
    "bigbigan_encoder_generator_loss",
    "caption_groups",
    "contrastive_loss",
    "discriminator_loss",
    "distributed_gather",
    "generator_loss",
    "orthogonal_regularization",
    "positive_targets",
    "random_real_targets",
    "reconstruction_loss",
    "regularized_weights",
]
