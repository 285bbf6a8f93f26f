"""Gradient accumulation under manual optimisation (issue 12): ``accumulate_grad_batches=2`` over two batches of
4 equals one step on the concatenated batch of 8, computed here by hand from the same inputs, for GAN and DDPM
(real Trainer runs on CPU). The networks have no BatchNorm (batch statistics depend on the split)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from lightning_gen.diffusion.objectives import loss_weights
from lightning_gen.losses import discriminator_loss, generator_loss, reconstruction_loss
from lightning_gen.models import DDPM, GAN, CoGAN
from lightning_gen.nn import CoupledDiscriminator, CoupledGenerator
from lightning_gen.nn.ema import EMA
from tests.helpers import tiny_dcgan, trainer
from tests.models.diffusion_helpers import tiny_unet


def loader(size: int, n: int = 8, batch_size: int = 4) -> DataLoader:
    gen = torch.Generator().manual_seed(0)
    return DataLoader(TensorDataset(torch.rand(n, 1, size, size, generator=gen) * 2 - 1), batch_size=batch_size)


def record_inputs(module: torch.nn.Module, when) -> list[tuple[torch.Tensor, ...]]:
    seen: list[tuple[torch.Tensor, ...]] = []
    module.register_forward_pre_hook(lambda m, args: seen.append(tuple(a.detach().clone() for a in args))
                                     if when() else None)
    return seen


def fit(model, data, **kwargs):
    t = trainer(kwargs.pop("tmp_path"), max_epochs=1, limit_val_batches=0, enable_checkpointing=False, **kwargs)
    t.fit(model, data)
    return t


def test_gan_two_micro_batches_equal_one_step_on_the_large_batch(tmp_path):
    torch.manual_seed(0)
    model = GAN(*tiny_dcgan(norm="none"), accumulate_grad_batches=2, lr_g=1e-3, lr_d=1e-3, ema_decay=0.5)
    start = copy.deepcopy(model)
    # the D phase's G(z) runs without grad: record each micro-batch's z there
    zs = record_inputs(model.generator, lambda: model.training and not torch.is_grad_enabled())
    data = loader(16)
    t = fit(model, data, tmp_path=tmp_path)
    assert t.global_step == 2 and len(zs) == 2  # one D and one G step for the window of 2 batches

    # by hand: Algorithm 1 on the batch of 8 with the same z
    real = torch.cat([x for (x,) in data])
    z = torch.cat([args[0] for args in zs])
    g, d = start.generator, start.discriminator
    opt_g = torch.optim.Adam(g.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=1e-3, betas=(0.5, 0.999))
    loss_real, loss_fake = discriminator_loss(d(real), d(g(z).detach()), "non_saturating", 1.0)
    (loss_real.mean() + loss_fake.mean()).backward()
    opt_d.step()
    d.requires_grad_(False)
    generator_loss(d(g(z)), "non_saturating").mean().backward()
    opt_g.step()
    ema = EMA(copy.deepcopy(start.ema.shadow), 0.5)
    ema.update(g)

    for ours, ref in ((model.discriminator, d), (model.generator, g), (model.ema.shadow, ema.shadow)):
        for (name, p), q in zip(ours.named_parameters(), ref.parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-6, msg=name)


def test_ddpm_two_micro_batches_equal_one_step_on_the_large_batch(tmp_path):
    torch.manual_seed(0)
    model = DDPM(tiny_unet(8), prediction_type="sample", accumulate_grad_batches=2, lr=1e-3, ema_decay=0.9,
                 val_steps=2, num_val_samples=4)
    start = copy.deepcopy(model)
    inputs = record_inputs(model.denoiser, lambda: model.training)  # (x_t, t) of each micro-batch
    data = loader(8)
    t = fit(model, data, tmp_path=tmp_path)
    assert t.global_step == 1 and len(inputs) == 2
    assert t.lr_scheduler_configs[0].scheduler.last_epoch == 1  # the warm-up advanced once, not per micro-batch

    # by hand: one AdamW step on the batch of 8 (target x_0: prediction_type="sample")
    x0 = torch.cat([x for (x,) in data])
    x_t, steps = (torch.cat(parts) for parts in zip(*inputs, strict=True))
    den = start.denoiser
    opt = torch.optim.AdamW(den.parameters(), lr=1e-3, betas=(0.9, 0.999), weight_decay=0.0)
    weights = loss_weights(steps, start.noise_schedule, "sample", "uniform", 5.0)
    (weights * reconstruction_loss(den(x_t, steps), x0, "mse")).mean().backward()
    opt.step()
    ema = EMA(copy.deepcopy(start.ema.shadow), 0.9)
    ema.update(den)

    # The attention key biases get an exactly zero gradient (softmax ignores a shift shared by all keys): what
    # autograd returns is round-off (~1e-10), and Adam's first step lr * g / (|g| + eps) turns round-off into
    # moves up to lr / 2 whose value depends on the summation order (micro-batches or one batch, thread count).
    # Those are held to Adam's bound; every other parameter must match the large-batch step.
    round_off = {name for name, q in den.named_parameters() if q.grad.abs().max() < 1e-8}
    assert round_off and all(name.endswith("to_k.bias") for name in round_off)
    initial = dict(start.denoiser.named_parameters())
    for ours, ref in ((model.denoiser, den), (model.ema.shadow, ema.shadow)):
        for (name, p), q in zip(ours.named_parameters(), ref.parameters(), strict=True):
            if name in round_off:
                for moved in (p, q):
                    assert (moved - initial[name]).abs().max() <= 0.5e-3 + 1e-9, name
                continue
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-6, msg=name)


def test_a_short_last_window_is_averaged_over_its_own_size(tmp_path):
    torch.manual_seed(0)
    model = DDPM(tiny_unet(8), prediction_type="sample", accumulate_grad_batches=2, lr=1e-3, ema_decay=None,
                 val_steps=2, num_val_samples=4)
    inputs = record_inputs(model.denoiser, lambda: model.training)
    t = fit(model, loader(8, n=12), tmp_path=tmp_path)  # 3 batches: windows of 2 and 1
    assert t.global_step == 2 and len(inputs) == 3


def test_bad_values_and_models_that_cannot_accumulate_are_refused(tmp_path):
    with pytest.raises(ValueError, match="accumulate_grad_batches must be an int >= 1"):
        GAN(*tiny_dcgan(), accumulate_grad_batches=0)
    model = CoGAN(CoupledGenerator(latent_dim=8, image_size=16, base_width=4),
                  CoupledDiscriminator(image_size=16, base_width=4), accumulate_grad_batches=2)
    x = torch.rand(8, 1, 16, 16) * 2 - 1
    data = DataLoader([{"a": a, "b": a} for a in x], batch_size=4)
    with pytest.raises(ValueError, match="CoGAN does not implement accumulate_grad_batches > 1"):
        fit(model, data, tmp_path=tmp_path)


DDP_BODY = """
import json
import lightning.pytorch as pl
import torch
from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook
from torch.utils.data import DataLoader, TensorDataset
from tests.models.diffusion_helpers import tiny_ddpm

torch.set_num_threads(1)


class CountAllReduces(pl.Callback):
    calls = 0

    def on_train_start(self, trainer, pl_module):
        def hook(state, bucket):
            self.calls += 1
            return allreduce_hook(None, bucket)
        trainer.strategy.model.register_comm_hook(None, hook)


record = {}
for n in (1, 2):
    pl.seed_everything(0, verbose=False)
    model = tiny_ddpm(accumulate_grad_batches=n)
    counter = CountAllReduces()
    trainer = pl.Trainer(accelerator="cpu", devices=2, strategy="ddp", max_epochs=1, limit_val_batches=0,
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=[counter])
    trainer.fit(model, DataLoader(TensorDataset(torch.rand(32, 1, 8, 8) * 2 - 1), batch_size=4))  # 4 per rank
    record[n] = {"all_reduces": counter.calls, "steps": trainer.global_step,
                 "weights": torch.cat([p.detach().flatten() for p in model.denoiser.parameters()]).tolist()}
json.dump(record, open(OUT + f"/rank{trainer.global_rank}.json", "w"))
"""


@pytest.mark.slow
def test_ddp_does_not_all_reduce_on_the_micro_batches_that_do_not_step(tmp_path):
    from tests.helpers import run_ddp_script

    ranks = run_ddp_script(DDP_BODY, tmp_path, timeout=300)
    for record in ranks:
        plain, accumulated = record["1"], record["2"]
        assert plain["steps"] == 4 and accumulated["steps"] == 2
        assert plain["all_reduces"] > 0 and accumulated["all_reduces"] * 2 == plain["all_reduces"]
    assert ranks[0]["2"]["weights"] == ranks[1]["2"]["weights"]  # the stepping backward did synchronise
