"""Reconstruction losses for autoencoders, per sample (mean over the feature dimensions)."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from lightning_gen.utils.validation import check_choice

__all__ = ["ReconstructionLoss", "reconstruction_loss"]

ReconstructionLoss = Literal["mse", "l1", "bce"]


def reconstruction_loss(recon: torch.Tensor, target: torch.Tensor, kind: ReconstructionLoss = "mse") -> torch.Tensor:
    """Per-sample reconstruction error between two [-1, 1] batches.

    ``bce`` treats pixels mapped to [0, 1] as Bernoulli targets (the classic MNIST autoencoder loss).
    """
    check_choice("loss", kind, ReconstructionLoss)
    if recon.shape != target.shape:
        raise ValueError(f"Reconstruction shape {tuple(recon.shape)} != input shape {tuple(target.shape)}.")
    if kind == "mse":
        per_elem = F.mse_loss(recon, target, reduction="none")
    elif kind == "l1":
        per_elem = F.l1_loss(recon, target, reduction="none")
    else:
        p = ((recon + 1) / 2).clamp(1e-6, 1 - 1e-6)
        per_elem = F.binary_cross_entropy(p, (target + 1) / 2, reduction="none")
    return per_elem.flatten(1).mean(dim=1)
