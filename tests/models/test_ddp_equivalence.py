"""DDP equivalence (issue 12): one GAN iteration and one DDPM step on 2 CPU processes (gloo) with batch B per
rank give the same gradients and weights as 1 process with batch 2B and the same noise, and the two ranks'
noise differs.

The reference (tests/models/ddp_reference.py) feeds one process rank 0's batch then rank 1's as one batch and
draws each half's noise from that rank's generator. The networks have no BatchNorm: BatchNorm normalises with
per-rank batch statistics (SyncBatchNorm needs CUDA), so with it a 2-rank step on B + B samples cannot equal
a 1-rank step on 2B samples; the DCGAN nets use ``norm="none"``, the U-Net GroupNorm (per sample).
"""

from __future__ import annotations

import pytest

from lightning_gen.models import DDPM, GAN
from tests.helpers import image_loader, run_ddp_script, tiny_dcgan, trainer
from tests.models.ddp_reference import WORLD, assert_matches, doubled_loader, virtual_ranks
from tests.models.diffusion_helpers import tiny_unet

B = 4  # per rank


def build(name: str, cls_wrap=lambda cls: cls):
    """The model (built after seed_everything(0)) and its dataset."""
    import lightning.pytorch as pl

    pl.seed_everything(0)
    if name == "gan":
        model = cls_wrap(GAN)(*tiny_dcgan(norm="none"), ema_decay=0.9)
        data = image_loader(4 * B, batch_size=B).dataset
    else:
        model = cls_wrap(DDPM)(tiny_unet(8), ema_decay=0.9, lr=1e-3, warmup_steps=2, num_val_samples=4)
        data = image_loader(4 * B, size=8, batch_size=B).dataset
    return model, data


DDP_SCRIPT = f"""
import json
import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader
from tests.models.ddp_reference import fit_state
from tests.models.test_ddp_equivalence import build

torch.set_num_threads(1)
record = {{}}
for name, steps in (("gan", 2), ("ddpm", 1)):  # one GAN iteration (D step + G step), one DDPM step
    model, data = build(name)
    strategy = "ddp_find_unused_parameters_true" if name == "gan" else "ddp"  # several optimisers: see base.py
    t = pl.Trainer(accelerator="cpu", devices=2, strategy=strategy, max_steps=steps, logger=False,
                   enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                   limit_val_batches=0)
    t.fit(model, DataLoader(data, batch_size={B}, shuffle=False))
    record[name] = fit_state(model)
json.dump(record, open(OUT + f"/rank{{t.global_rank}}.json", "w"))
"""


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    return run_ddp_script(DDP_SCRIPT, tmp_path_factory.mktemp("ddp_equivalence"), timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gan", "ddpm"])
def test_two_processes_equal_one_process_on_the_doubled_batch(ranks, name, tmp_path):
    model, data = build(name, virtual_ranks)
    trainer(tmp_path, max_steps=2 if name == "gan" else 1, limit_val_batches=0).fit(model, doubled_loader(data, B))
    for rank in ranks:
        assert_matches(rank[name], model, f"{name} rank vs 1 process x {WORLD * B}")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gan", "ddpm"])
def test_the_reference_detects_shared_noise(ranks, name, tmp_path):
    """The comparison can fail, and the ranks' noise differs: the plain model on the doubled batch (all 2B
    draws from rank 0's stream) does not match the DDP run."""
    model, data = build(name)
    trainer(tmp_path, max_steps=2 if name == "gan" else 1, limit_val_batches=0).fit(model, doubled_loader(data, B))
    with pytest.raises(AssertionError):
        assert_matches(ranks[0][name], model, name)
