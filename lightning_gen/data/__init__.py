"""LightningDataModules: 2-D toys, scikit-learn digits, MNIST, CIFAR-10, CelebA, image folders, unpaired,
captioned images (label captions, two-digit compositions, a user's captioned folder).

Conventions: images are float tensors in [-1, 1] shaped (B, C, H, W); image datamodules yield
``(images, labels)`` (labels long, zeros when unlabeled), the unpaired one ``{"a": ..., "b": ...}``, the
captioned ones ``{"image": ..., "text": list[str], "label": ...}`` ("label" when known). Every
datamodule takes ``batch_size``, ``num_workers``, ``seed`` and ``limit`` (see :mod:`.base`) and exposes
``channels``, ``image_size`` (``dim`` for the toys) and ``num_classes`` (0 when unlabeled).
"""

from lightning_gen.data.base import BaseDataModule, split_indices
from lightning_gen.data.caption_folder import (
    ImageCaptionFolderDataModule,
    ImageCaptionFolderDataset,
    read_caption_metadata,
)
from lightning_gen.data.captioned import CaptionedDataset, CaptionSplit, CaptionTemplates
from lightning_gen.data.captioned_labels import (
    CIFAR10_TEMPLATES,
    DIGIT_TEMPLATES,
    CaptionedCIFAR10DataModule,
    CaptionedMNISTDataModule,
)
from lightning_gen.data.celeba import (
    CELEBA_ATTRIBUTES,
    CelebADataModule,
    CelebADataset,
    read_celeba_attributes,
    read_celeba_partition,
)
from lightning_gen.data.cifar10 import (
    CIFAR10_CLASSES,
    CIFAR10DataModule,
    read_cifar10,
    read_cifar10_classes,
    write_cifar10_batches,
)
from lightning_gen.data.digits import DigitsDataModule, read_digits
from lightning_gen.data.domains import CIFAR10DomainsDataModule, DigitsMNISTDataModule, MNISTDomainsDataModule
from lightning_gen.data.image_folder import ImageFolderDataModule, ImageFolderDataset, find_images
from lightning_gen.data.mnist import MNISTDataModule, read_idx, read_mnist
from lightning_gen.data.stacked_mnist import StackedMNISTDataModule, stack_digits
from lightning_gen.data.tensor_dataset import TensorImageDataset
from lightning_gen.data.toy import ToyDataModule, grid_modes, ring_modes, sample_mixture, toy_mixture
from lightning_gen.data.two_digit import PAIR_TEMPLATES, TwoDigitMNISTDataModule, digit_halves
from lightning_gen.data.unpaired import UnpairedDataset, UnpairedImageDataModule, UnpairedImageDataset

__all__ = [
    "CELEBA_ATTRIBUTES",
    "CIFAR10_CLASSES",
    "CIFAR10_TEMPLATES",
    "DIGIT_TEMPLATES",
    "PAIR_TEMPLATES",
    "BaseDataModule",
    "CIFAR10DataModule",
    "CIFAR10DomainsDataModule",
    "CaptionSplit",
    "CaptionTemplates",
    "CaptionedCIFAR10DataModule",
    "CaptionedDataset",
    "CaptionedMNISTDataModule",
    "CelebADataModule",
    "CelebADataset",
    "DigitsDataModule",
    "DigitsMNISTDataModule",
    "ImageCaptionFolderDataModule",
    "ImageCaptionFolderDataset",
    "ImageFolderDataModule",
    "ImageFolderDataset",
    "MNISTDataModule",
    "MNISTDomainsDataModule",
    "StackedMNISTDataModule",
    "TensorImageDataset",
    "ToyDataModule",
    "TwoDigitMNISTDataModule",
    "UnpairedDataset",
    "UnpairedImageDataModule",
    "UnpairedImageDataset",
    "digit_halves",
    "find_images",
    "grid_modes",
    "read_celeba_attributes",
    "read_celeba_partition",
    "read_cifar10",
    "read_caption_metadata",
    "read_cifar10_classes",
    "read_digits",
    "read_idx",
    "read_mnist",
    "ring_modes",
    "sample_mixture",
    "split_indices",
    "stack_digits",
    "toy_mixture",
    "write_cifar10_batches",
]
