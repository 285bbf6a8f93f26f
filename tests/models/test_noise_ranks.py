"""Training noise is a function of (noise seed, batch, rank) (issue 12, defects 2, 3 and 8).

Defect 2: the GAN family drew z (and BigBiGAN its encoder noise) from the global RNG, which
``seed_everything`` seeds identically on every rank, so two DDP ranks generated the same fakes. Defect 3: a
resumed DDP run restored rank 0's saved RNG state on every rank. Defect 8: DDPM drew its noise on the CPU
and copied it. Now every training draw comes from ``GenerativeModule.step_generator`` (a generator on the
model's device) and the global RNGs are reseeded per (epoch, rank).
"""

from __future__ import annotations

import pytest
import torch

from lightning_gen.models.base import _TRAIN_STREAM, mix_seed
from tests.helpers import run_ddp_script, trainer
from tests.models.family_builders import build_family


class RecordInputs:
    """Forward pre-hook: keeps the first positional input of each training forward of a network."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.inputs: list[torch.Tensor] = []
        module.register_forward_pre_hook(self)

    def __call__(self, module: torch.nn.Module, args: tuple) -> None:
        if module.training:  # not the eval-mode forwards of validation grids
            self.inputs.append(args[0].detach().clone())


def test_gan_latents_and_smoothed_targets_are_the_step_generator_stream(tmp_path):
    """By hand: batch k's z is N(0, I) from a generator seeded mix_seed(stream, seed, k, rank), and the label
    smoothing targets continue that stream (the global RNG plays no part)."""
    import lightning.pytorch as pl

    pl.seed_everything(3)
    model, loader = build_family("gan")  # real_label_range=(0.7, 0.9)
    seen = RecordInputs(model.generator)
    targets: list[torch.Tensor] = []
    real_targets = model.real_targets
    model.real_targets = lambda logits: targets.append(real_targets(logits)) or targets[-1]
    trainer(tmp_path, max_epochs=1).fit(model, loader)
    assert len(seen.inputs) == len(loader) == 2
    for k, z in enumerate(seen.inputs):
        gen = torch.Generator().manual_seed(mix_seed(_TRAIN_STREAM, 3, k, 0))
        expected = torch.randn(z.shape, generator=gen)
        torch.testing.assert_close(z, expected, rtol=0, atol=0)
        expected_targets = torch.empty_like(targets[k]).uniform_(0.7, 0.9, generator=gen)
        torch.testing.assert_close(targets[k], expected_targets, rtol=0, atol=0)


def test_ddpm_noise_is_drawn_on_the_generators_device():
    model, _ = build_family("ddpm")
    x0 = torch.zeros(4, 1, 8, 8)
    gen = model.seeded_generator(1, 2)
    assert gen.device == model.device
    t, noise = model.training_noise(x0, gen)
    again = model.seeded_generator(1, 2)
    torch.testing.assert_close(t, torch.randint(0, model.hparams.num_timesteps, (4,), generator=again))
    torch.testing.assert_close(noise, torch.randn(x0.shape, generator=again))


DDP_SCRIPT = """
import json
import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning_gen.models import DDPM
from tests.models.family_builders import build_family
from tests.helpers import image_loader
from tests.models.test_noise_ranks import RecordInputs

torch.set_num_threads(1)
record = {}

def fit(model, loader, **kwargs):
    ckpt_path = kwargs.pop("ckpt_path", None)
    t = pl.Trainer(accelerator="cpu", devices=2, strategy="ddp_find_unused_parameters_true", logger=False, enable_progress_bar=False,
                   enable_model_summary=False, num_sanity_val_steps=0, limit_val_batches=0, **kwargs)
    t.fit(model, loader, ckpt_path=ckpt_path)
    return t

# defect 2: one batch of each family; the first training input of G (z), of BigBiGAN's encoder noise, of
# DDPM's (t, eps)
for family in ("gan", "cgan", "unrolled", "biggan", "bigbigan", "cogan", "ddpm"):
    pl.seed_everything(0)
    model, loader = build_family(family)
    if isinstance(model, DDPM):
        draws = []
        draw = model.training_noise
        model.training_noise = lambda x0, g: draws.append(draw(x0, g)) or draws[-1]
        t = fit(model, loader, max_steps=1, enable_checkpointing=False)
        record[family] = torch.cat([draws[0][0].float(), draws[0][1].flatten()]).tolist()
        continue
    seen = RecordInputs(model.generator)
    if family == "bigbigan":
        eps = []
        def hook(module, args, out):
            if module.training:
                mu, sigma = module.posterior(args[0])
                eps.append(((out - mu) / sigma).detach())
        model.encoder.register_forward_hook(hook)
    t = fit(model, loader, max_steps=1 if family != "cogan" else 2, enable_checkpointing=False)
    record[family] = seen.inputs[0].flatten().tolist()
    if family == "bigbigan":
        record["bigbigan_encoder"] = eps[0].flatten().tolist()

# defect 3: a GAN interrupted after epoch 1 of 2 and resumed vs an uninterrupted run: epoch 2's z and a draw
# from the global RNG at each batch start (what dropout or augmentation would use)
class GlobalDraws(pl.Callback):
    def __init__(self):
        self.draws = []
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.draws.append(torch.rand(3).tolist())

class Stop(pl.Callback):
    def on_train_epoch_end(self, trainer, pl_module):
        trainer.should_stop = True

runs = {}
for run in ("straight", "first", "resumed"):
    pl.seed_everything(0)
    model, _ = build_family("gan")
    loader = image_loader(32, batch_size=8)  # 16 digits per rank: 2 batches per epoch
    seen, draws = RecordInputs(model.generator), GlobalDraws()
    callbacks = [draws, ModelCheckpoint(dirpath=OUT + "/ckpt_" + run, save_last=True)]
    if run == "first":
        callbacks.append(Stop())
    t = fit(model, loader, max_epochs=2, callbacks=callbacks,
            ckpt_path=OUT + "/ckpt_first/last.ckpt" if run == "resumed" else None)
    runs[run] = {"z": [z.flatten().tolist() for z in seen.inputs], "draws": draws.draws}
record["resume"] = runs
json.dump(record, open(OUT + f"/rank{t.global_rank}.json", "w"))
"""


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    return run_ddp_script(DDP_SCRIPT, tmp_path_factory.mktemp("noise_ddp"), timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["gan", "cgan", "unrolled", "biggan", "bigbigan", "bigbigan_encoder", "cogan",
                                    "ddpm"])
def test_two_ranks_draw_different_training_noise(ranks, family):
    r0, r1 = (torch.tensor(r[family]) for r in ranks)
    assert r0.shape == r1.shape and r0.numel() > 0
    assert not torch.allclose(r0, r1), f"{family}: both DDP ranks drew the same noise"


@pytest.mark.slow
def test_after_a_resume_ranks_still_differ_and_continue_the_uninterrupted_streams(ranks):
    for rank in ranks:
        runs = rank["resume"]
        # 2 batches per rank per epoch: the resumed run saw epoch 2 only
        assert len(runs["straight"]["z"]) == 4 and len(runs["resumed"]["z"]) == 2
        assert runs["resumed"]["z"] == runs["straight"]["z"][2:]
        assert runs["resumed"]["draws"] == runs["straight"]["draws"][2:]
    r0, r1 = (rank["resume"]["resumed"] for rank in ranks)
    assert r0["z"][0] != r1["z"][0]
    assert r0["draws"][0] != r1["draws"][0]  # global RNGs are per rank after the resume too
