"""2-D Gaussian mixtures for mode-collapse experiments: the 8-mode ring and the 25-mode grid.

Protocols of VEEGAN (Srivastava et al., 2017) and PacGAN (Lin et al., 2018): ``ring`` is 8 Gaussians
evenly spaced on a circle of radius 1 with std 0.01; ``grid`` is 25 Gaussians at {-4, -2, 0, 2, 4}^2
with std 0.05. A mode counts as captured when generated points fall within a few ``std`` of it, so the
datamodule exposes ``modes`` and ``std`` for the metrics.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch.utils.data import Dataset, TensorDataset

from lightning_gen.data.base import BaseDataModule
from lightning_gen.utils.validation import check_choice, check_positive

__all__ = ["ToyDataModule", "ToyName", "grid_modes", "ring_modes", "sample_mixture", "toy_mixture"]

ToyName = Literal["ring", "grid"]


def ring_modes(num_modes: int = 8, radius: float = 1.0) -> torch.Tensor:
    """(num_modes, 2) centers evenly spaced on a circle, mode k at angle 2*pi*k/num_modes."""
    angles = torch.arange(num_modes, dtype=torch.float64) * (2 * math.pi / num_modes)
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def grid_modes(values: tuple[float, ...] = (-4.0, -2.0, 0.0, 2.0, 4.0)) -> torch.Tensor:
    """(len(values)**2, 2) centers of the grid values x values, x-major (mode k = (values[k // 5], ...))."""
    axis = torch.tensor(values, dtype=torch.float32)
    xs, ys = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)


def toy_mixture(dataset: ToyName) -> tuple[torch.Tensor, float]:
    """``(modes (K, 2), std)`` of a named mixture: ring (8 modes, std 0.01) or grid (25, std 0.05)."""
    check_choice("dataset", dataset, ToyName)
    if dataset == "ring":
        return ring_modes(), 0.01
    return grid_modes(), 0.05


def sample_mixture(
    modes: torch.Tensor, std: float, num_samples: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``num_samples`` points from the equal-weight isotropic mixture.

    Returns:
        points (num_samples, 2) float and the mode index of each point (num_samples,) long.
    """
    index = torch.randint(modes.shape[0], (num_samples,), generator=generator)
    noise = torch.randn(num_samples, modes.shape[1], generator=generator)
    return modes[index] + std * noise, index


class ToyDataModule(BaseDataModule):
    """2-D Gaussian-mixture data (VEEGAN, Srivastava et al., 2017; PacGAN, Lin et al., 2018).

    A fixed training set of ``num_samples`` points and a val set of ``val_samples`` points are drawn once
    from a generator seeded with ``seed``. Batches are ``(points (B, 2) float, mode_index (B,) long)``.
    The test loader is the val loader.

    Args:
        dataset: ``"ring"`` (8 modes, radius 1, std 0.01) or ``"grid"`` (25 modes, std 0.05).
        num_samples: size of the training set.
        val_samples: size of the val set.
        batch_size, num_workers, seed, limit: see :class:`~lightning_gen.data.base.BaseDataModule`.
    """

    def __init__(
        self,
        dataset: ToyName = "ring",
        num_samples: int = 100_000,
        val_samples: int = 10_000,
        batch_size: int = 100,
        num_workers: int = 0,
        seed: int = 0,
        limit: int | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed, limit=limit)
        self.dataset = dataset
        self.modes, self.std = toy_mixture(dataset)
        self.num_samples = check_positive("num_samples", num_samples)
        self.val_samples = check_positive("val_samples", val_samples)

    def state_dict(self) -> dict[str, Any]:
        """Saved in every checkpoint (Lightning stores a datamodule's state under its class name), so that a
        checkpoint alone knows its data's modes: ``lightning-gen sample`` marks them on the scatter plot."""
        return {"modes": self.modes.float(), "std": float(self.std)}

    @property
    def dim(self) -> int:
        """Dimension of a point (2)."""
        return self.modes.shape[1]

    @property
    def num_classes(self) -> int:
        """Number of mixture modes (the labels are mode indices)."""
        return self.modes.shape[0]

    def build_fit_datasets(self) -> tuple[Dataset, Dataset]:
        generator = torch.Generator().manual_seed(self.seed)
        train = sample_mixture(self.modes, self.std, self.num_samples, generator)
        val = sample_mixture(self.modes, self.std, self.val_samples, generator)
        return TensorDataset(*train), TensorDataset(*val)
