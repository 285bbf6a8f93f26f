"""Label conditioning shared by the conditional networks (Mirza & Osindero, 2014)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import nn

from lightning_gen.utils.validation import check_range

__all__ = ["BatchStatistics", "LabelEmbedding", "per_class_batches"]

#: how a class-conditional discriminator's BatchNorm layers see a training batch: ``"per_class"`` (one
#: sub-batch per class) or ``"pooled"`` (the whole mixed-class batch at once)
BatchStatistics = Literal["per_class", "pooled"]


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


def per_class_batches(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, labels: torch.Tensor, num_classes: int
) -> torch.Tensor:
    """``fn`` applied to each class's samples of ``x`` as a batch of their own, the outputs put back in the
    batch's order: ``out[i] = fn(x[labels == labels[i]])[...]``. For a network whose BatchNorm layers are in
    training mode this gives each class its own batch statistics.

    Why a conditional DCGAN discriminator needs it: an unconditional DCGAN discriminator normalises a batch of
    fakes with that batch's own mean and variance (Radford et al., 2016, run real and fake batches separately),
    so a generator that maps every z to one image yields a batch whose statistics no real batch has, and the
    discriminator sees it. Over a batch that mixes the classes those statistics are dominated by the
    differences *between* classes, which a generator with one image per class still has: collapse within each
    class becomes invisible to the discriminator, and the generator's gradient is the same for every sample of
    a class. Per-class statistics give the conditional discriminator back what the unconditional one has,
    within each class. ``fn`` runs once per class present (one host sync for the class counts per call).
    """
    if x.shape[0] != labels.numel():
        raise ValueError(f"Got {labels.numel()} labels for a batch of {x.shape[0]}.")
    labels = labels.view(-1)
    order = torch.argsort(labels, stable=True)
    counts = torch.bincount(labels, minlength=num_classes).tolist()
    outputs = [fn(chunk) for chunk in x[order].split(counts) if chunk.shape[0] > 0]
    out = torch.cat(outputs)
    return torch.empty_like(out).index_copy_(0, order, out)  # back to the batch's order
