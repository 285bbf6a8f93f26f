"""Image-grid logging that works with any logger."""

from __future__ import annotations

import math
from pathlib import Path

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only

from lightning_gen.utils.images import make_image_grid, save_grid

__all__ = ["ImageGrid"]


class ImageGrid(pl.Callback):
    """Every ``every_n_epochs`` validation epochs, render ``pl_module.validation_samples()`` (the fixed
    validation noise, EMA generator when present) as a grid and hand it to every configured logger.

    TensorBoard gets ``add_image``; loggers with ``log_image`` (W&B, Neptune, MLflow...) get that; loggers
    without an image API (CSV) and no logger at all get PNG files under ``<log_dir>/images`` (or
    ``<default_root_dir>/images``). Vector data (toy 2-D points) is skipped.
    """

    def __init__(self, every_n_epochs: int = 1, nrow: int | None = None, tag: str = "samples") -> None:
        super().__init__()
        if every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be >= 1, got {every_n_epochs}.")
        self.every_n_epochs = every_n_epochs
        self.nrow = nrow
        self.tag = tag

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or (trainer.current_epoch + 1) % self.every_n_epochs:
            return
        if not hasattr(pl_module, "validation_samples"):
            return
        images = pl_module.validation_samples()
        if images.dim() != 4:
            return
        self._write(trainer, pl_module, images)

    @rank_zero_only
    def _write(self, trainer: pl.Trainer, pl_module: pl.LightningModule, images: torch.Tensor) -> None:
        nrow = self.nrow or self._default_nrow(pl_module, images.shape[0])
        step = trainer.global_step
        grid = make_image_grid(images, nrow=nrow)
        wrote_file = False
        loggers: list[Logger] = list(trainer.loggers)
        for logger in loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image(self.tag, grid, global_step=step)
            elif hasattr(logger, "log_image") and not isinstance(logger, CSVLogger):
                logger.log_image(key=self.tag, images=[grid], step=step)
            else:
                save_grid(images, self._folder(trainer, logger) / f"{self.tag}_step{step:08d}.png", nrow=nrow)
                wrote_file = True
        if not loggers and not wrote_file:
            save_grid(images, self._folder(trainer, None) / f"{self.tag}_step{step:08d}.png", nrow=nrow)

    @staticmethod
    def _default_nrow(pl_module: pl.LightningModule, n: int) -> int:
        per_class = getattr(getattr(pl_module, "hparams", {}), "get", lambda *_: None)("samples_per_class")
        return int(per_class) if per_class else max(1, int(math.sqrt(n)))

    @staticmethod
    def _folder(trainer: pl.Trainer, logger: Logger | None) -> Path:
        base = logger.log_dir if logger is not None and getattr(logger, "log_dir", None) else trainer.default_root_dir
        return Path(base) / "images"
