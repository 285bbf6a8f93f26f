"""A scatter plot of 2-D samples as a PNG, drawn with PIL (matplotlib is a dev dependency only)."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, ImageDraw

__all__ = ["save_scatter"]

POINT = (31, 119, 180)  # blue samples
MODE = (214, 39, 40)  # red crosses on the data's modes
AXIS = (170, 170, 170)


def save_scatter(
    points: torch.Tensor, path: str | Path, modes: torch.Tensor | None = None, size: int = 512, margin: float = 0.08
) -> Path:
    """Draw ``points`` (N, 2) as dots and ``modes`` (K, 2) as crosses on a white ``size`` x ``size`` canvas.

    The view is the bounding box of points and modes, widened by ``margin`` on each side and made square (equal
    scales on both axes, so a ring looks round); the lines x = 0 and y = 0 are drawn where they are in view.

    Raises:
        ValueError: points (or modes) are not (N, 2), or hold NaN/inf.
    """
    points = _check_2d("points", points)
    everything = points if modes is None else torch.cat([points, _check_2d("modes", modes)])
    if everything.shape[0] == 0:
        raise ValueError("save_scatter needs at least one point.")
    low, high = everything.min(0).values, everything.max(0).values
    center, half = (low + high) / 2, float((high - low).max()) / 2 * (1 + 2 * margin) or 1.0

    def pixel(xy: torch.Tensor) -> list[tuple[float, float]]:
        unit = (xy - center) / (2 * half) + 0.5  # [0, 1]^2, y upwards
        return [(float(u) * (size - 1), (1 - float(v)) * (size - 1)) for u, v in unit.tolist()]

    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    (x0, y0), = pixel(torch.zeros(1, 2))
    if 0 <= x0 < size:
        draw.line([(x0, 0), (x0, size)], fill=AXIS)
    if 0 <= y0 < size:
        draw.line([(0, y0), (size, y0)], fill=AXIS)
    radius = 1.5 if points.shape[0] > 2000 else 2.5
    for x, y in pixel(points):
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=POINT)
    if modes is not None:
        arm = max(4, size // 64)
        for x, y in pixel(modes):
            draw.line([(x - arm, y - arm), (x + arm, y + arm)], fill=MODE, width=2)
            draw.line([(x - arm, y + arm), (x + arm, y - arm)], fill=MODE, width=2)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def _check_2d(name: str, values: torch.Tensor) -> torch.Tensor:
    values = values.detach().cpu().double()
    if values.dim() != 2 or values.shape[1] != 2:
        raise ValueError(
            f"A scatter plot needs {name} of shape (N, 2), got {tuple(values.shape)}; write the raw samples "
            "instead (--out samples.pt, .npy or .csv)."
        )
    if not torch.isfinite(values).all():
        raise ValueError(f"{name} hold NaN or inf values; nothing to plot.")
    return values
