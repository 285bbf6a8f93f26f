"""Tiny CoGAN / CycleGAN builders and data loaders of {"a", "b"} batches for the tests."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset

from lightning_gen.models import CoGAN, CycleGAN
from lightning_gen.nn import CoupledDiscriminator, CoupledGenerator, PatchGANDiscriminator, ResnetGenerator


class PairDataset(Dataset):
    def __init__(self, a: torch.Tensor, b: torch.Tensor) -> None:
        self.a, self.b = a, b

    def __len__(self) -> int:
        return len(self.a)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"a": self.a[i], "b": self.b[i]}


def pair_loader(
    n: int = 16, size: int = 16, channels: int = 1, batch_size: int = 4, seed: int = 0
) -> DataLoader:
    """Images made by the tests: domain A random in [-1, 1], domain B their negatives in another order."""
    gen = torch.Generator().manual_seed(seed)
    a = torch.rand(n, channels, size, size, generator=gen) * 2 - 1
    b = -a[torch.randperm(n, generator=gen)]
    return DataLoader(PairDataset(a, b), batch_size=batch_size, shuffle=False, drop_last=True)


def tiny_cogan(size: int = 16, **kwargs) -> CoGAN:
    return CoGAN(
        CoupledGenerator(latent_dim=8, image_size=size, base_width=4),
        CoupledDiscriminator(image_size=size, base_width=4),
        **kwargs,
    )


def tiny_cyclegan(channels: int = 1, **kwargs) -> CycleGAN:
    def g():
        return ResnetGenerator(channels, channels, base_width=4, num_residual_blocks=1)

    def d():
        return PatchGANDiscriminator(channels, base_width=4, num_layers=2)

    return CycleGAN(g(), g(), d(), d(), **kwargs)
