"""scikit-learn digits (bundled, real data)."""

from __future__ import annotations

import torch

from lightning_gen.data import DigitsDataModule, read_digits


def test_read_digits_scaling_and_size() -> None:
    images, labels = read_digits(image_size=8)
    assert images.shape == (1797, 1, 8, 8) and labels.shape == (1797,)
    assert images.min() == -1.0 and images.max() == 1.0  # 0 and 16 both occur
    assert torch.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    big, _ = read_digits(image_size=32)
    assert big.shape == (1797, 1, 32, 32) and big.min() >= -1 and big.max() <= 1


def test_datamodule_batches_and_split() -> None:
    dm = DigitsDataModule(image_size=32, batch_size=32)
    assert (dm.channels, dm.image_size, dm.num_classes) == (1, 32, 10)
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (32, 1, 32, 32) and images.dtype == torch.float32
    assert images.min() >= -1 and images.max() <= 1 and labels.dtype == torch.long
    assert len(dm.train_set) == 1617 and len(dm.val_set) == 180  # type: ignore[arg-type]
    assert dm.test_dataloader().dataset is dm.val_set

    def val_indices(seed: int) -> list[int]:
        other = DigitsDataModule(seed=seed)
        other.setup("fit")
        return list(other.val_set.indices)  # type: ignore[union-attr]

    assert val_indices(0) == list(dm.val_set.indices)  # type: ignore[union-attr]
    assert val_indices(1) != val_indices(0)
