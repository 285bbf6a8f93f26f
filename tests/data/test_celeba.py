"""CelebA: official file formats on a synthetic root, and the real 32-image sample in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lightning_gen.data import CELEBA_ATTRIBUTES, CelebADataModule, CelebADataset, read_celeba_attributes


def test_parses_crlf_and_double_spaces(synthetic_celeba: Path) -> None:
    files, names, attributes = read_celeba_attributes(synthetic_celeba)
    assert files == [f"{i:06d}.jpg" for i in range(1, 7)] and names == list(CELEBA_ATTRIBUTES)
    expected = torch.tensor([[int((i + j) % 3 == 0) for j in range(40)] for i in range(1, 7)])
    assert torch.equal(attributes, expected)


def test_datamodule_splits_labels_and_images(synthetic_celeba: Path) -> None:
    dm = CelebADataModule(str(synthetic_celeba), image_size=32, attribute="Smiling", batch_size=2)
    assert (dm.channels, dm.image_size, dm.num_classes) == (3, 32, 2)
    dm.setup()
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (4, 1, 1)  # type: ignore[arg-type]
    images, labels = next(iter(dm.val_dataloader()))
    assert images.shape == (1, 3, 32, 32) and images.min() >= -1 and images.max() <= 1
    smiling = CELEBA_ATTRIBUTES.index("Smiling")
    assert labels.tolist() == [int((5 + smiling) % 3 == 0)]
    unlabeled = CelebADataModule(str(synthetic_celeba), batch_size=2)
    assert unlabeled.num_classes == 0
    assert next(iter(unlabeled.train_dataloader()))[1].tolist() == [0, 0]


def test_crop_size_and_upsampling(synthetic_celeba: Path) -> None:
    image, _ = CelebADataset(synthetic_celeba, "all", image_size=128, crop_size=108)[0]
    assert image.shape == (3, 128, 128)
    with pytest.raises(ValueError, match="crop_size=200"):
        CelebADataset(synthetic_celeba, "all", crop_size=200)[0]


def test_unknown_attribute_lists_valid_names(synthetic_celeba: Path) -> None:
    with pytest.raises(ValueError) as info:
        CelebADataModule(str(synthetic_celeba), attribute="Smile")  # type: ignore[arg-type]
    assert "'Smiling'" in str(info.value) and "'Young'" in str(info.value)


def test_missing_files_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        CelebADataModule(str(tmp_path)).setup("fit")
    message = str(info.value)
    for name in ("img_align_celeba", "list_attr_celeba.txt", "list_eval_partition.txt"):
        assert name in message


def test_missing_and_corrupt_images_named(synthetic_celeba: Path) -> None:
    folder = synthetic_celeba / "celeba" / "img_align_celeba"
    (folder / "000002.jpg").unlink()
    (folder / "000003.jpg").write_bytes(b"garbage")
    dataset = CelebADataset(synthetic_celeba, "train")
    with pytest.raises(FileNotFoundError, match="000002.jpg"):
        dataset[1]
    with pytest.raises(ValueError, match="000003.jpg"):
        dataset[2]


def test_malformed_attribute_file(synthetic_celeba: Path) -> None:
    path = synthetic_celeba / "celeba" / "list_attr_celeba.txt"
    path.write_bytes(path.read_bytes().replace(b"6\r\n", b"7\r\n", 1))
    with pytest.raises(ValueError, match="says 7 images but 6 rows"):
        read_celeba_attributes(synthetic_celeba)


@pytest.mark.shared_data
def test_real_sample(shared_data: Path) -> None:
    root = shared_data / "celeba"
    dataset = CelebADataset(root, "all", image_size=64, attribute="Smiling")
    assert len(dataset) == 32 and dataset.attributes.shape == (32, 40)
    # Known rows of the official file: 000001 a smiling young woman, 000003 a man, not smiling.
    column = dataset.attribute_names.index
    assert dataset.attributes[0, column("Smiling")] == 1 and dataset.attributes[0, column("Male")] == 0
    assert dataset.attributes[0, column("Young")] == 1
    assert dataset.attributes[2, column("Male")] == 1 and dataset.labels[2] == 0
    # The Smiling column, read independently of the library.
    lines = (root / "celeba" / "list_attr_celeba.txt").read_bytes().decode().split("\r\n")
    smiling = lines[1].split().index("Smiling")
    expected = {line.split()[0]: int(line.split()[1 + smiling] == "1") for line in lines[2:] if line.strip()}
    assert [expected[f] for f in dataset.filenames] == dataset.labels.tolist()
    image, label = dataset[0]
    assert image.shape == (3, 64, 64) and image.min() >= -1 and image.max() <= 1 and label == 1


@pytest.mark.shared_data
def test_real_sample_datamodule(shared_data: Path) -> None:
    # The sample's partition file is constructed (24 train / 4 valid / 4 test), see ../shared/data/README.md.
    dm = CelebADataModule(str(shared_data / "celeba"), image_size=32, batch_size=8)
    dm.setup()
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (24, 4, 4)  # type: ignore[arg-type]
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (8, 3, 32, 32) and labels.tolist() == [0] * 8
