"""Inputs and outputs of the image-to-image commands (inpaint, superres, colorize)."""

from __future__ import annotations

from pathlib import Path

import torch

from lightning_gen.data.image_folder import IMAGE_EXTENSIONS
from lightning_gen.data.transforms import center_crop_resize
from lightning_gen.utils.images import load_image, save_grid

__all__ = ["comparison_grid", "input_files", "load_inputs", "save_outputs"]


def input_files(spec: str) -> list[Path]:
    """An image file, or the images of a folder (recursively, sorted).

    Raises:
        FileNotFoundError: no such file or folder, or a folder without images.
    """
    path = Path(spec)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"--input {spec}: no such file or folder.")
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise FileNotFoundError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) found in {path}.")
    return files


def load_inputs(spec: str, *, channels: int, size: int, num: int | None = None) -> tuple[torch.Tensor, list[Path]]:
    """Images of ``spec`` as a (N, channels, size, size) batch in [-1, 1] (center-cropped square, resized)."""
    files = input_files(spec)[:num]
    mode = "L" if channels == 1 else "RGB"
    images = torch.stack([center_crop_resize(load_image(f, mode), size) for f in files])
    return images, files


def save_outputs(images: torch.Tensor, files: list[Path], out: str | Path) -> list[Path]:
    """One PNG per result in folder ``out``, named after its input file."""
    out = Path(out)
    return [save_grid(img[None], out / f"{i:04d}_{f.stem}.png", nrow=1, padding=0) for i, (img, f) in enumerate(zip(images, files, strict=True))]


def comparison_grid(rows: list[torch.Tensor], path: str | Path, per_row: int = 8) -> Path:
    """A grid where, for each block of ``per_row`` inputs, each tensor of ``rows`` gives one row
    (e.g. input, result, original); tensors must share (N, C, H, W)."""
    n = rows[0].shape[0]
    per_row = min(per_row, n)
    blocks = []
    for start in range(0, n, per_row):
        for r in rows:
            block = r[start : start + per_row].float().cpu()
            pad = torch.ones(per_row - block.shape[0], *block.shape[1:])  # white cells complete the last row
            blocks.append(torch.cat([block, pad]))
    return save_grid(torch.cat(blocks), path, nrow=per_row)
