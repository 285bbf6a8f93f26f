"""The scikit-learn handwritten digits: 1,797 real 8x8 images bundled with scikit-learn (no download).

UCI "Optical Recognition of Handwritten Digits" (Alpaydin & Kaynak, 1998; Kaynak, 1995): 32x32 bitmaps
of digits written by 43 people, reduced to 8x8 blocks counting set pixels (values 0..16). The package's
default dataset: small enough to train a DCGAN on a CPU in minutes.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from lightning_gen.data.base import BaseDataModule, check_val_fraction
from lightning_gen.data.tensor_dataset import TensorImageDataset
from lightning_gen.data.transforms import resize
from lightning_gen.utils.validation import check_positive

__all__ = ["DigitsDataModule", "read_digits"]


def read_digits(image_size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits as ``(images (N, 1, image_size, image_size) float in [-1, 1], labels (N,) long)``.

    The 0..16 counts are scaled linearly to [-1, 1], then resized (bilinear, antialiased).
    """
    from sklearn.datasets import load_digits

    check_positive("image_size", image_size)
    bunch = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 8.0 - 1.0  # (N, 1, 8, 8)
    return resize(images, image_size), torch.as_tensor(bunch.target, dtype=torch.long)


class DigitsDataModule(BaseDataModule):
    """scikit-learn's 8x8 handwritten digits (Alpaydin & Kaynak, 1998), 1 channel, labels 0-9.

    No official split: ``val_fraction`` of the 1,797 images (seeded by ``seed``) form the val set, which
    is also the test set.

    Args:
        image_size: output side (8 keeps the originals; 32 suits DCGAN-style networks).
        val_fraction: share of images held out for val/test (0.1: 180 images).
        batch_size, num_workers, seed, limit: see :class:`~lightning_gen.data.base.BaseDataModule`.
    """

    def __init__(
        self,
        image_size: int = 32,
        val_fraction: float = 0.1,
        batch_size: int = 64,
        num_workers: int = 0,
        seed: int = 0,
        limit: int | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed, limit=limit)
        self._image_size = check_positive("image_size", image_size)
        self.val_fraction = check_val_fraction(val_fraction, allow_zero=False)

    @property
    def channels(self) -> int:
        """1 (grayscale)."""
        return 1

    @property
    def image_size(self) -> int:
        """Side of the square images."""
        return self._image_size

    @property
    def num_classes(self) -> int:
        """10 digits."""
        return 10

    def build_fit_datasets(self) -> tuple[Dataset, Dataset]:
        images, labels = read_digits(self._image_size)
        return self.split_train_val(TensorImageDataset(images, labels), self.val_fraction)
