"""2-process DDP (CPU, gloo) with a real Trainer: CLIP's gathered loss and gradients equal those of one
process on the concatenated batch (open_clip's local loss with gradients through ``self.all_gather``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.helpers import run_ddp_script
from tests.models.clip_helpers import BarsDataModule, tiny_clip

BODY = """
import json
import lightning.pytorch as pl
import torch
from tests.models.clip_helpers import BarsDataModule, tiny_clip


class FirstGradients(pl.Callback):
    def on_before_optimizer_step(self, trainer, module, optimizer):
        if trainer.global_step == 0:
            self.record = {
                "grads": {n: p.grad.flatten().tolist() for n, p in module.named_parameters() if p.grad is not None},
                "loss": module.contrastive_loss(*module(self.batch["image"], self.batch["text"]), self.batch,
                                                distributed=False).item(),
            }

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self.batch = batch


probe = FirstGradients()
model = tiny_clip(positives="captions")
trainer = pl.Trainer(accelerator="cpu", devices=2, strategy="ddp", max_steps=1, limit_val_batches=0, logger=False,
                     enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                     callbacks=[probe])
trainer.fit(model, datamodule=BarsDataModule(n=32, batch_size=8))
probe.record["batch"] = {"image": probe.batch["image"].tolist(), "text": probe.batch["text"],
                         "label": probe.batch["label"].tolist()}
json.dump(probe.record, open(OUT + f"/rank{trainer.global_rank}.json", "w"))
"""


@pytest.mark.slow
def test_two_rank_clip_step_equals_one_process_on_the_concatenated_batch(tmp_path: Path) -> None:
    ranks = run_ddp_script(BODY, tmp_path, timeout=300)
    # the reference: one process on the concatenation of the two ranks' batches
    model = tiny_clip(positives="captions")
    model.text_tower.fit_tokenizer(BarsDataModule().training_captions())
    parts = [r["batch"] for r in ranks]
    batch = {
        "image": torch.tensor(parts[0]["image"] + parts[1]["image"]),
        "text": parts[0]["text"] + parts[1]["text"],
        "label": torch.tensor(parts[0]["label"] + parts[1]["label"]),
    }
    assert len(set(batch["text"])) < len(batch["text"])  # repeated captions, across the ranks too
    loss = model.contrastive_loss(*model(batch["image"], batch["text"]), batch)
    loss.backward()
    for name, p in model.named_parameters():
        for record in ranks:  # DDP averaged: both ranks hold the same gradient, the one-process one
            got = torch.tensor(record["grads"][name])
            assert torch.allclose(got, p.grad.flatten(), atol=1e-6, rtol=1e-4), name
    # the local losses differ, and the gathered loss is not their mean of local-only losses
    local = [r["loss"] for r in ranks]
    assert local[0] != local[1] and abs(sum(local) / 2 - loss.item()) > 1e-4
