"""`lightning-gen fit --trainer.strategy ddp_find_unused_parameters_true --trainer.devices 2` ends where one
process on the doubled batch does (issue 14, item 7; the DDP test in test_cli.py only shows the ranks end equal).

The 2-process run is the real command; the reference is the same config built by the same CLI in this process
(``run=False``), fed rank 0's then rank 1's batches as one batch with each half's noise from its rank's
stream (tests/models/ddp_reference.py). The DCGAN nets are built without BatchNorm (``norm: none``): per-rank
batch statistics would make the two runs differ by design.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from lightning_gen.cli import LightningGenCLI
from tests.conftest import REPO_ROOT
from tests.models.ddp_reference import doubled_from, virtual_ranks

COMMON = ["--config", str(REPO_ROOT / "configs" / "dcgan_digits.yaml"),
          "--model.init_args.generator.init_args.norm=none", "--model.init_args.discriminator.init_args.norm=none",
          "--data.init_args.batch_size=8", "--trainer.max_steps=4", "--trainer.limit_val_batches=0",
          "--trainer.num_sanity_val_steps=0", "--trainer.enable_progress_bar=false", "--trainer.logger=false",
          "--trainer.accelerator=cpu"]


@pytest.mark.slow
def test_two_process_fit_equals_one_process_on_the_doubled_batch(tmp_path):
    dump = tmp_path / "weights"
    cmd = [sys.executable, "-m", "lightning_gen", "fit", *COMMON, "--trainer.strategy=ddp_find_unused_parameters_true",
           "--trainer.devices=2", f"--trainer.default_root_dir={tmp_path / 'ddp'}",
           "--trainer.callbacks+=tests.helpers.DumpWeights", f"--trainer.callbacks.dirpath={dump}"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = torch.load(dump / "rank0.pt"), torch.load(dump / "rank1.pt")
    assert torch.equal(r0, r1)

    reference, initial = _one_process(tmp_path / "one", virtual_ranks)
    assert not torch.equal(reference, initial)
    assert _agreement(r0, reference) > 0.95
    # the criterion can fail: one noise stream for the whole doubled batch (what the global RNG gave) does not pass
    plain, _ = _one_process(tmp_path / "plain", lambda cls: cls)
    assert _agreement(r0, plain) < 0.8  # measured: 0.98 with the ranks' noise, 0.55 with one stream


def _one_process(root, wrap):
    """The reference: the same config through the same CLI, one process, the doubled batches."""
    cli = LightningGenCLI([*COMMON, "--trainer.devices=1", f"--trainer.default_root_dir={root}"], run=False)
    initial = torch.cat([p.detach().flatten() for p in cli.model.parameters()])
    cli.model.__class__ = wrap(type(cli.model))
    cli.datamodule.setup("fit")
    cli.trainer.fit(cli.model, doubled_from(cli.datamodule.train_dataloader(), seed=0))
    assert cli.trainer.global_step == 4
    return torch.cat([p.detach().flatten() for p in cli.model.parameters()]), initial


def _agreement(ddp: torch.Tensor, reference: torch.Tensor) -> float:
    """The share of weights that agree to float tolerance. Not all of them: Adam's normalised step turns the
    round-off of a near-zero gradient (the digits' constant background) into a step of +-lr, so ~2% of the
    weights of a real-data run differ by a few lr (tolerance here: 1e-3 of the largest weight); one noise
    stream for both halves leaves only ~55% in agreement after these 2 iterations."""
    close = (ddp - reference).abs() <= 1e-6 + 1e-4 * reference.abs() + 1e-3 * reference.abs().max()
    return float(close.float().mean())
