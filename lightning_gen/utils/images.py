"""The one place where images change representation.

Inside the library images are float tensors in [-1, 1] with shape (B, C, H, W). ``to_uint8`` is the only
conversion to 8-bit; ``save_grid`` writes a grid PNG through torchvision; ``load_image`` reads a file
into the library's representation with an error that names the file when it cannot be read.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torchvision.transforms.functional import pil_to_tensor
from torchvision.utils import make_grid, save_image

__all__ = ["from_unit", "load_image", "make_image_grid", "save_grid", "to_uint8", "to_unit"]


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """Map [-1, 1] images to [0, 1] (clamped)."""
    return ((images.float() + 1.0) / 2.0).clamp(0.0, 1.0)


def from_unit(images: torch.Tensor) -> torch.Tensor:
    """Map [0, 1] images to [-1, 1]."""
    return images * 2.0 - 1.0


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Convert [-1, 1] float images to uint8 in [0, 255] (same shape)."""
    return (to_unit(images) * 255.0).round().to(torch.uint8)


def make_image_grid(images: torch.Tensor, nrow: int = 8, padding: int = 2) -> torch.Tensor:
    """A (3 or C, H', W') grid in [0, 1] of a batch of [-1, 1] images."""
    return make_grid(to_unit(images.detach().cpu()), nrow=nrow, padding=padding, pad_value=1.0)


def save_grid(images: torch.Tensor, path: str | Path, nrow: int = 8, padding: int = 2) -> Path:
    """Save a batch of [-1, 1] images as one grid PNG (parent folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(to_unit(images.detach().cpu()), path, nrow=nrow, padding=padding, pad_value=1.0)
    return path


def load_image(path: str | Path, mode: str = "RGB") -> torch.Tensor:
    """Read an image file as a (C, H, W) float tensor in [-1, 1].

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file exists but is not a readable image (names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Image file not found: {path}")
    try:
        with Image.open(path) as img:
            img.load()
            img = img.convert(mode)
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f"Cannot read image {path}: {err}. Remove or replace the file.") from err
    return from_unit(pil_to_tensor(img).float() / 255.0)
