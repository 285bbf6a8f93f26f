"""Callbacks: image grids through any logger, a checkpoint on SIGTERM (EMA lives in the models, see docs/architecture.md)."""

from lightning_gen.callbacks.image_grid import ImageGrid
from lightning_gen.callbacks.metrics import SampleQuality
from lightning_gen.callbacks.mode_coverage import ModeCoverage
from lightning_gen.callbacks.preemption import PreemptionCheckpoint

__all__ = ["ImageGrid", "ModeCoverage", "PreemptionCheckpoint", "SampleQuality"]
