"""The NaN/inf guard under 2-process DDP (CPU, gloo; issue 12, defect 6): when only rank 1's loss is NaN, both
ranks raise NonFiniteLossError before the step (the old guard raised on rank 1 only, and rank 0 waited in the
gradient all-reduce until the collective timed out)."""

from __future__ import annotations

import pytest

from tests.helpers import run_ddp_script

BODY = """
import json
import os
import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset
from lightning_gen.models import GAN, NonFiniteLossError
from tests.helpers import tiny_dcgan

torch.set_num_threads(1)
pl.seed_everything(0, verbose=False)
x = torch.rand(32, 1, 16, 16) * 2 - 1
if os.environ.get("LOCAL_RANK") == "1":  # set by Lightning's launcher in the process it starts for rank 1
    x[:] = float("nan")  # only rank 1's data (hence loss) is NaN, from its first batch on
model = GAN(*tiny_dcgan())
before = torch.cat([p.detach().flatten() for p in model.parameters()])
trainer = pl.Trainer(accelerator="cpu", devices=2, strategy="ddp_find_unused_parameters_true", max_epochs=1,
                     limit_val_batches=0, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                     enable_model_summary=False)
try:
    trainer.fit(model, DataLoader(TensorDataset(x), batch_size=4))
    error = None
except NonFiniteLossError as err:
    error = str(err)
after = torch.cat([p.detach().flatten() for p in model.parameters()])
json.dump({"rank": trainer.global_rank, "error": error, "unchanged": bool(torch.equal(before, after)),
           "step": trainer.global_step},
          open(OUT + f"/rank{trainer.global_rank}.json", "w"))
"""


@pytest.mark.slow
def test_a_nan_loss_on_one_rank_stops_every_rank_before_the_step(tmp_path):
    ranks = run_ddp_script(BODY, tmp_path, timeout=180)  # the old guard: rank 0 hangs, the timeout fails the test
    for record in ranks:
        assert record["error"] is not None, f"rank {record['rank']} did not raise"
        assert "discriminator loss" in record["error"] and "rank(s) [1] of 2" in record["error"]
        assert record["unchanged"]  # the NaN gradients (all-reduced to both ranks) were never applied
    assert ranks[0]["step"] == ranks[1]["step"] == 0
    assert "loss is nan at global step 0" in ranks[1]["error"]  # the rank that saw it names the value
