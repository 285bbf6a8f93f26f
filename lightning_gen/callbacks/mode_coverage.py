"""Mode coverage of a generator on a 2-D Gaussian mixture, logged during training."""

from __future__ import annotations

from typing import Any, Literal

import lightning.pytorch as pl
import torch

from lightning_gen.data.toy import toy_mixture
from lightning_gen.metrics.mode_counting import ModeCount, count_modes
from lightning_gen.utils.validation import check_choice, check_positive

__all__ = ["ModeCoverage"]

ToyTarget = Literal["ring", "grid"]


class ModeCoverage(pl.Callback):
    """Every ``every_n_batches`` training batches (and at the end of training), draw ``num_samples`` from
    the model and log the PacGAN mode count (Lin et al., 2018; see :func:`~lightning_gen.metrics.count_modes`):
    ``mode_coverage/modes``, ``mode_coverage/high_quality`` (fraction) and ``mode_coverage/reverse_kl``.

    The samples come from ``pl_module.sample(num_samples, seed=seed)`` (eval mode, EMA when present), the
    same noise every time, so the curve shows the generator changing, not the noise. ``history`` keeps
    ``(batches seen, ModeCount)`` pairs, ``last`` the final count.

    Args:
        dataset: ``"ring"`` or ``"grid"`` to name the target mixture; None reads ``modes`` and ``std`` from
            the trainer's datamodule (a :class:`~lightning_gen.data.ToyDataModule`).
        every_n_batches: evaluation period in training batches (one batch = one G/D iteration).
        num_samples: samples per evaluation (PacGAN: 2,500).
        threshold: a sample is high quality within ``threshold`` standard deviations of a mode (PacGAN: 3).
        seed: seed of the evaluation noise.
    """

    def __init__(
        self,
        dataset: ToyTarget | None = None,
        every_n_batches: int = 1000,
        num_samples: int = 2500,
        threshold: float = 3.0,
        seed: int = 1234,
    ) -> None:
        super().__init__()
        if dataset is not None:
            check_choice("dataset", dataset, ToyTarget)
        self.dataset = dataset
        self.every_n_batches = int(check_positive("every_n_batches", every_n_batches))
        self.num_samples = int(check_positive("num_samples", num_samples))
        self.threshold = check_positive("threshold", threshold)
        self.seed = seed
        self.history: list[tuple[int, ModeCount]] = []
        self.last: ModeCount | None = None

    def _target(self, trainer: pl.Trainer) -> tuple[torch.Tensor, float]:
        if self.dataset is not None:
            return toy_mixture(self.dataset)
        dm = trainer.datamodule
        if dm is None or not hasattr(dm, "modes") or not hasattr(dm, "std"):
            raise ValueError(
                "ModeCoverage(dataset=None) reads `modes` and `std` from the datamodule, but "
                f"{type(dm).__name__ if dm is not None else 'no datamodule'} has none; pass dataset='ring' or 'grid'."
            )
        return dm.modes, float(dm.std)

    def measure(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> ModeCount:
        modes, std = self._target(trainer)
        samples = pl_module.sample(self.num_samples, seed=self.seed)
        if samples.dim() != 2 or samples.shape[1] != modes.shape[1]:
            raise ValueError(
                f"ModeCoverage needs (N, {modes.shape[1]}) samples from a toy-data generator; got {tuple(samples.shape)}."
            )
        return count_modes(samples, modes, std, self.threshold)

    def _record(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batches: int) -> None:
        result = self.measure(trainer, pl_module)
        self.history.append((batches, result))
        self.last = result
        # every rank computes the same numbers (same noise, synchronised weights): no sync needed
        for logger in trainer.loggers:
            logger.log_metrics(
                {
                    "mode_coverage/modes": float(result.modes),
                    "mode_coverage/high_quality": result.high_quality,
                    "mode_coverage/reverse_kl": result.reverse_kl,
                },
                step=trainer.global_step,
            )

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        batches = trainer.fit_loop.epoch_loop.total_batch_idx + 1
        if batches % self.every_n_batches == 0:
            self._record(trainer, pl_module, batches)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        batches = trainer.fit_loop.epoch_loop.total_batch_idx + 1
        if not self.history or self.history[-1][0] != batches:
            self._record(trainer, pl_module, batches)
