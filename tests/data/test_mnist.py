"""MNIST from idx files: a synthetic root written here, and the real files in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lightning_gen.data import MNISTDataModule, read_idx, read_mnist
from tests.data.writers import write_idx


def test_reads_gzip_and_raw_files(synthetic_mnist: Path) -> None:
    images, labels = read_mnist(synthetic_mnist, "train")  # .gz files
    assert images.shape == (120, 28, 28) and images.dtype == torch.uint8
    assert labels.dtype == torch.long and labels[:12].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    test_images, _ = read_mnist(synthetic_mnist, "test")  # uncompressed files
    assert test_images.shape == (30, 28, 28)


def test_missing_files_named_with_fix(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        read_mnist(tmp_path, "train")
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and "train-labels-idx1-ubyte" in message
    assert "download=True" in message and str(tmp_path / "MNIST" / "raw") in message


def test_bad_magic_and_truncation_name_the_file(tmp_path: Path) -> None:
    bad = write_idx(tmp_path / "labels-as-images.gz", np.zeros(5), 0x801)
    with pytest.raises(ValueError, match=r"labels-as-images\.gz.*0x801, expected 0x803"):
        read_idx(bad, 0x803)
    cut = tmp_path / "cut"
    cut.write_bytes(write_idx(tmp_path / "full", np.zeros((2, 28, 28)), 0x803).read_bytes()[:100])
    with pytest.raises(ValueError, match="cut is truncated"):
        read_idx(cut, 0x803)


def test_image_sizes_pad_and_resize(synthetic_mnist: Path) -> None:
    dm = MNISTDataModule(str(synthetic_mnist), batch_size=10)
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (10, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    assert (dm.channels, dm.image_size, dm.num_classes) == (1, 28, 10)
    padded, _ = next(
        iter(MNISTDataModule(str(synthetic_mnist), image_size=32, batch_size=10).val_dataloader())
    )
    assert padded.shape == (10, 1, 32, 32)
    assert (padded[..., :2, :] == -1).all() and (padded[..., :, -2:] == -1).all()
    resized, _ = next(
        iter(MNISTDataModule(str(synthetic_mnist), 32, "resize", batch_size=10).val_dataloader())
    )
    assert resized.shape == (10, 1, 32, 32) and not (resized[..., :2, :] == -1).all()
    with pytest.raises(ValueError, match="resize"):
        MNISTDataModule(str(synthetic_mnist), image_size=16)


def test_splits(synthetic_mnist: Path) -> None:
    dm = MNISTDataModule(str(synthetic_mnist), val_fraction=0.25, batch_size=10)
    dm.setup()
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (90, 30, 30)  # type: ignore[arg-type]
    everything = MNISTDataModule(str(synthetic_mnist), val_fraction=0.0, batch_size=10)
    everything.setup("fit")
    assert len(everything.train_set) == 120 and len(everything.val_set) == 30  # type: ignore[arg-type]


@pytest.mark.shared_data
def test_real_test_split_statistics(shared_data: Path) -> None:
    images, labels = read_mnist(shared_data / "mnist", "test")
    assert images.shape == (10_000, 28, 28)
    assert torch.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert round(images.double().mean().item(), 2) == 33.79


@pytest.mark.shared_data
def test_real_root_lacks_train_images(shared_data: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        read_mnist(shared_data / "mnist", "train")
    assert "train-images-idx3-ubyte" in str(info.value)
    assert "train-labels-idx1-ubyte" not in str(info.value)  # present in ../shared/data


@pytest.mark.shared_data
def test_datamodule_on_real_files(mnist_root: Path) -> None:
    # mnist_root's train files are copies of the real t10k files (no official training images are stored).
    dm = MNISTDataModule(str(mnist_root), image_size=32, batch_size=50)
    dm.setup()
    assert len(dm.val_set) == 833 and len(dm.train_set) == 10_000 - 833  # type: ignore[arg-type]
    assert len(dm.test_set) == 10_000  # type: ignore[arg-type]
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (50, 1, 32, 32) and images.min() == -1 and images.max() == 1
    assert labels.min() >= 0 and labels.max() <= 9
