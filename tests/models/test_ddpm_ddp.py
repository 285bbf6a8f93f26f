"""2-process DDP (CPU, gloo): a real Trainer.fit of a class-conditional DDPM on real MNIST digits."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from tests.helpers import state_vector
from tests.models.diffusion_helpers import tiny_ddpm

REPO = Path(__file__).resolve().parents[2]

DDP_SCRIPT = """
import json, sys, torch, lightning.pytorch as pl
sys.path.insert(0, {repo!r})
from tests.models.diffusion_helpers import mnist_dm, tiny_ddpm
pl.seed_everything(0)
model = tiny_ddpm(num_classes=10, label_dropout=0.2)
trainer = pl.Trainer(accelerator="cpu", devices=2, strategy="ddp", max_steps=3, limit_val_batches=0, logger=False,
                     enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
seen = []
model.denoiser.register_forward_pre_hook(lambda m, args: seen.append(args[1][:4].tolist()))
trainer.fit(model, mnist_dm(sys.argv[2], limit=96))
json.dump({{"rank": trainer.global_rank, "step": trainer.global_step, "timesteps": seen,
           "weights": torch.cat([t.detach().flatten().float() for t in model.state_dict().values()]).tolist()}},
          open(sys.argv[1] + f"/rank{{trainer.global_rank}}.json", "w"))
"""


@pytest.mark.slow
def test_ddp_two_processes_end_with_identical_weights(mnist_root, tmp_path):
    script = tmp_path / "ddp_ddpm.py"
    script.write_text(textwrap.dedent(DDP_SCRIPT.format(repo=str(REPO))))
    torch.manual_seed(0)
    initial = state_vector(tiny_ddpm(num_classes=10, label_dropout=0.2))
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path), str(mnist_root)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["step"] == ranks[1]["step"] == 3
    w0, w1 = (torch.tensor(r["weights"]) for r in ranks)
    assert torch.equal(w0, w1)  # gradients were all-reduced: both replicas took the same steps
    assert w0.shape == initial.shape and not torch.equal(w0, initial)
    assert ranks[0]["timesteps"] != ranks[1]["timesteps"]  # ranks draw their own noise and timesteps
