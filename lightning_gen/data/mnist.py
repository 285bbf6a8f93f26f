"""MNIST read from the official idx files, laid out as torchvision does (``root/MNIST/raw/``).

MNIST (LeCun, Bottou, Bengio & Haffner, 1998, "Gradient-based learning applied to document
recognition"): 60,000 training and 10,000 test 28x28 grayscale digits. The files are read by a small idx
reader (gzip'd or not) so no torchvision processing step or checksum is involved; ``download=True`` is the
only path that uses the network (through ``torchvision.datasets.MNIST``).
"""

from __future__ import annotations

import functools
import gzip
import math
from pathlib import Path
from typing import Literal

import torch
from torch.utils.data import Dataset

from lightning_gen.data.base import BaseDataModule, check_val_fraction, missing_files_error
from lightning_gen.data.tensor_dataset import TensorImageDataset
from lightning_gen.data.transforms import pad_to, resize
from lightning_gen.utils.validation import check_choice, check_positive

__all__ = ["MNISTDataModule", "MNISTSplit", "ResizeMode", "mnist_files", "read_idx", "read_mnist"]

MNISTSplit = Literal["train", "test"]
ResizeMode = Literal["pad", "resize"]

IMAGES_MAGIC = 0x803  # unsigned byte, 3 dimensions
LABELS_MAGIC = 0x801  # unsigned byte, 1 dimension


def read_idx(path: str | Path, magic: int) -> torch.Tensor:
    """Read an idx file (``.gz`` or uncompressed) as a uint8 tensor of the shape its header gives.

    Raises:
        ValueError: the magic number is not ``magic``, or the data is truncated / not gzip (names the file).
    """
    path = Path(path)
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as f:
            data = f.read()
    except (OSError, EOFError) as err:
        raise ValueError(f"Cannot read idx file {path}: {err}") from err
    found = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
    if found != magic:
        shown = "none (file shorter than 4 bytes)" if found is None else f"{found:#x}"
        raise ValueError(
            f"{path} is not the expected idx file: magic number {shown}, expected {magic:#x}. "
            "Replace it with the official MNIST file."
        )
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    if len(data) - offset != math.prod(dims):
        raise ValueError(
            f"{path} is truncated or corrupt: header says {dims} ({math.prod(dims)} bytes of data), "
            f"found {len(data) - offset} bytes."
        )
    if not dims or math.prod(dims) == 0:
        return torch.zeros(dims, dtype=torch.uint8)
    return torch.frombuffer(bytearray(data[offset:]), dtype=torch.uint8).reshape(dims)


def mnist_files(root: str | Path, split: MNISTSplit) -> tuple[Path, Path]:
    """The (images, labels) idx files of ``split`` under ``root/MNIST/raw/``, uncompressed or ``.gz``.

    Raises:
        FileNotFoundError: naming every missing file and how to get it.
    """
    check_choice("split", split, MNISTSplit)
    raw = Path(root) / "MNIST" / "raw"
    prefix = "train" if split == "train" else "t10k"
    found, missing = [], []
    for name in (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"):
        candidates = [raw / name, raw / f"{name}.gz"]
        existing = [c for c in candidates if c.is_file()]
        found.append(existing[0] if existing else None)
        if not existing:
            missing.append(f"{raw / name}.gz (or uncompressed: {name})")
    if missing:
        raise missing_files_error(
            missing,
            f"MNIST {split} split",
            f"Fix: pass download=True (MNISTDataModule fetches the files with "
            f"torchvision.datasets.MNIST(root, download=True)), or copy the official idx files into {raw}/.",
        )
    return found[0], found[1]


def read_mnist(root: str | Path, split: MNISTSplit) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST ``split`` from ``root/MNIST/raw/``: ``(images (N, 28, 28) uint8, labels (N,) long)``.

    Raises:
        FileNotFoundError: a file is missing (the message names it and the fix).
        ValueError: a file has the wrong magic number, is truncated, or images and labels disagree in count.
    """
    images_path, labels_path = mnist_files(root, split)
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{images_path} has {images.shape[0]} images but {labels_path} has {labels.shape[0]} labels."
        )
    return images, labels.long()


class MNISTDataModule(BaseDataModule):
    """MNIST (LeCun et al., 1998) from the official idx files under ``root/MNIST/raw/``; labels 0-9.

    The val set is ``val_fraction`` of the official training set (seeded; default 1/12 = 5,000 of 60,000,
    the classic 55k/5k split); ``val_fraction=0`` trains on all 60,000 and validates on the test set. The
    test set is the official 10,000-image t10k set.

    Args:
        root: folder that holds ``MNIST/raw/`` (torchvision's layout).
        image_size: output side; 28 keeps the originals.
        resize_mode: how to reach ``image_size``: ``"pad"`` with black borders (28 -> 32 pads 2 pixels per
            side, as LeNet-5 did; needs ``image_size >= 28``) or ``"resize"`` (bilinear, antialiased).
        download: fetch missing files with ``torchvision.datasets.MNIST(root, download=True)`` in
            ``prepare_data`` (the only network access).
        val_fraction: share of the training set held out for validation.
        batch_size, num_workers, seed, limit: see :class:`~lightning_gen.data.base.BaseDataModule`.
    """

    def __init__(
        self,
        root: str,
        image_size: int = 28,
        resize_mode: ResizeMode = "pad",
        download: bool = False,
        val_fraction: float = 1 / 12,
        batch_size: int = 64,
        num_workers: int = 0,
        seed: int = 0,
        limit: int | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed, limit=limit)
        self.root = root
        self._image_size = check_positive("image_size", image_size)
        self.resize_mode = check_choice("resize_mode", resize_mode, ResizeMode)
        if resize_mode == "pad" and image_size < 28:
            raise ValueError(f"resize_mode='pad' needs image_size >= 28, got {image_size}; use 'resize'.")
        self.download = download
        self.val_fraction = check_val_fraction(val_fraction)

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

    def prepare_data(self) -> None:
        """With ``download=True``, fetch the four idx files through torchvision (network access)."""
        if self.download:
            from torchvision.datasets import MNIST

            MNIST(self.root, train=True, download=True)
            MNIST(self.root, train=False, download=True)

    def _dataset(self, split: MNISTSplit) -> TensorImageDataset:
        images, labels = read_mnist(self.root, split)
        transform = None
        if self._image_size != images.shape[-1]:
            resize_fn = pad_to if self.resize_mode == "pad" else resize
            transform = functools.partial(resize_fn, size=self._image_size)
        return TensorImageDataset(images.unsqueeze(1), labels, transform)

    def build_fit_datasets(self) -> tuple[Dataset, Dataset]:
        return self.split_train_val(self._dataset("train"), self.val_fraction)

    def build_test_dataset(self) -> Dataset:
        return self._dataset("test")
