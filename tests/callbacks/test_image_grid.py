"""ImageGrid writes fixed-noise grids through TensorBoard, CSV (PNG files) or no logger at all."""

from pathlib import Path

import pytest
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from lightning_gen.callbacks import ImageGrid
from lightning_gen.models import GAN
from tests.helpers import image_loader, tiny_dcgan, trainer


def _fit(tmp_path, logger, every=1):
    model = GAN(*tiny_dcgan(), num_val_samples=9)
    t = trainer(tmp_path, max_epochs=2, logger=logger, callbacks=[ImageGrid(every_n_epochs=every)],
                limit_val_batches=1)
    t.fit(model, image_loader(), image_loader())
    return t


def test_csv_logger_gets_png_files(tmp_path):
    t = _fit(tmp_path, CSVLogger(tmp_path / "logs"))
    pngs = sorted(Path(t.logger.log_dir, "images").glob("samples_step*.png"))
    assert len(pngs) == 2  # one per validation epoch


def test_tensorboard_gets_images(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    t = _fit(tmp_path, TensorBoardLogger(tmp_path / "tb"), every=2)
    events = EventAccumulator(t.logger.log_dir)
    events.Reload()
    assert events.Tags()["images"] == ["samples"]
    assert len(events.Images("samples")) == 1  # every_n_epochs=2 over 2 epochs


def test_no_logger_writes_under_root_dir(tmp_path):
    _fit(tmp_path, False)
    assert len(list((tmp_path / "images").glob("*.png"))) == 2


def test_every_n_epochs_validated():
    with pytest.raises(ValueError, match="every_n_epochs"):
        ImageGrid(every_n_epochs=0)
