"""Adversarial losses on discriminator logits. Each returns an unreduced per-sample tensor.

- ``minimax``: Goodfellow et al. (2014), the value function V(D, G); G minimises log(1 - D(G(z))).
- ``non_saturating``: Goodfellow et al. (2014), section 3: G maximises log D(G(z)) instead (same D loss).
- ``hinge``: Lim & Ye (2017), used by SAGAN and BigGAN (Brock et al., 2019).
- ``lsgan``: Mao et al. (2017), least squares with targets a=0 (fake), b=1 (real), c=1; used by CycleGAN.

Everything works on logits (``log sigmoid`` through softplus), never a sigmoid followed by a log.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from lightning_gen.utils.validation import check_choice

__all__ = ["AdversarialLoss", "discriminator_loss", "generator_loss", "random_real_targets"]

AdversarialLoss = Literal["minimax", "non_saturating", "hinge", "lsgan"]


def random_real_targets(
    like: torch.Tensor, low: float, high: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """One-sided label smoothing (Salimans et al., 2016, as taught in the course): real targets drawn
    uniformly in [low, high] per sample, e.g. (0.7, 0.9), from ``generator`` (on ``like``'s device) or the
    global RNG. Fake targets stay 0."""
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f"real_label_range must satisfy 0 <= low <= high <= 1, got ({low}, {high}).")
    return torch.empty_like(like).uniform_(low, high, generator=generator)


def discriminator_loss(
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    kind: AdversarialLoss,
    real_targets: torch.Tensor | float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample D losses on real and on fake logits: ``(loss_real, loss_fake)``; the caller reduces.

    ``real_targets`` (for label smoothing) applies to the BCE losses and LSGAN; hinge has no targets.
    """
    check_choice("loss", kind, AdversarialLoss)
    if kind in ("minimax", "non_saturating"):
        target = torch.as_tensor(real_targets, dtype=real_logits.dtype, device=real_logits.device)
        loss_real = F.binary_cross_entropy_with_logits(real_logits, target.expand_as(real_logits), reduction="none")
        loss_fake = F.softplus(fake_logits)  # -log(1 - sigmoid(l))
        return loss_real, loss_fake
    if kind == "hinge":
        if not isinstance(real_targets, float) or real_targets != 1.0:
            raise ValueError("Label smoothing is not defined for the hinge loss; set real_label_range=None.")
        return F.relu(1.0 - real_logits), F.relu(1.0 + fake_logits)
    # lsgan
    return 0.5 * (real_logits - real_targets) ** 2, 0.5 * fake_logits**2


def generator_loss(fake_logits: torch.Tensor, kind: AdversarialLoss) -> torch.Tensor:
    """Per-sample G loss on the discriminator's logits for generated samples."""
    check_choice("loss", kind, AdversarialLoss)
    if kind == "minimax":
        return -F.softplus(fake_logits)  # log(1 - sigmoid(l)), minimised
    if kind == "non_saturating":
        return F.softplus(-fake_logits)  # -log sigmoid(l)
    if kind == "hinge":
        return -fake_logits
    return 0.5 * (fake_logits - 1.0) ** 2
