"""Unpaired domains (CycleGAN layout)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lightning_gen.data import UnpairedImageDataModule, UnpairedImageDataset
from tests.data.writers import write_image


def _domains(root: Path, sizes: dict[str, int]) -> Path:
    for number, (folder, count) in enumerate(sizes.items()):
        for i in range(count):
            write_image(root / folder / f"{i}.png", (20, 16), seed=100 * number + i)
    return root


def test_batches_are_dicts_of_both_domains(tmp_path: Path) -> None:
    root = _domains(tmp_path, {"trainA": 7, "trainB": 3, "testA": 2, "testB": 4})
    dm = UnpairedImageDataModule(str(root), image_size=8, batch_size=2)
    assert (dm.channels, dm.image_size, dm.num_classes) == (3, 8, 0)
    dm.setup()
    assert len(dm.train_set) == 7 and len(dm.val_set) == 4  # type: ignore[arg-type]
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"a", "b"}
    assert batch["a"].shape == batch["b"].shape == (2, 3, 8, 8)
    assert batch["a"].min() >= -1 and batch["b"].max() <= 1
    assert len(list(dm.train_dataloader())) == 3  # drop_last


def test_b_drawn_independently_and_reproducibly(tmp_path: Path) -> None:
    root = _domains(tmp_path, {"A": 4, "B": 50})

    def b_indices(seed: int) -> list[int]:
        dataset = UnpairedImageDataset(root / "A", root / "B", image_size=4, seed=seed)
        return [dataset._b_index(i) for i in range(40)]

    draws = b_indices(0)
    assert draws == b_indices(0) and draws != b_indices(1)
    assert len(set(draws)) > 10  # not tied to the A index
    serial = UnpairedImageDataset(root / "A", root / "B", image_size=4, random_pairing=False)
    assert [serial._b_index(i) for i in (0, 49, 50)] == [0, 49, 0]
    assert len(serial) == 50
    item = serial[5]
    assert torch.equal(item["a"], serial.domain_a[1][0]) and torch.equal(item["b"], serial.domain_b[5][0])


def test_missing_test_folders_fall_back_with_warning(tmp_path: Path) -> None:
    root = _domains(tmp_path, {"trainA": 2, "trainB": 3})
    dm = UnpairedImageDataModule(str(root), image_size=8, channels=1, batch_size=1)
    with pytest.warns(UserWarning) as record:
        dm.setup("fit")
    messages = " ".join(str(w.message) for w in record)
    assert "testA not found" in messages and "testB not found" in messages
    assert len(dm.val_set) == 3 and next(iter(dm.val_dataloader()))["a"].shape == (1, 1, 8, 8)  # type: ignore[arg-type]


def test_missing_train_folders_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        UnpairedImageDataModule(str(tmp_path)).setup("fit")
    assert "trainA" in str(info.value) and "trainB" in str(info.value)


def test_generic_unpaired_dataset_over_tensor_datasets() -> None:
    from torch.utils.data import TensorDataset

    from lightning_gen.data import UnpairedDataset

    a = TensorDataset(torch.zeros(3, 1, 2, 2), torch.zeros(3, dtype=torch.long))
    b = TensorDataset(torch.ones(5, 1, 2, 2), torch.zeros(5, dtype=torch.long))
    dataset = UnpairedDataset(a, b, seed=0)
    assert len(dataset) == 5
    item = dataset[4]
    assert item["a"].sum() == 0 and item["b"].sum() == 4
