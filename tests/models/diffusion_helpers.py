"""Tiny diffusion models and real-MNIST data for the diffusion tests (small enough for 2 CPU cores)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning_gen.data import MNISTDataModule
from lightning_gen.models import DDPM, SuperResolutionDDPM
from lightning_gen.nn import UNetDenoiser


def tiny_unet(size: int = 8, **kwargs: Any) -> UNetDenoiser:
    options: dict[str, Any] = dict(image_size=size, channels=1, widths=[8, 16], attention_resolutions=[size // 2], norm_groups=4)
    options.update(kwargs)
    return UNetDenoiser(**options)


def tiny_ddpm(size: int = 8, num_classes: int = 0, **kwargs: Any) -> DDPM:
    options: dict[str, Any] = dict(ema_decay=0.9, lr=1e-3, val_steps=2, num_val_samples=4)
    options.update(kwargs)
    return DDPM(tiny_unet(size, num_classes=num_classes), **options)


def tiny_sr(size: int = 8, low: int = 4, **kwargs: Any) -> SuperResolutionDDPM:
    options: dict[str, Any] = dict(ema_decay=0.9, lr=1e-3, val_steps=2, max_augmentation_level=300)
    options.update(kwargs)
    return SuperResolutionDDPM(tiny_unet(size, cond_channels=1, cond_level_input=True), low_res_size=low, **options)


def mnist_dm(root: Path, size: int = 8, limit: int = 64, batch_size: int = 16) -> MNISTDataModule:
    """Real MNIST digits (the t10k files, see the ``mnist_root`` fixture) resized to ``size``."""
    return MNISTDataModule(str(root), image_size=size, resize_mode="resize", limit=limit, batch_size=batch_size)
