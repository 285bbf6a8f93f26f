"""StackedMNISTDataModule: three real MNIST digits per image, labelled with their mode."""

from __future__ import annotations

import pytest
import torch

from lightning_gen.data import StackedMNISTDataModule, read_mnist
from lightning_gen.metrics import stacked_mnist_modes


@pytest.mark.shared_data
def test_stacks_are_real_digits_with_their_mode_label(mnist_root):
    dm = StackedMNISTDataModule(str(mnist_root), num_samples=3000, val_samples=10, image_size=28, batch_size=50, seed=3)
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (50, 3, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert dm.channels == 3 and dm.num_classes == 1000
    digits, labels = read_mnist(mnist_root, "train")
    pool = digits.float() / 127.5 - 1  # every channel must be one of the real digits, label its class
    for image, mode in zip(x[:5], y[:5], strict=True):
        for channel, digit in zip(image, (mode // 100, mode // 10 % 10, mode % 10), strict=True):
            match = (pool - channel).abs().flatten(1).max(1).values < 1e-6
            assert match.any() and int(labels[match][0]) == int(digit)
    counted = stacked_mnist_modes(torch.stack([y // 100, y // 10 % 10, y % 10], dim=1))
    assert counted.modes == len(y.unique())
    padded = StackedMNISTDataModule(str(mnist_root), num_samples=100, val_samples=10, batch_size=10)
    assert next(iter(padded.train_dataloader()))[0].shape == (10, 3, 32, 32)


def test_options_are_checked():
    with pytest.raises(ValueError, match="image_size"):
        StackedMNISTDataModule("x", image_size=64)
    with pytest.raises(ValueError, match="split"):
        StackedMNISTDataModule("x", split="validation")
