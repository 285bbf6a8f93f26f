"""ImageGrid writes fixed-noise grids through TensorBoard, CSV (PNG files) or no logger at all."""

import copy
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from PIL import Image

from lightning_gen.callbacks import ImageGrid
from lightning_gen.models import GAN
from tests.helpers import image_loader, tiny_dcgan, trainer


class SnapshotGenerator(pl.Callback):
    """Keeps a copy of the generator at each validation epoch end (when ImageGrid draws its grid)."""

    def __init__(self) -> None:
        self.generators: list[torch.nn.Module] = []

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        self.generators.append(copy.deepcopy(pl_module.generator).eval())


def _fit(tmp_path, logger, every=1, snapshots=None):
    generator, discriminator = tiny_dcgan()
    # DCGAN's N(0, 0.02) init makes this tiny G (in eval mode) draw ~0 for every z, so any noise would give
    # the same grid: wider weights make the samples depend on z (pixel sd across z ~0.3)
    for module in generator.modules():
        if isinstance(module, torch.nn.ConvTranspose2d):
            torch.nn.init.normal_(module.weight, std=0.3)
    model = GAN(generator, discriminator, num_val_samples=9)
    callbacks = [ImageGrid(every_n_epochs=every)] + ([snapshots] if snapshots else [])
    t = trainer(tmp_path, max_epochs=2, logger=logger, callbacks=callbacks, limit_val_batches=1)
    t.fit(model, image_loader(), image_loader())
    return t


def _expected_grid(generator: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """G(z) for 9 samples laid out by hand: 3 x 3 tiles of 16 px, 2 px white borders -> (3, 56, 56) uint8."""
    with torch.no_grad():
        tiles = ((generator(z) + 1) / 2).clamp(0, 1)  # (9, 1, 16, 16) in [0, 1]
    grid = torch.ones(3, 56, 56)
    for i, tile in enumerate(tiles):
        row, col = divmod(i, 3)
        grid[:, 2 + 18 * row : 18 + 18 * row, 2 + 18 * col : 18 + 18 * col] = tile  # gray -> all 3 channels
    return (grid * 255).round().to(torch.uint8)


def _png(path: Path) -> torch.Tensor:
    return torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)


def test_csv_logger_gets_grids_of_the_fixed_noise_samples(tmp_path):
    snapshots = SnapshotGenerator()
    t = _fit(tmp_path, CSVLogger(tmp_path / "logs"), snapshots=snapshots)
    pngs = sorted(Path(t.logger.log_dir, "images").glob("samples_step*.png"))
    assert len(pngs) == 2  # one per validation epoch
    fixed = t.lightning_module.fixed_noise
    other = torch.randn(fixed.shape, generator=torch.Generator().manual_seed(5))
    for png, generator in zip(pngs, snapshots.generators, strict=True):
        grid = _png(png)
        assert grid.shape == (3, 56, 56)
        difference = (grid.int() - _expected_grid(generator, fixed).int()).abs()
        assert difference.max() <= 1  # the generator of that epoch on the fixed noise (8-bit rounding)
        assert (grid.int() - _expected_grid(generator, other).int()).abs().max() > 20  # not any noise
    assert not torch.equal(_png(pngs[0]), _png(pngs[1]))  # the network moved between the two grids


def test_tensorboard_gets_images(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    t = _fit(tmp_path, TensorBoardLogger(tmp_path / "tb"), every=2)
    events = EventAccumulator(t.logger.log_dir)
    events.Reload()
    assert events.Tags()["images"] == ["samples"]
    (image,) = events.Images("samples")  # every_n_epochs=2 over 2 epochs
    assert (image.width, image.height) == (56, 56)  # 3 x 3 tiles of 16 px with 2 px borders


def test_no_logger_writes_under_root_dir(tmp_path):
    snapshots = SnapshotGenerator()
    t = _fit(tmp_path, False, snapshots=snapshots)
    pngs = sorted((tmp_path / "images").glob("*.png"))
    assert len(pngs) == 2
    last = _expected_grid(snapshots.generators[-1], t.lightning_module.fixed_noise)
    assert (_png(pngs[-1]).int() - last.int()).abs().max() <= 1


def test_every_n_epochs_validated():
    with pytest.raises(ValueError, match="every_n_epochs"):
        ImageGrid(every_n_epochs=0)
