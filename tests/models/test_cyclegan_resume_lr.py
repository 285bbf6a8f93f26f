"""Defect 5: CycleGAN's linear LR decay never goes below 0, and a resume with a larger trainer.max_epochs
decays over the new horizon (LambdaLR used to restore the old start/total from the checkpoint)."""

from __future__ import annotations

import pytest
import torch

from lightning_gen.models import CycleGAN
from lightning_gen.models.cyclegan import LinearDecay
from tests.helpers import trainer
from tests.models.cycle_helpers import pair_loader, tiny_cyclegan

NETWORKS = ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b")
LR = 1e-3


class LRProbe(CycleGAN):
    """Records both optimizers' learning rates at the start and at the end of every epoch."""

    def on_train_epoch_start(self) -> None:
        self.lrs.append((self.current_epoch, [o.param_groups[0]["lr"] for o in self.trainer.optimizers]))

    def on_train_end(self) -> None:
        self.lrs.append((self.current_epoch, [o.param_groups[0]["lr"] for o in self.trainer.optimizers]))


def _probe() -> LRProbe:
    model = LRProbe(*[getattr(tiny_cyclegan(), n) for n in NETWORKS], lr=LR)
    model.lrs = []
    return model


def test_the_factor_is_clamped_at_zero_past_the_horizon():
    decay = LinearDecay(start=1, total=2)  # the horizon of a 2-epoch run, stepped on into a 5-epoch one
    assert [decay(e) for e in range(6)] == pytest.approx([1.0, 0.5, 0.0, 0.0, 0.0, 0.0])


def test_resume_to_more_epochs_follows_the_new_horizon(tmp_path):
    first = _probe()
    t = trainer(tmp_path, max_epochs=2, limit_train_batches=1)
    t.fit(first, pair_loader())
    t.save_checkpoint(tmp_path / "last.ckpt")
    saved = torch.load(tmp_path / "last.ckpt", weights_only=True)["lr_schedulers"]
    assert all(state["lr_lambdas"] == [None] for state in saved)  # no horizon frozen into the checkpoint

    resumed = _probe()
    t = trainer(tmp_path / "resumed", max_epochs=5, limit_train_batches=1)
    t.fit(resumed, pair_loader(), ckpt_path=tmp_path / "last.ckpt")
    new = LinearDecay(start=round(0.5 * 5), total=5)  # lr_decay_start 0.5 of the new max_epochs
    # epochs 2, 3, 4 start at the new horizon's factors; the end of the run is the factor of epoch 5 (0)
    expected = [(e, [LR * new(e)] * 2) for e in (2, 3, 4)] + [(5, [0.0, 0.0])]
    assert [e for e, _ in resumed.lrs] == [e for e, _ in expected]
    for (_, got), (_, want) in zip(resumed.lrs, expected, strict=True):
        assert got == pytest.approx(want, abs=1e-12)
    assert min(lr for _, lrs in resumed.lrs for lr in lrs) >= 0.0
    assert [c.scheduler.last_epoch for c in t.lr_scheduler_configs] == [5, 5]
