"""Losses as small functions: (logits or outputs, ...) -> per-sample tensor; the caller reduces."""

from lightning_gen.losses.adversarial import (
    AdversarialLoss,
    discriminator_loss,
    generator_loss,
    random_real_targets,
)
from lightning_gen.losses.bigbigan import bigbigan_discriminator_loss, bigbigan_encoder_generator_loss
from lightning_gen.losses.reconstruction import ReconstructionLoss, reconstruction_loss
from lightning_gen.losses.regularization import orthogonal_regularization, regularized_weights

__all__ = [
    "AdversarialLoss",
    "ReconstructionLoss",
    "bigbigan_discriminator_loss",
    "bigbigan_encoder_generator_loss",
    "discriminator_loss",
    "generator_loss",
    "orthogonal_regularization",
    "random_real_targets",
    "reconstruction_loss",
    "regularized_weights",
]
