"""Classifier-free guidance, Ho & Salimans (2022), Eq. (6), in diffusers' convention.

output = uncond + w * (cond - uncond): w = 1 is the conditional model, w = 0 the unconditional one, and
w > 1 trades diversity for fidelity (the paper's w corresponds to w - 1 here). One batched forward pass
evaluates both branches. Training-side: labels are replaced by the null label with probability
``label_dropout`` (:func:`drop_labels`), so one network learns both.
"""

from __future__ import annotations

import torch
from torch import nn

from lightning_gen.diffusion import rng

__all__ = ["drop_labels", "dropout_mask", "guided_output", "null_mask_guided_output"]


def drop_labels(labels: torch.Tensor, null_label: int, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """``labels`` with each entry replaced by ``null_label`` with probability ``p``."""
    if p <= 0:
        return labels
    drop = rng.rand(labels.shape, generator=generator, device=labels.device) < p
    return torch.where(drop, torch.full_like(labels, null_label), labels)


def guided_output(
    denoiser: nn.Module, x_t: torch.Tensor, t: torch.Tensor, labels: torch.Tensor, *, scale: float, null_label: int
) -> torch.Tensor:
    """Guided prediction uncond + scale * (cond - uncond), both branches in one forward pass."""
    both = denoiser(
        torch.cat([x_t, x_t]), torch.cat([t, t]), labels=torch.cat([labels, torch.full_like(labels, null_label)])
    )
    cond, uncond = both.chunk(2)
    return uncond + scale * (cond - uncond)


def dropout_mask(batch: int, p: float, generator: torch.Generator | None = None, device: torch.device | str | None = None) -> torch.Tensor:
    """(batch,) bool, each entry True with probability ``p``: the rows whose condition (a caption, an image
    embedding) a denoiser with a learned null embedding replaces by it (its ``null_mask`` input)."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"The condition dropout probability must be in [0, 1), got {p}.")
    if p <= 0:
        return torch.zeros(batch, dtype=torch.bool, device=device)
    return rng.rand((batch,), generator=generator, device=device) < p


def null_mask_guided_output(
    denoiser: nn.Module, x_t: torch.Tensor, t: torch.Tensor, inputs: dict[str, torch.Tensor], *, scale: float
) -> torch.Tensor:
    """Guidance for a denoiser whose unconditional branch is its null embedding (``null_mask=True`` rows):
    both halves take the same per-sample ``inputs``, the second half with the condition nulled."""
    batch = x_t.shape[0]
    doubled = {name: torch.cat([value, value]) for name, value in inputs.items()}
    null_mask = torch.arange(2 * batch, device=x_t.device) >= batch
    both = denoiser(torch.cat([x_t, x_t]), torch.cat([t, t]), **doubled, null_mask=null_mask)
    cond, uncond = both.chunk(2)
    return uncond + scale * (cond - uncond)
