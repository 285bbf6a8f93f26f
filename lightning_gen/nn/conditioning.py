"""Label conditioning shared by the conditional networks (Mirza & Osindero, 2014)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["LabelEmbedding"]


class LabelEmbedding(nn.Module):
    """A learned embedding of class labels, checked for range.

    ``num_classes == 0`` means unconditional: ``forward`` then returns None and rejects labels.
    """

    def __init__(self, num_classes: int, dim: int) -> None:
        super().__init__()
        if num_classes < 0:
            raise ValueError(f"num_classes must be >= 0, got {num_classes}.")
        self.num_classes = num_classes
        self.embedding = nn.Embedding(num_classes, dim) if num_classes > 0 else None

    def forward(self, labels: torch.Tensor | None, batch_size: int) -> torch.Tensor | None:
        if self.embedding is None:
            if labels is not None:
                raise ValueError("This network is unconditional (num_classes=0) but labels were given.")
            return None
        if labels is None:
            raise ValueError(f"This network is class-conditional ({self.num_classes} classes): pass labels.")
        labels = labels.long().view(-1)
        if labels.numel() != batch_size:
            raise ValueError(f"Got {labels.numel()} labels for a batch of {batch_size}.")
        if labels.numel() and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(
                f"Labels must lie in [0, {self.num_classes - 1}], got min {int(labels.min())} max {int(labels.max())}."
            )
        return self.embedding(labels)
