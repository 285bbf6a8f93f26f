"""PacGAN packing (Lin et al., 2018): m samples in, one logit per pack out, gradients to every sample."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest
import torch

from lightning_gen.cli import main
from lightning_gen.losses import discriminator_loss, generator_loss
from lightning_gen.models import GAN
from lightning_gen.nn import DCGANDiscriminator, MaxoutDiscriminator, MLPDiscriminator
from lightning_gen.sampling import load_model
from tests.helpers import image_loader, tiny_dcgan, trainer

REPO = Path(__file__).resolve().parents[2]


def _discriminators(pack: int):
    return [
        (MLPDiscriminator(input_shape=(1, 8, 8), hidden_dims=(16,), pack=pack), (1, 8, 8)),
        (DCGANDiscriminator(channels=1, image_size=8, base_width=4, pack=pack), (1, 8, 8)),
        (MaxoutDiscriminator(input_dim=2, hidden_dims=(8, 8), pieces=3, pack=pack), (2,)),
    ]


@pytest.mark.parametrize("pack", [1, 2, 4])
def test_one_logit_per_pack_and_gradients_reach_every_sample(pack):
    for d, shape in _discriminators(pack):
        d.eval()  # BatchNorm statistics fixed: a pack's logit depends only on its own samples
        x = torch.randn(8, *shape, requires_grad=True)
        logits = d(x)
        assert logits.shape == (8 // pack,), type(d).__name__
        logits[0].backward()
        touched = x.grad.flatten(1).abs().sum(1) > 0
        assert touched[:pack].all() and not touched[pack:].any(), type(d).__name__  # pack 0 = samples 0..m-1
        assert all(p.grad is not None for p in d.parameters() if p.requires_grad)


def test_packs_are_consecutive_samples_concatenated_on_the_feature_axis():
    d = MaxoutDiscriminator(input_dim=2, hidden_dims=(8,), pieces=2, pack=2)
    x = torch.randn(4, 2)
    assert torch.allclose(d(x), d.head(d.body(x.reshape(2, 4))).view(-1))
    with pytest.raises(ValueError, match="not divisible by pack=2"):
        d(torch.randn(3, 2))


def test_packed_gan_trains_with_per_pack_targets(tmp_path, monkeypatch):
    """Batches of 16 in packs of 2: D sees 16 images and returns 8 logits, the smoothed real targets are one
    draw per pack in (0.7, 0.9), and D's loss is the BCE of those 8 logits against them (by hand)."""
    import lightning_gen.models.gan as gan_module

    calls = {"d": [], "g": []}

    def d_spy(real_logits, fake_logits, kind, real_targets=1.0):
        out = discriminator_loss(real_logits, fake_logits, kind, real_targets)
        calls["d"].append((real_logits.detach(), fake_logits.detach(), torch.as_tensor(real_targets), out))
        return out

    def g_spy(fake_logits, kind):
        calls["g"].append(fake_logits.detach())
        return generator_loss(fake_logits, kind)

    monkeypatch.setattr(gan_module, "discriminator_loss", d_spy)
    monkeypatch.setattr(gan_module, "generator_loss", g_spy)
    g, d = tiny_dcgan(size=16, pack=2)
    seen = []
    d.register_forward_hook(lambda module, args, out: seen.append((args[0].shape[0], tuple(out.shape))))
    model = GAN(g, d, real_label_range=(0.7, 0.9))
    before = [p.detach().clone() for p in model.discriminator.parameters()]
    trainer(tmp_path, max_steps=4, limit_val_batches=0).fit(model, image_loader(n=64, size=16))
    assert all(not torch.equal(a, b) for a, b in zip(before, model.discriminator.parameters(), strict=True))
    assert len(calls["d"]) == 2 and len(calls["g"]) == 2  # two batches, one D and one G phase each
    assert seen and set(seen) == {(16, (8,))}  # every D call: 16 images in, one logit per pack of 2 out
    for real_logits, fake_logits, targets, (loss_real, loss_fake) in calls["d"]:
        assert real_logits.shape == fake_logits.shape == targets.shape == (8,)
        assert ((targets >= 0.7) & (targets <= 0.9)).all() and len(targets.unique()) == 8  # a draw per pack
        sig_real, sig_fake = torch.sigmoid(real_logits), torch.sigmoid(fake_logits)
        by_hand = -(targets * sig_real.log() + (1 - targets) * (1 - sig_real).log())
        torch.testing.assert_close(loss_real, by_hand, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(loss_fake, -(1 - sig_fake).log(), rtol=1e-5, atol=1e-6)
    assert not torch.equal(calls["d"][0][2], calls["d"][1][2])  # fresh targets per batch
    assert all(fake.shape == (8,) for fake in calls["g"])


def test_pacgan_toy_config_fits_and_samples_from_the_checkpoint(tmp_path):
    config = str(REPO / "configs" / "pacgan_toy.yaml")
    small = ["--data.num_samples", "4000", "--data.val_samples", "400"]
    assert main(["fit", "--config", config, *small, "--trainer.fast_dev_run=true", f"--trainer.default_root_dir={tmp_path / 'dev'}"]) == 0
    main(["fit", "--config", config, *small, "--trainer.max_steps=4", "--trainer.limit_val_batches=1", "--trainer.logger=false",
          f"--trainer.default_root_dir={tmp_path / 'run'}"])  # fmt: skip
    (ckpt,) = glob.glob(str(tmp_path / "run" / "**" / "last.ckpt"), recursive=True)
    model = load_model(ckpt)
    assert model.discriminator.pack == 4 and model.sample(10, seed=1).shape == (10, 2)
