"""Callbacks: image grids through any logger (EMA lives in the models, see docs/architecture.md)."""

from lightning_gen.callbacks.image_grid import ImageGrid

__all__ = ["ImageGrid", "ModeCoverage", "SampleQuality"]
