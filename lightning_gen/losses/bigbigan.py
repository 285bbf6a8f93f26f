"""BigBiGAN's losses (Donahue & Simonyan, 2019, section 2), built on the hinge loss of
:mod:`lightning_gen.losses.adversarial`.

The joint discriminator gives three scores per (x, z) pair, ``scores[:, k]`` for k in (s_x, s_z, s_xz).
With y = +1 for data pairs (x, E(x)) and y = -1 for generated pairs (G(z), z):

- ``l_D  = sum_k h(y s_k)`` with h(t) = max(0, 1 - t), i.e. the hinge D loss on each score, summed;
- ``l_EG = y * sum_k s_k``: the encoder lowers the data pairs' summed score, the generator raises the
  generated pairs' one (on that side it is the hinge generator loss ``-s``).

Both return per-sample tensors (the caller reduces).
"""

from __future__ import annotations

import torch

from lightning_gen.losses.adversarial import discriminator_loss, generator_loss

__all__ = ["bigbigan_discriminator_loss", "bigbigan_encoder_generator_loss"]


def _check(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> None:
    if real_scores.dim() != 2 or real_scores.shape[1] != 3 or fake_scores.shape[1:] != real_scores.shape[1:]:
        raise ValueError(
            "BigBiGAN losses take (B, 3) score tensors [s_x, s_z, s_xz]; got "
            f"{tuple(real_scores.shape)} and {tuple(fake_scores.shape)}."
        )


def bigbigan_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Per-pair ``sum_k relu(1 - s_k(x, E(x))) + relu(1 + s_k(G(z), z))``: (B,) if both batches have B rows."""
    _check(real_scores, fake_scores)
    loss_real, loss_fake = discriminator_loss(real_scores, fake_scores, "hinge")
    return loss_real.sum(dim=1) + loss_fake.sum(dim=1)


def bigbigan_encoder_generator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Per-pair ``sum_k s_k(x, E(x)) - sum_k s_k(G(z), z)`` (E's side + G's side)."""
    _check(real_scores, fake_scores)
    return real_scores.sum(dim=1) + generator_loss(fake_scores.sum(dim=1), "hinge")
