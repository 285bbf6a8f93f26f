"""Tensor-level image preprocessing shared by the datamodules: uint8 -> [-1, 1], resize, crop, pad.

All functions take and return float images in [-1, 1] shaped (..., C, H, W) (a single image or a batch).
Resizing is bilinear with antialiasing (a convex filter, so values stay in [-1, 1]; we clamp anyway).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["center_crop", "center_crop_resize", "pad_to", "resize", "uint8_to_float"]


def uint8_to_float(images: torch.Tensor) -> torch.Tensor:
    """Map uint8 images in [0, 255] to float in [-1, 1] (float input is returned unchanged)."""
    if images.dtype == torch.uint8:
        return images.float() / 127.5 - 1.0
    return images


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize to ``size x size`` (bilinear, antialiased); a no-op when already that size."""
    if images.shape[-2:] == (size, size):
        return images
    batched = images.unsqueeze(0) if images.dim() == 3 else images
    out = F.interpolate(batched, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    out = out.clamp(-1.0, 1.0)
    return out[0] if images.dim() == 3 else out


def center_crop(images: torch.Tensor, crop_size: int) -> torch.Tensor:
    """The central ``crop_size x crop_size`` square.

    Raises:
        ValueError: ``crop_size`` is larger than the image's shorter side.
    """
    height, width = images.shape[-2:]
    if crop_size > min(height, width):
        raise ValueError(f"crop_size={crop_size} is larger than the image ({height}x{width}).")
    top = (height - crop_size) // 2
    left = (width - crop_size) // 2
    return images[..., top : top + crop_size, left : left + crop_size]


def center_crop_resize(images: torch.Tensor, size: int, crop_size: int | None = None) -> torch.Tensor:
    """Center-crop a square, then resize it to ``size x size``.

    ``crop_size=None`` crops the largest central square, which equals torchvision's
    ``Resize(size)`` + ``CenterCrop(size)`` (the PyTorch DCGAN example's preprocessing).
    """
    square = min(images.shape[-2:]) if crop_size is None else crop_size
    return resize(center_crop(images, square), size)


def pad_to(images: torch.Tensor, size: int, value: float = -1.0) -> torch.Tensor:
    """Pad evenly to ``size x size`` with ``value`` (-1 is black), e.g. MNIST 28 -> 32 as in LeNet-5.

    Raises:
        ValueError: the image is larger than ``size``.
    """
    height, width = images.shape[-2:]
    if height > size or width > size:
        raise ValueError(f"Cannot pad a {height}x{width} image to {size}x{size}; resize instead.")
    top, left = (size - height) // 2, (size - width) // 2
    return F.pad(images, (left, size - width - left, top, size - height - top), value=value)
