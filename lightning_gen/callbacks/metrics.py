"""In-training IS / FID / KID / precision-recall, synchronised across DDP processes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities import rank_zero_warn

from lightning_gen.metrics.image_metrics import ImageMetrics, parse_metric_names
from lightning_gen.utils.validation import check_choice, check_positive

__all__ = ["SampleQuality"]

RealSplit = Literal["val", "train", "test"]


class SampleQuality(pl.Callback):
    """Every ``every_n_epochs`` training epochs, compute the chosen metrics of ``num_samples`` generated
    images against ``num_samples`` real images of the datamodule and log them as ``metrics/<name>``.

    Under DDP every process draws the same ``num_samples`` (``pl_module.sample(num, seed=seed)``) and the
    same real images, then keeps only its shard (item i goes to process i mod world size); the torchmetrics
    states are reduced across processes at ``compute()``, so the value equals a one-process evaluation of
    the same samples. Before sampling, rank 0's buffers (BatchNorm running statistics, which each process
    updates on its own data) are broadcast, as DDP does before each forward. Real features are computed
    once and kept.

    Args:
        metrics: any of ``"fid"``, ``"kid"``, ``"is"``, ``"pr"``.
        feature_net: ``"mnist"``, ``"cifar10"`` or ``"inception:PATH"`` (see :mod:`lightning_gen.metrics`).
        num_samples: generated (and real) images per evaluation.
        every_n_epochs: evaluation period.
        real_split: which datamodule loader provides the real images.
        seed: noise seed of the generated samples (the same every evaluation).
        batch_size: images per feature-network call.
    """

    def __init__(
        self,
        metrics: Sequence[str] = ("fid",),
        feature_net: str = "mnist",
        num_samples: int = 5000,
        every_n_epochs: int = 1,
        real_split: RealSplit = "val",
        seed: int = 0,
        batch_size: int = 250,
    ) -> None:
        super().__init__()
        self.metric_names = parse_metric_names(metrics)
        self.feature_net = feature_net
        self.num_samples = int(check_positive("num_samples", num_samples))
        self.every_n_epochs = int(check_positive("every_n_epochs", every_n_epochs))
        self.real_split = check_choice("real_split", real_split, RealSplit)
        self.seed = seed
        self.batch_size = int(check_positive("batch_size", batch_size))
        self.metrics: ImageMetrics | None = None
        self._real_done = False
        self.last: dict[str, float] = {}
        self.history: list[tuple[int, dict[str, float]]] = []

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self.metrics is None:
            self.metrics = ImageMetrics(self.metric_names, self.feature_net, keep_real=True, seed=self.seed)
        self.metrics.to(pl_module.device)

    def _shard(self, trainer: pl.Trainer, images: torch.Tensor) -> torch.Tensor:
        return images[trainer.global_rank :: trainer.world_size]

    def _update(self, images: torch.Tensor, real: bool, device: torch.device) -> None:
        assert self.metrics is not None
        for start in range(0, images.shape[0], self.batch_size):
            batch = images[start : start + self.batch_size].to(device)
            self.metrics.update_real(batch) if real else self.metrics.update_fake(batch)

    def _real_images(self, trainer: pl.Trainer) -> torch.Tensor:
        dm = trainer.datamodule
        if dm is None:
            raise ValueError("SampleQuality needs a datamodule to draw real images from; pass one to Trainer.fit.")
        loader = getattr(dm, f"{self.real_split}_dataloader")()
        images, count = [], 0
        for batch in loader:
            x = batch[0] if isinstance(batch, list | tuple) else batch
            images.append(x)
            count += x.shape[0]
            if count >= self.num_samples:
                break
        real = torch.cat(images)[: self.num_samples]
        if real.shape[0] < self.num_samples:
            rank_zero_warn(f"SampleQuality: the {self.real_split} split has only {real.shape[0]} images (< num_samples={self.num_samples}).")
        return real

    @torch.no_grad()
    def evaluate(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, float]:
        """Compute the metrics now (every process must call it); returns and logs them."""
        assert self.metrics is not None
        device = pl_module.device
        self._broadcast_buffers(trainer, pl_module)
        if self.metrics.needs_real and not self._real_done:
            self._update(self._shard(trainer, self._real_images(trainer)), real=True, device=device)
            self._real_done = True
        fake = pl_module.sample(self.num_samples, seed=self.seed)
        self._update(self._shard(trainer, fake), real=False, device=device)
        values = self.metrics.compute()  # torchmetrics gathers / reduces across processes here
        self.metrics.reset()
        self.last = values
        self.history.append((trainer.current_epoch, values))
        for key, value in values.items():
            pl_module.log(f"metrics/{key}", value, sync_dist=False)  # already identical on every process
        return values

    @staticmethod
    def _broadcast_buffers(trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # BatchNorm running statistics are updated per process (DDP only broadcasts rank 0's at the start of
        # each forward): copy rank 0's now, as DDP would, so every process samples with the same network.
        if trainer.world_size > 1 and torch.distributed.is_available() and torch.distributed.is_initialized():
            for buffer in pl_module.buffers():
                torch.distributed.broadcast(buffer.data, src=0)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self.evaluate(trainer, pl_module)
