"""2-D Gaussian mixtures (VEEGAN / PacGAN protocols)."""

from __future__ import annotations

import math

import pytest
import torch

from lightning_gen.data import ToyDataModule, grid_modes, ring_modes


def test_mode_layouts() -> None:
    ring = ring_modes()
    assert ring.shape == (8, 2)
    assert torch.allclose(ring.norm(dim=1), torch.ones(8))
    assert torch.allclose(ring[2], torch.tensor([0.0, 1.0]), atol=1e-6)
    grid = grid_modes()
    assert grid.shape == (25, 2)
    assert set(grid[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert len({tuple(p) for p in grid.tolist()}) == 25


@pytest.mark.parametrize(("name", "modes", "std"), [("ring", 8, 0.01), ("grid", 25, 0.05)])
def test_batches_points_near_their_mode(name: str, modes: int, std: float) -> None:
    dm = ToyDataModule(name, num_samples=5_000, val_samples=500, batch_size=100)
    assert dm.dim == 2 and dm.num_classes == modes and dm.std == std and dm.modes.shape == (modes, 2)
    points, index = next(iter(dm.train_dataloader()))
    assert points.shape == (100, 2) and points.dtype == torch.float32 and index.dtype == torch.long
    distance = (points - dm.modes[index]).norm(dim=1)
    assert distance.max() < 6 * std  # chi(2) tail beyond 6 std: ~1e-8
    per_axis_std = (points - dm.modes[index]).std().item()
    assert math.isclose(per_axis_std, std, rel_tol=0.25)
    assert len(dm.val_set) == 500 and len(dm.test_dataloader().dataset) == 500  # type: ignore[arg-type]


def test_training_set_fixed_by_seed() -> None:
    def train_points(seed: int) -> torch.Tensor:
        dm = ToyDataModule(num_samples=1_000, val_samples=10, seed=seed)
        dm.setup("fit")
        return dm.train_set.tensors[0]  # type: ignore[union-attr]

    assert torch.equal(train_points(0), train_points(0))
    assert not torch.equal(train_points(0), train_points(1))


def test_unknown_dataset_lists_choices() -> None:
    with pytest.raises(ValueError, match="'ring', 'grid'"):
        ToyDataModule("spiral")  # type: ignore[arg-type]
