"""Stacked MNIST: three real MNIST digits stacked as the R, G, B channels, 1,000 modes.

Srivastava et al. (2017, VEEGAN) and Metz et al. (2017) built it to count modes; Lin et al. (2018, PacGAN)
use 128,000 stacked samples for training. Sample i is the digits at three independent random indices
(seeded), its label the mode ``100 * d_R + 10 * d_G + d_B``.
"""

from __future__ import annotations

import functools

import torch
from torch.utils.data import Dataset

from lightning_gen.data.base import BaseDataModule
from lightning_gen.data.mnist import MNISTSplit, read_mnist
from lightning_gen.data.tensor_dataset import TensorImageDataset
from lightning_gen.data.transforms import pad_to
from lightning_gen.utils.validation import check_choice, check_positive

__all__ = ["StackedMNISTDataModule", "stack_digits"]


def stack_digits(
    images: torch.Tensor, labels: torch.Tensor, num_samples: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``num_samples`` stacks of 3 random digits: (images (N, 3, H, W) uint8, modes (N,) long in 0..999)."""
    index = torch.randint(images.shape[0], (num_samples, 3), generator=generator)  # (N, 3)
    stacked = images[index]  # (N, 3, H, W): channel c is digit index[:, c]
    modes = (labels[index] * torch.tensor([100, 10, 1])).sum(dim=1)
    return stacked, modes


class StackedMNISTDataModule(BaseDataModule):
    """Stacked MNIST from real MNIST digits (VEEGAN / PacGAN protocol): 3-channel images, 1,000 modes.

    The stacks are drawn once (seeded) from the digits of ``split``. The official MNIST training images are
    not in ``../shared/data``: pass a root whose train files are copies of the t10k files (as the tests and
    benchmarks do) and say so with the numbers.

    Args:
        root: folder holding ``MNIST/raw/`` (torchvision's layout).
        split: which MNIST split's digits to stack.
        num_samples: training stacks (PacGAN: 128,000).
        val_samples: validation stacks (drawn from the same digits, independently).
        image_size: 28, or 32 (each digit padded with black borders, for the DCGAN networks).
        batch_size, num_workers, seed, limit: see :class:`~lightning_gen.data.base.BaseDataModule`.
    """

    def __init__(
        self,
        root: str,
        split: MNISTSplit = "train",
        num_samples: int = 128_000,
        val_samples: int = 10_000,
        image_size: int = 32,
        batch_size: int = 64,
        num_workers: int = 0,
        seed: int = 0,
        limit: int | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed, limit=limit)
        self.root = root
        self.split = check_choice("split", split, MNISTSplit)
        self.num_samples = int(check_positive("num_samples", num_samples))
        self.val_samples = int(check_positive("val_samples", val_samples))
        check_choice("image_size", image_size, (28, 32))
        self._image_size = image_size

    @property
    def channels(self) -> int:
        """3 (one digit per channel)."""
        return 3

    @property
    def image_size(self) -> int:
        return self._image_size

    @property
    def num_classes(self) -> int:
        """1,000 modes."""
        return 1000

    def build_fit_datasets(self) -> tuple[Dataset, Dataset]:
        images, labels = read_mnist(self.root, self.split)
        generator = torch.Generator().manual_seed(self.seed)
        train = stack_digits(images, labels, self.num_samples, generator)
        val = stack_digits(images, labels, self.val_samples, generator)
        transform = functools.partial(pad_to, size=32) if self._image_size == 32 else None
        return TensorImageDataset(*train, transform), TensorImageDataset(*val, transform)
