"""ModeCoverage logs the PacGAN mode count during a real (tiny) training run."""

from __future__ import annotations

import csv

import lightning.pytorch as pl
import pytest
from lightning.pytorch.loggers import CSVLogger

from lightning_gen.callbacks import ModeCoverage
from lightning_gen.data import ToyDataModule
from lightning_gen.models import GAN
from lightning_gen.nn import MaxoutDiscriminator, MLPGenerator


def test_mode_coverage_history_and_logged_values(tmp_path):
    pl.seed_everything(0, verbose=False)
    model = GAN(MLPGenerator(latent_dim=2, output_shape=(2,), hidden_dims=(16,), output_activation="none"),
                MaxoutDiscriminator(hidden_dims=(8,), pieces=2))  # fmt: skip
    coverage = ModeCoverage(every_n_batches=2, num_samples=300)  # target read from the datamodule
    data = ToyDataModule("grid", num_samples=200, val_samples=10, batch_size=20)
    logger = CSVLogger(tmp_path)
    pl.Trainer(accelerator="cpu", max_epochs=1, limit_train_batches=5, limit_val_batches=0, logger=logger,
               enable_checkpointing=False, enable_progress_bar=False, callbacks=[coverage]).fit(model, data)  # fmt: skip
    assert [step for step, _ in coverage.history] == [2, 4, 5]  # every 2 batches, and at the end
    assert coverage.last is not None and coverage.last.num_modes == 25
    assert 0 <= coverage.last.high_quality <= 1 and sum(coverage.last.histogram) <= 300
    with open(logger.log_dir + "/metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("mode_coverage/modes")]
    assert len(rows) == 3 and float(rows[-1]["mode_coverage/modes"]) == coverage.last.modes


def test_mode_coverage_needs_a_target():
    with pytest.raises(ValueError, match="'ring', 'grid'"):
        ModeCoverage(dataset="spiral")
    with pytest.raises(ValueError, match="every_n_batches"):
        ModeCoverage(every_n_batches=0)
