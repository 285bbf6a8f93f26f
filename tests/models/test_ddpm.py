"""DDPM training on real MNIST digits: targets, gradients, EMA, resume, checkpoints, configs through the CLI."""

from __future__ import annotations

import glob
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from lightning_gen.cli import main
from lightning_gen.diffusion import NoiseSchedule
from lightning_gen.models import DDPM
from lightning_gen.nn import UNetDenoiser
from lightning_gen.sampling import load_model
from tests.helpers import state_vector, trainer
from tests.models.diffusion_helpers import mnist_dm, tiny_ddpm

REPO = Path(__file__).resolve().parents[2]


class OracleDenoiser(nn.Module):
    """Knows the clean batch, so it returns the exact target of ``prediction_type`` for any (x_t, t)."""

    channels, image_size, num_classes = 1, 8, 0

    def __init__(self, x0: torch.Tensor, prediction_type: str) -> None:
        super().__init__()
        self.x0, self.prediction_type = x0, prediction_type
        self.schedule = NoiseSchedule()
        self.unused = nn.Parameter(torch.zeros(()))

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = self.schedule.sqrt_alphas_cumprod[t].view(-1, 1, 1, 1)
        s = self.schedule.sqrt_one_minus_alphas_cumprod[t].view(-1, 1, 1, 1)
        eps = (x_t - a * self.x0) / s
        return {"epsilon": eps, "sample": self.x0, "v_prediction": a * eps - s * self.x0}[self.prediction_type]


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction", "sample"])
@pytest.mark.parametrize("weighting", ["uniform", "min_snr"])
def test_the_loss_regresses_on_the_target_of_each_prediction_type(prediction_type, weighting):
    x0 = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    losses = {}
    for oracle_type in ("epsilon", "v_prediction", "sample"):
        model = DDPM(OracleDenoiser(x0, oracle_type), prediction_type=prediction_type, loss_weighting=weighting)
        losses[oracle_type] = model.diffusion_loss(x0, None, torch.Generator().manual_seed(1)).item()
    assert losses[prediction_type] < 1e-6  # the exact target costs nothing ...
    assert all(v > 1e-2 for k, v in losses.items() if k != prediction_type)  # ... any other target does


def test_one_step_reaches_the_denoiser_and_not_the_ema(mnist_root, tmp_path):
    torch.manual_seed(0)
    model = tiny_ddpm()
    before, ema_before = state_vector(model.denoiser), state_vector(model.ema.shadow)
    trainer(tmp_path, max_steps=1, limit_val_batches=0, enable_checkpointing=False).fit(model, mnist_dm(mnist_root))
    grads = [p.grad for p in model.denoiser.parameters()]
    assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0
    assert all(p.grad is None and not p.requires_grad for p in model.ema.shadow.parameters())
    assert not torch.equal(state_vector(model.denoiser), before)
    # EMA with warm-up: the first update uses decay min(0.9, (1 + 0) / (10 + 0)) = 0.1
    expected = 0.1 * ema_before + 0.9 * state_vector(model.denoiser)
    torch.testing.assert_close(state_vector(model.ema.shadow), expected)
    assert model.ema.num_updates.item() == 1


def test_ema_warmup_forgets_the_initialisation():
    """Without warm-up, n updates keep decay**n of the random initial weights (22% after 300 at 0.995)."""
    warm = math.prod((1 + n) / (10 + n) for n in range(300))  # each decay_n < 0.995 for n < 1790
    for warmup, expected_init_share in ((False, 0.995**300), (True, warm)):
        torch.manual_seed(0)
        model = tiny_ddpm(ema_decay=0.995, ema_warmup=warmup)
        init = state_vector(model.ema.shadow)
        with torch.no_grad():
            for p in model.denoiser.parameters():
                p.zero_()
            for _ in range(300):
                model.update_ema()
        # what is left of the initial weights is the product of the decays (about 1e-17 with warm-up)
        share = state_vector(model.ema.shadow).norm() / init.norm()
        assert share.item() == pytest.approx(expected_init_share, rel=1e-3, abs=1e-12)


def test_resume_equals_an_uninterrupted_run(mnist_root, tmp_path):
    """Same weights, EMA and optimizer state after 2 epochs straight or 1 epoch + resume (noise is seeded by step)."""
    common = dict(limit_train_batches=2, limit_val_batches=1, reload_dataloaders_every_n_epochs=1)
    torch.manual_seed(0)
    straight = tiny_ddpm(num_classes=10, label_dropout=0.2)
    trainer(tmp_path / "a", max_epochs=2, enable_checkpointing=False, **common).fit(straight, mnist_dm(mnist_root))

    torch.manual_seed(0)
    first = tiny_ddpm(num_classes=10, label_dropout=0.2)
    t1 = trainer(tmp_path / "b", max_epochs=1, enable_checkpointing=False, **common)
    t1.fit(first, mnist_dm(mnist_root))
    ckpt = tmp_path / "epoch1.ckpt"
    t1.save_checkpoint(ckpt)
    torch.manual_seed(123)  # a different global RNG state must not matter
    resumed = tiny_ddpm(num_classes=10, label_dropout=0.2)
    trainer(tmp_path / "c", max_epochs=2, enable_checkpointing=False, **common).fit(
        resumed, mnist_dm(mnist_root), ckpt_path=ckpt
    )
    assert resumed.global_step == straight.global_step == 4
    assert torch.equal(state_vector(resumed), state_vector(straight))
    assert not torch.equal(state_vector(first), state_vector(straight))


def test_checkpoint_alone_rebuilds_the_model(mnist_root, tmp_path):
    torch.manual_seed(0)
    model = tiny_ddpm(num_classes=10, label_dropout=0.1, prediction_type="v_prediction", schedule="cosine")
    t = trainer(tmp_path, max_steps=2, limit_val_batches=1)
    t.fit(model, mnist_dm(mnist_root))
    ckpt = tmp_path / "m.ckpt"
    t.save_checkpoint(ckpt)
    loaded = load_model(ckpt)
    assert type(loaded) is DDPM and loaded.hparams.schedule == "cosine" and loaded.num_classes == 10
    assert torch.equal(state_vector(loaded), state_vector(model))
    a = model.sample(4, labels=2, seed=0, steps=3, guidance_scale=2.0, progress=False)
    b = loaded.sample(4, labels=2, seed=0, steps=3, guidance_scale=2.0, progress=False)
    torch.testing.assert_close(a, b)


def test_constructor_errors():
    with pytest.raises(ValueError, match="prediction_type='noise' is not supported"):
        tiny_ddpm(prediction_type="noise")
    with pytest.raises(ValueError, match="label_dropout needs a class-conditional denoiser"):
        tiny_ddpm(label_dropout=0.1)
    with pytest.raises(ValueError, match=r"attention_resolutions \[5\] are not resolutions of this U-Net"):
        UNetDenoiser(image_size=8, widths=[8, 16], attention_resolutions=[5], norm_groups=4)
    with pytest.raises(ValueError, match="image_size=10 cannot be halved 2 times"):
        UNetDenoiser(image_size=10, widths=[8, 8, 8], attention_resolutions=[], norm_groups=4)
    with pytest.raises(ValueError, match="must expose `channels`"):
        DDPM(nn.Conv2d(1, 1, 1))


@pytest.mark.slow
@pytest.mark.parametrize("config", ["ddpm_mnist", "ddpm_cond_mnist"])
def test_config_fits_through_the_cli_and_samples_from_the_checkpoint(config, mnist_root, tmp_path, capsys):
    fit = ["fit", "--config", str(REPO / "configs" / f"{config}.yaml"), "--data.root", str(mnist_root),
           "--data.init_args.limit", "64", "--data.init_args.batch_size", "8", "--trainer.limit_val_batches", "1",
           "--trainer.logger", "false", "--trainer.accelerator", "cpu"]  # fmt: skip
    main([*fit, "--trainer.max_steps", "2", f"--trainer.default_root_dir={tmp_path / 'first'}"])
    (ckpt,) = glob.glob(str(tmp_path / "first" / "**" / "last.ckpt"), recursive=True)
    # resuming from an explicit checkpoint path: DDPM hyper-parameters carry no _class_path, the CLI takes the
    # model's class from the checkpoint's lightning_gen record
    main([*fit, "--trainer.max_steps", "3", f"--trainer.default_root_dir={tmp_path / 'resumed'}", "--ckpt_path", ckpt])
    (resumed,) = glob.glob(str(tmp_path / "resumed" / "**" / "last.ckpt"), recursive=True)
    assert torch.load(resumed, weights_only=False, map_location="cpu")["global_step"] == 3
    out = tmp_path / "samples.png"
    extra = ["--label", "3", "--guidance-scale", "2"] if "cond" in config else []
    args = ["sample", "--ckpt", ckpt, "--num", "4", "--sampler", "dpmpp", "--steps", "3", "--out", str(out), *extra]
    assert main(args) == 0 and out.is_file()
    assert "Wrote 4 samples" in capsys.readouterr().out
    assert main(["sample", "--ckpt", ckpt, "--num", "2", "--sampler", "ddpm", "--eta", "0.5", "--out", str(out)]) == 2
    assert "eta=0.5 applies to the DDIM sampler only" in capsys.readouterr().err
