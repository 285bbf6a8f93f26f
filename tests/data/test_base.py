"""The shared pieces: split helper, limit, missing-file errors, loader settings, CLI-parsable signatures."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lightning_gen.data import (
    CelebADataModule,
    CIFAR10DataModule,
    DigitsDataModule,
    ImageFolderDataModule,
    MNISTDataModule,
    ToyDataModule,
    UnpairedImageDataModule,
)
from lightning_gen.data.base import check_val_fraction, limit_dataset, require_files, split_indices


def test_split_is_deterministic_disjoint_and_sized() -> None:
    train, val = split_indices(100, 0.2, seed=0)
    assert len(val) == 20 and len(train) == 80
    assert sorted(train + val) == list(range(100))
    assert split_indices(100, 0.2, seed=0) == (train, val)
    assert split_indices(100, 0.2, seed=1)[1] != val
    assert train == sorted(train)


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_bad_val_fraction(fraction: float) -> None:
    with pytest.raises(ValueError, match="val_fraction"):
        split_indices(10, fraction, seed=0)
    with pytest.raises(ValueError, match="no test split"):
        check_val_fraction(0.0, allow_zero=False)


def test_limit_takes_first_items() -> None:
    data = list(range(10))
    assert [limited for limited in limit_dataset(data, 3)] == [0, 1, 2]  # type: ignore[arg-type]
    assert limit_dataset(data, None) is data and limit_dataset(data, 50) is data  # type: ignore[arg-type]


def test_require_files_names_every_missing_path(tmp_path: Path) -> None:
    (tmp_path / "present").write_text("x")
    with pytest.raises(FileNotFoundError) as info:
        require_files([tmp_path / "present", tmp_path / "a.bin", tmp_path / "b.bin"], "Demo", "Fix: get them.",
                      folders=[tmp_path / "imgs"])  # fmt: skip
    message = str(info.value)
    assert "a.bin" in message and "b.bin" in message and "imgs" in message and "Fix: get them." in message
    assert "present" not in message


def test_train_loader_settings_and_seeded_shuffle() -> None:
    dm = DigitsDataModule(image_size=8, batch_size=100, seed=3)
    loader = dm.train_dataloader()
    assert loader.drop_last and len(loader) == len(dm.train_set) // 100  # type: ignore[arg-type]
    first = next(iter(loader))[1]
    again = next(iter(DigitsDataModule(image_size=8, batch_size=100, seed=3).train_dataloader()))[1]
    other = next(iter(DigitsDataModule(image_size=8, batch_size=100, seed=4).train_dataloader()))[1]
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert not dm.val_dataloader().drop_last
    assert len(dm.predict_dataloader().dataset) == len(dm.val_set)  # type: ignore[arg-type]


def test_limit_and_batch_larger_than_train_split() -> None:
    dm = DigitsDataModule(image_size=8, batch_size=16, limit=40)
    dm.setup("fit")
    assert len(dm.train_set) == 40 and len(dm.val_set) == 180  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fewer than batch_size"):
        DigitsDataModule(image_size=8, batch_size=64, limit=10).train_dataloader()


def test_common_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        DigitsDataModule(batch_size=0)
    with pytest.raises(ValueError, match="limit"):
        DigitsDataModule(limit=0)


@pytest.mark.parametrize(
    ("cls", "args"),
    [
        (ToyDataModule, {"dataset": "grid"}),
        (DigitsDataModule, {"image_size": 16}),
        (MNISTDataModule, {"root": "data", "image_size": 32, "resize_mode": "resize"}),
        (CIFAR10DataModule, {"root": "data", "classes": ["horse", "deer"]}),
        (CelebADataModule, {"root": "data", "attribute": "Smiling"}),
        (ImageFolderDataModule, {"root": "data", "channels": 1, "on_error": "skip"}),
        (UnpairedImageDataModule, {"root": "data", "channels": 3}),
    ],
)
def test_signatures_parse_like_lightning_cli(cls: type, args: dict) -> None:
    """LightningCLI builds datamodules from YAML through jsonargparse: every argument must be typed."""
    jsonargparse = pytest.importorskip("jsonargparse")
    parser = jsonargparse.ArgumentParser(exit_on_error=False)
    parser.add_class_arguments(cls, "data")
    config = parser.parse_object({"data": args})
    dm = cls(**config.data.as_dict())
    assert dm.hparams["batch_size"] == dm.batch_size
    assert all(dm.hparams[k] == v for k, v in args.items())
    with pytest.raises(jsonargparse.ArgumentError):
        parser.parse_object({"data": {**args, "no_such_option": 1}})
