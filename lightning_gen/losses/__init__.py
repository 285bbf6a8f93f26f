"""Losses as small functions: (logits or outputs, ...) -> per-sample tensor; the caller reduces."""

from lightning_gen.losses.adversarial import (
    AdversarialLoss,
    discriminator_loss,
    generator_loss,
    random_real_targets,
)
from lightning_gen.losses.reconstruction import ReconstructionLoss, reconstruction_loss

__all__ = [
    "AdversarialLoss",
    "ReconstructionLoss",
    "discriminator_loss",
    "generator_loss",
    "random_real_targets",
    "reconstruction_loss",
]
