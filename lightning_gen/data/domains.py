"""Two-domain datasets built from real images, with no paired examples, for CoGAN and CycleGAN.

- :class:`MNISTDomainsDataModule`: CoGAN's digit tasks (Liu & Tuzel, 2016, section 5): domain A is MNIST
  digits, domain B is digits turned into their ``"edges"`` or ``"negative"`` images. As in the paper, the
  images are split at random into two equal halves, A drawn from one half and B from the other, so the
  model never sees a digit together with its own transform.
- :class:`DigitsMNISTDataModule`: the scikit-learn 8x8 digits upsampled to 32x32 (A) and real MNIST padded
  to 32x32 (B), unpaired translation with CycleGAN (Zhu et al., 2017).
- :class:`CIFAR10DomainsDataModule`: two CIFAR-10 classes as domains, e.g. horse (A) and deer (B).

Batches are ``{"a": (B, C, S, S), "b": (B, C, S, S)}`` in [-1, 1] (the layout of
:class:`~lightning_gen.data.unpaired.UnpairedImageDataModule`): an epoch has ``max(len A, len B)`` items,
A in order and B drawn at random (train) or paired by index (val/test: fixed images to look at).
:meth:`UnpairedDomainsDataModule.domain` gives a whole split of one domain with its labels, for evaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from lightning_gen.data.base import BaseDataModule, check_val_fraction, split_indices
from lightning_gen.data.cifar10 import CIFAR10_CLASSES, read_cifar10, read_cifar10_classes
from lightning_gen.data.digits import read_digits
from lightning_gen.data.mnist import MNISTSplit, read_mnist
from lightning_gen.data.tensor_dataset import TensorImageDataset
from lightning_gen.data.transforms import pad_to, uint8_to_float
from lightning_gen.data.unpaired import UnpairedDataset
from lightning_gen.utils.validation import check_choice

__all__ = [
    "DOMAIN_TRANSFORMS",
    "CIFAR10DomainsDataModule",
    "DigitsMNISTDataModule",
    "DomainTransform",
    "MNISTDomainsDataModule",
    "UnpairedDomainsDataModule",
    "digit_edges",
    "negative_image",
    "pixel_agreement",
]

DomainTransform = Literal["edges", "negative"]
Domain = Literal["a", "b"]
Split = Literal["train", "test"]


def digit_edges(images: torch.Tensor) -> torch.Tensor:
    """Edge images of [-1, 1] images (..., C, H, W): the morphological gradient, 3x3 dilation minus 3x3
    erosion of the intensities in [0, 1] (a stroke's two outlines, about 2 pixels wide), mapped to [-1, 1]."""
    batched = images.reshape(-1, *images.shape[-3:])
    unit = (batched + 1) / 2
    dilated = F.max_pool2d(unit, 3, stride=1, padding=1)
    eroded = -F.max_pool2d(-unit, 3, stride=1, padding=1)
    return ((dilated - eroded) * 2 - 1).reshape(images.shape)


def negative_image(images: torch.Tensor) -> torch.Tensor:
    """The negative of [-1, 1] images: ``-x`` (white becomes black)."""
    return -images


DOMAIN_TRANSFORMS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "edges": digit_edges,
    "negative": negative_image,
}


class UnpairedDomainsDataModule(BaseDataModule):
    """Base of the two-domain datamodules: a subclass returns each split's two domains from
    :meth:`build_domains`; train pairs them at random, val/test by index (see the module docstring)."""

    def __init__(self, *, batch_size: int, num_workers: int, seed: int, limit: int | None) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed, limit=limit)
        self._domains: dict[str, tuple[TensorImageDataset, TensorImageDataset]] = {}

    def build_domains(self, split: Split) -> tuple[TensorImageDataset, TensorImageDataset]:
        """``(domain A, domain B)`` datasets of ``split``."""
        raise NotImplementedError

    def domains(self, split: Split) -> tuple[TensorImageDataset, TensorImageDataset]:
        check_choice("split", split, Split)
        if split not in self._domains:
            self._domains[split] = self.build_domains(split)
        return self._domains[split]

    def domain(self, name: Domain, split: Split = "test") -> tuple[torch.Tensor, torch.Tensor]:
        """All of one domain's ``split``: ``(images (N, C, S, S) float in [-1, 1], labels (N,))``."""
        check_choice("domain", name, Domain)
        dataset = self.domains(split)["ab".index(name)]
        images = torch.stack([dataset[i][0] for i in range(len(dataset))])
        return images, dataset.labels

    def build_fit_datasets(self) -> tuple[Dataset, Dataset]:
        train_a, train_b = self.domains("train")
        test_a, test_b = self.domains("test")
        return (
            UnpairedDataset(train_a, train_b, random_pairing=True, seed=self.seed),
            UnpairedDataset(test_a, test_b, random_pairing=False),
        )

    def build_test_dataset(self) -> Dataset:
        return UnpairedDataset(*self.domains("test"), random_pairing=False)


def _halves(num: int, seed: int) -> tuple[list[int], list[int]]:
    """A seeded random split of ``range(num)`` into two disjoint halves."""
    first, second = split_indices(num, 0.5, seed)
    return first, second


class MNISTDomainsDataModule(UnpairedDomainsDataModule):
    """CoGAN's digit domains (Liu & Tuzel, 2016): MNIST digits (A) and their edge or negative images (B).

    Each split is divided at random (seeded) into two disjoint halves: domain A is the first half's digits,
    domain B the second half's digits transformed, so no digit is seen with its own transform. Images are
    padded from 28 to ``image_size`` (black borders) before the transform.

    Args:
        root: folder holding ``MNIST/raw/`` (see :class:`~lightning_gen.data.mnist.MNISTDataModule`).
        transform: domain B: ``"edges"`` (:func:`digit_edges`) or ``"negative"`` (:func:`negative_image`).
        image_size: output side (>= 28; 32 for the DCGAN-style networks).
        train_split: which official MNIST split to train on; ``"test"`` trains on the 10,000 t10k images
            (for a root that has only those). The val/test domains always come from the t10k split.
        batch_size, num_workers, seed, limit: see :class:`~lightning_gen.data.base.BaseDataModule`; ``seed``
            also draws the halves.
    """

    def __init__(
        self,
        root: str,
        transform: DomainTransform = "edges",
        image_size: int = 32,
        train_split: MNISTSplit = "train",
        batch_size: int = 64,
        num_workers: int = 0,
        seed: int = 0,
        limit: int | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed, limit=limit)
        self.root = root
        self.transform = check_choice("transform", transform, DomainTransform)
        self.train_split = check_choice("train_split", train_split, MNISTSplit)
        if image_size < 28:
            raise ValueError(
                f"image_size must be >= 28 (MNIST digits are padded, not shrunk), got {image_size}."
            )
        self._image_size = image_size

    @property
    def channels(self) -> int:
        return 1

    @property
    def image_size(self) -> int:
        return self._image_size

    @property
    def num_classes(self) -> int:
        return 10

    def build_domains(self, split: Split) -> tuple[TensorImageDataset, TensorImageDataset]:
        images, labels = read_mnist(self.root, self.train_split if split == "train" else "test")
        images = pad_to(uint8_to_float(images.unsqueeze(1)), self._image_size)  # (N, 1, S, S)
        first, second = _halves(images.shape[0], self.seed)
        domain_b = DOMAIN_TRANSFORMS[self.transform](images[second])
        return TensorImageDataset(images[first], labels[first]), TensorImageDataset(domain_b, labels[second])


class DigitsMNISTDataModule(UnpairedDomainsDataModule):
    """scikit-learn digits (A, Alpaydin & Kaynak, 1998; 8x8 upsampled to ``image_size``) and real MNIST (B,
    LeCun et al., 1998; 28x28 padded to ``image_size``), unpaired: CycleGAN's setting (Zhu et al., 2017).

    Digits: a seeded ``test_fraction`` of the 1,797 images is held out (the label-preservation test set).
    MNIST: trains on ``mnist_train_split``; the test domain is the t10k split.

    Args:
        mnist_root: folder holding ``MNIST/raw/``.
        image_size: side of both domains' images (>= 28).
        test_fraction: share of the scikit-learn digits held out for testing.
        mnist_train_split: ``"train"`` (official) or ``"test"`` (the 10,000 t10k images, for a root that has
            only those).
        batch_size, num_workers, seed, limit: see :class:`~lightning_gen.data.base.BaseDataModule`.
    """

    def __init__(
        self,
        mnist_root: str,
        image_size: int = 32,
        test_fraction: float = 0.2,
        mnist_train_split: MNISTSplit = "train",
        batch_size: int = 64,
        num_workers: int = 0,
        seed: int = 0,
        limit: int | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed, limit=limit)
        self.mnist_root = mnist_root
        if image_size < 28:
            raise ValueError(
                f"image_size must be >= 28 (MNIST digits are padded, not shrunk), got {image_size}."
            )
        self._image_size = image_size
        self.test_fraction = check_val_fraction(test_fraction, allow_zero=False)
        self.mnist_train_split = check_choice("mnist_train_split", mnist_train_split, MNISTSplit)

    @property
    def channels(self) -> int:
        return 1

    @property
    def image_size(self) -> int:
        return self._image_size

    @property
    def num_classes(self) -> int:
        return 10

    def build_domains(self, split: Split) -> tuple[TensorImageDataset, TensorImageDataset]:
        digits, digit_labels = read_digits(self._image_size)
        train, test = split_indices(digits.shape[0], self.test_fraction, self.seed)
        keep = train if split == "train" else test
        mnist, mnist_labels = read_mnist(
            self.mnist_root, self.mnist_train_split if split == "train" else "test"
        )
        mnist = pad_to(uint8_to_float(mnist.unsqueeze(1)), self._image_size)
        return TensorImageDataset(digits[keep], digit_labels[keep]), TensorImageDataset(mnist, mnist_labels)


class CIFAR10DomainsDataModule(UnpairedDomainsDataModule):
    """Two CIFAR-10 classes (Krizhevsky, 2009) as unpaired domains, e.g. horse (A) <-> deer (B): 5,000 train
    and 1,000 test images each, 3x32x32, read from the official ``cifar-10-batches-py`` pickles.

    Args:
        root: folder holding ``cifar-10-batches-py/`` (:func:`~lightning_gen.data.cifar10.write_cifar10_batches`
            writes it from the JPEG trees).
        domain_a, domain_b: class names.
        batch_size, num_workers, seed, limit: see :class:`~lightning_gen.data.base.BaseDataModule`.
    """

    def __init__(
        self,
        root: str,
        domain_a: str = "horse",
        domain_b: str = "deer",
        batch_size: int = 64,
        num_workers: int = 0,
        seed: int = 0,
        limit: int | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed, limit=limit)
        check_choice("domain_a", domain_a, CIFAR10_CLASSES)
        check_choice("domain_b", domain_b, CIFAR10_CLASSES)
        if domain_a == domain_b:
            raise ValueError(f"domain_a and domain_b must be different classes, both are {domain_a!r}.")
        self.root, self.domain_a, self.domain_b = root, domain_a, domain_b

    @property
    def channels(self) -> int:
        return 3

    @property
    def image_size(self) -> int:
        return 32

    @property
    def num_classes(self) -> int:
        return 10

    def build_domains(self, split: Split) -> tuple[TensorImageDataset, TensorImageDataset]:
        images, labels = read_cifar10(self.root, split)
        names = read_cifar10_classes(self.root)
        out = []
        for name in (self.domain_a, self.domain_b):
            keep = labels == names.index(name)  # labels stay the official CIFAR-10 ids
            out.append(TensorImageDataset(images[keep], labels[keep]))
        return out[0], out[1]


def pixel_agreement(
    images_a: torch.Tensor, images_b: torch.Tensor, transform: DomainTransform, threshold: float = 0.0
) -> dict[str, float]:
    """CoGAN's pixel agreement ratio (Liu & Tuzel, 2016, section 5) between generated pairs.

    Domain B images are compared with the known ``transform`` of their paired domain A images: both are
    binarised at ``threshold`` (0 is mid-grey in [-1, 1]) and ``agreement`` is the share of pixels where the
    two binary images agree, averaged over pairs (the paper's metric). Most MNIST pixels are background, so
    ``foreground_iou`` (intersection over union of the white pixels, averaged over pairs) is also returned,
    a stricter view of the same correspondence.

    Args:
        images_a, images_b: (N, C, H, W) in [-1, 1], pair i = (images_a[i], images_b[i]).
        transform: the map from domain A to domain B (see :data:`DOMAIN_TRANSFORMS`).
    """
    check_choice("transform", transform, DomainTransform)
    if images_a.shape != images_b.shape:
        raise ValueError(
            f"Pairs must have equal shapes, got {tuple(images_a.shape)} and {tuple(images_b.shape)}."
        )
    expected = DOMAIN_TRANSFORMS[transform](images_a.float()) > threshold
    got = images_b.float() > threshold
    agreement = (expected == got).flatten(1).float().mean(1)
    union = (expected | got).flatten(1).sum(1)
    iou = torch.where(
        union > 0, (expected & got).flatten(1).sum(1) / union.clamp(min=1), 1.0
    )  # both empty: 1
    return {"agreement": agreement.mean().item(), "foreground_iou": iou.float().mean().item()}
