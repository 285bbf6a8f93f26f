"""Resume equality for every family (issue 12): a run interrupted at an epoch boundary and resumed with
``ckpt_path`` ends exactly where an uninterrupted one does: weights, buffers and EMA, every optimiser's state,
every LR scheduler's state and the loop counters, on CPU.

The interruption is real: the first run is planned for 2 epochs (so epoch-based schedules such as CycleGAN's
decay see the same horizon) and a callback stops it after the first; its ``last.ckpt`` is the resume point.
"""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from tests.helpers import trainer
from tests.models.family_builders import FAMILIES, build_family

EPOCHS = 2


class StopAfterFirstEpoch(pl.Callback):
    """The interruption: stop at the end of epoch 0 (after the epoch-end checkpoint is written)."""

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        trainer.should_stop = True


def _fit(root: Path, *, stop_early: bool = False, ckpt_path: str | None = None) -> pl.Trainer:
    pl.seed_everything(0)
    model, loader = build_family(root.name.split("-")[0])
    callbacks: list[pl.Callback] = [ModelCheckpoint(dirpath=root / "ckpt", save_last=True)]
    if stop_early:
        callbacks.append(StopAfterFirstEpoch())
    t = trainer(root, max_epochs=EPOCHS, limit_val_batches=0, enable_checkpointing=True, callbacks=callbacks)
    t.fit(model, loader, ckpt_path=ckpt_path)
    return t


def _assert_same(a: object, b: object, where: str) -> None:
    """Exact equality of nested state (dicts, lists, tensors, numbers)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{where}[{i}]")
    elif not callable(a):
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.mark.parametrize("family", list(FAMILIES))
def test_interrupted_and_resumed_run_equals_an_uninterrupted_one(family, tmp_path):
    straight = _fit(tmp_path / f"{family}-straight")
    first = _fit(tmp_path / f"{family}-first", stop_early=True)
    assert first.current_epoch == 1 and first.global_step < straight.global_step  # it really was interrupted
    last = first.checkpoint_callback.last_model_path
    resumed = _fit(tmp_path / f"{family}-resumed", ckpt_path=last)

    assert resumed.global_step == straight.global_step > 0
    assert resumed.current_epoch == straight.current_epoch == EPOCHS
    loop_a, loop_b = straight.fit_loop.epoch_loop, resumed.fit_loop.epoch_loop
    assert loop_a.total_batch_idx == loop_b.total_batch_idx
    _assert_same(straight.lightning_module.state_dict(), resumed.lightning_module.state_dict(), "state_dict")
    assert len(straight.optimizers) == len(resumed.optimizers) >= 1
    for i, (o1, o2) in enumerate(zip(straight.optimizers, resumed.optimizers, strict=True)):
        _assert_same(o1.state_dict(), o2.state_dict(), f"optimizer{i}")
    for i, (s1, s2) in enumerate(zip(straight.lr_scheduler_configs, resumed.lr_scheduler_configs, strict=True)):
        _assert_same(s1.scheduler.state_dict(), s2.scheduler.state_dict(), f"scheduler{i}")
