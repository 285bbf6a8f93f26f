"""Image folders: layouts, preprocessing, corrupt files, empty and missing folders."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

from lightning_gen.data import ImageFolderDataModule, ImageFolderDataset, find_images
from tests.data.writers import write_image


def test_class_layout(class_folder: Path) -> None:
    files, labels, classes = find_images(class_folder)
    assert classes == ["cats", "dogs"] and len(files) == 10
    assert labels == [0] * 6 + [1] * 4
    assert class_folder / "cats" / "0.JPG" in files and class_folder / "dogs" / "nested" / "3.png" in files


def test_flat_layout_unlabeled(tmp_path: Path) -> None:
    for i, ext in enumerate(["png", "jpeg", "bmp", "webp", "PNG"]):
        write_image(tmp_path / f"{i}.{ext}", (20, 24), seed=i)
    (tmp_path / ".hidden.png").write_bytes(b"")
    dm = ImageFolderDataModule(str(tmp_path), image_size=16, channels=1, val_fraction=0.2, batch_size=4)
    assert dm.classes == [] and dm.num_classes == 0 and dm.channels == 1
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (4, 1, 16, 16) and labels.tolist() == [0, 0, 0, 0]


def test_resize_center_crop_range(class_folder: Path) -> None:
    dataset = ImageFolderDataset(class_folder, image_size=24, channels=3)
    for index in (0, 7):  # a wide (50x40) and a tall (30x60) image
        image, _ = dataset[index]
        assert image.shape == (3, 24, 24) and image.min() >= -1 and image.max() <= 1


def test_datamodule_split_and_test_fallback(class_folder: Path) -> None:
    dm = ImageFolderDataModule(str(class_folder), image_size=8, val_fraction=0.2, batch_size=2)
    assert dm.num_classes == 2
    dm.setup()
    assert len(dm.train_set) == 8 and len(dm.val_set) == 2 and dm.test_set is dm.val_set  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no test split"):
        ImageFolderDataModule(str(class_folder), val_fraction=0.0)


def test_corrupt_image_raise_names_file(class_folder: Path) -> None:
    bad = class_folder / "cats" / "2.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    dataset = ImageFolderDataset(class_folder, image_size=8)
    with pytest.raises(ValueError, match=r"cats/2\.jpg"):
        dataset[2]


def test_corrupt_image_skip_warns_and_counts(class_folder: Path) -> None:
    (class_folder / "cats" / "2.jpg").write_bytes(b"garbage")
    (class_folder / "dogs" / "1.png").write_bytes(b"")
    dm = ImageFolderDataModule(
        str(class_folder), image_size=8, on_error="skip", val_fraction=0.1, batch_size=1
    )
    dm.setup("fit")
    with pytest.warns(UserWarning) as record:
        batches = [labels for _, labels in dm.train_dataloader()] + [y for _, y in dm.val_dataloader()]
    assert len(batches) == 10 and dm.num_skipped == 2
    messages = " ".join(str(w.message) for w in record)
    assert "2.jpg" in messages and "1.png" in messages
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # already-known bad files are skipped silently
        list(dm.train_dataloader())
    assert dm.num_skipped == 2


def test_all_images_corrupt(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"x")
    dataset = ImageFolderDataset(tmp_path, on_error="skip")
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="No readable image"):
        dataset[0]


def test_missing_empty_and_mixed_folders(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        find_images(tmp_path / "nope")
    with pytest.raises(ValueError, match="No images"):
        find_images(tmp_path)
    (tmp_path / "cls" / "empty").mkdir(parents=True)
    write_image(tmp_path / "other" / "0.png")
    with pytest.raises(ValueError, match="without images.*cls"):
        find_images(tmp_path)
    write_image(tmp_path / "cls" / "0.png")
    write_image(tmp_path / "loose.png")
    with pytest.raises(ValueError, match="mixes images and subfolders"):
        find_images(tmp_path)


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="channels"):
        ImageFolderDataModule("x", channels=2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'raise', 'skip'"):
        ImageFolderDataModule("x", on_error="ignore")  # type: ignore[arg-type]


def test_grayscale_conversion(class_folder: Path) -> None:
    image, label = ImageFolderDataset(class_folder, image_size=8, channels=1)[9]
    assert image.shape == (1, 8, 8) and label == torch.tensor(1)
