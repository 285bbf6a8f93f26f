"""Label conditioning shared by the conditional networks (Mirza & Osindero, 2014)."""

from __future__ import annotations

import torch
from torch import nn

from lightning_gen.utils.validation import check_range

__all__ = ["LabelEmbedding"]


class LabelEmbedding(nn.Module):
    """A learned embedding of class labels, checked for range when they are on the host (a CUDA tensor's
    check would stall every step; sampling entry points check labels once, and an out-of-range CUDA label
    still stops at nn.Embedding's device-side index check).

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
        check_range("Labels", labels, 0, self.num_classes - 1)  # host tensors only: no device sync per step
        return self.embedding(labels)
