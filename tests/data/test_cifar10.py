"""CIFAR-10: official-format batches written from JPEGs and read back (synthetic and real images)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from lightning_gen.data import (
    CIFAR10_CLASSES,
    CIFAR10DataModule,
    ImageFolderDataModule,
    read_cifar10,
    read_cifar10_classes,
    write_cifar10_batches,
)
from lightning_gen.utils.images import load_image, to_uint8


def _check_round_trip(jpeg_root: Path, out_root: Path, per_split: dict[str, int]) -> None:
    folder = write_cifar10_batches(str(jpeg_root), str(out_root))
    assert folder == out_root / "cifar-10-batches-py"
    with (folder / "data_batch_1").open("rb") as f:
        batch = pickle.load(f, encoding="bytes")  # the way the CIFAR-10 page says to read the files
    assert set(batch) == {b"data", b"labels", b"filenames", b"batch_label"}
    assert batch[b"data"].dtype.name == "uint8" and batch[b"data"].shape[1] == 3072
    assert read_cifar10_classes(out_root) == list(CIFAR10_CLASSES)
    for split, count in per_split.items():
        images, labels = read_cifar10(out_root, split)
        assert images.shape == (10 * count, 3, 32, 32) and images.dtype == torch.uint8
        assert torch.bincount(labels).tolist() == [count] * 10
    # Pixels survive the trip: find frog/0001.jpg of train by its filename.
    names = []
    for i in range(1, 6):
        with (folder / f"data_batch_{i}").open("rb") as f:
            names += [n.decode() for n in pickle.load(f, encoding="bytes")[b"filenames"]]
    images, labels = read_cifar10(out_root, "train")
    index = names.index("frog_0001.jpg")
    assert labels[index] == CIFAR10_CLASSES.index("frog")
    assert torch.equal(images[index], to_uint8(load_image(jpeg_root / "train" / "frog" / "0001.jpg")))


def test_round_trip_synthetic(synthetic_cifar_jpegs: Path, tmp_path: Path) -> None:
    _check_round_trip(synthetic_cifar_jpegs, tmp_path / "batches", {"train": 3, "test": 2})


def test_per_class_subset(synthetic_cifar_jpegs: Path, tmp_path: Path) -> None:
    write_cifar10_batches(str(synthetic_cifar_jpegs), str(tmp_path), per_class=1)
    assert read_cifar10(tmp_path, "train")[0].shape[0] == 10


def test_datamodule_and_class_subset(synthetic_cifar_jpegs: Path, tmp_path: Path) -> None:
    write_cifar10_batches(str(synthetic_cifar_jpegs), str(tmp_path))
    dm = CIFAR10DataModule(str(tmp_path), val_fraction=0.2, batch_size=8)
    dm.setup()
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (24, 6, 20)  # type: ignore[arg-type]
    assert (dm.channels, dm.image_size, dm.num_classes) == (3, 32, 10)
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (8, 3, 32, 32) and images.min() >= -1 and images.max() <= 1
    assert labels.dtype == torch.long
    two = CIFAR10DataModule(str(tmp_path), classes=["horse", "deer"], val_fraction=0.0, batch_size=2)
    two.setup()
    assert two.classes == ["horse", "deer"] and two.num_classes == 2
    _, test_labels = next(iter(two.test_dataloader()))
    assert len(two.train_set) == 6 and len(two.test_set) == 4  # type: ignore[arg-type]
    assert sorted(test_labels.tolist()) == [0, 1]
    with pytest.raises(ValueError, match="'airplane'"):
        CIFAR10DataModule(str(tmp_path), classes=["unicorn"])


def test_missing_files_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        CIFAR10DataModule(str(tmp_path)).setup("fit")
    message = str(info.value)
    for name in ("data_batch_1", "data_batch_5", "batches.meta"):
        assert name in message
    assert "download=True" in message
    with pytest.raises(FileNotFoundError, match="test_batch"):
        read_cifar10(tmp_path, "test")


def test_corrupt_batch_names_file(synthetic_cifar_jpegs: Path, tmp_path: Path) -> None:
    folder = write_cifar10_batches(str(synthetic_cifar_jpegs), str(tmp_path))
    (folder / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="test_batch"):
        read_cifar10(tmp_path, "test")


@pytest.mark.shared_data
def test_round_trip_real_jpegs(real_cifar_jpegs: Path, tmp_path: Path) -> None:
    _check_round_trip(real_cifar_jpegs, tmp_path, {"train": 20, "test": 10})
    dm = CIFAR10DataModule(str(tmp_path), batch_size=16)
    images, _ = next(iter(dm.train_dataloader()))
    assert images.shape == (16, 3, 32, 32) and -1 <= images.min() < -0.5 and 0.5 < images.max() <= 1


@pytest.mark.shared_data
def test_image_folder_reads_jpeg_tree(real_cifar_jpegs: Path) -> None:
    dm = ImageFolderDataModule(
        str(real_cifar_jpegs / "train"),
        image_size=32,
        test_root=str(real_cifar_jpegs / "test"),
        batch_size=10,
    )
    assert dm.classes == list(CIFAR10_CLASSES) and dm.num_classes == 10
    dm.setup()
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (180, 20, 100)  # type: ignore[arg-type]
    images, labels = next(iter(dm.test_dataloader()))
    assert images.shape == (10, 3, 32, 32) and labels.tolist() == [0] * 10
