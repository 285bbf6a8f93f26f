"""An in-memory image dataset: a tensor of images, their labels and an optional per-item transform."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils.data import Dataset

from lightning_gen.data.transforms import uint8_to_float

__all__ = ["TensorImageDataset"]


class TensorImageDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Items ``(image (C, H, W) float in [-1, 1], label long scalar)`` from tensors held in memory.

    Args:
        images: (N, C, H, W), uint8 in [0, 255] (converted per item, to keep memory small) or float in
            [-1, 1].
        labels: (N,) integer labels.
        transform: applied to each float image (a picklable callable, e.g. a ``functools.partial``).
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        if images.dim() != 4 or images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"images must be (N, C, H, W) with N == len(labels); got {tuple(images.shape)} "
                f"and {tuple(labels.shape)}."
            )
        self.images = images
        self.labels = labels.long()
        self.transform = transform

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = uint8_to_float(self.images[index])
        if self.transform is not None:
            image = self.transform(image)
        return image, self.labels[index]
