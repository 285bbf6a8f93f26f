"""PacGAN packing (Lin et al., 2018): m samples in, one logit per pack out, gradients to every sample."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest
import torch

from lightning_gen.cli import main
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


def test_packed_gan_trains_with_per_pack_targets(tmp_path):
    g, d = tiny_dcgan(size=16, pack=2)
    model = GAN(g, d, real_label_range=(0.7, 0.9))
    before = [p.detach().clone() for p in model.discriminator.parameters()]
    trainer(tmp_path, max_steps=4, limit_val_batches=1).fit(model, image_loader(n=64, size=16), image_loader(n=16, size=16))
    assert all(not torch.equal(a, b) for a, b in zip(before, model.discriminator.parameters(), strict=True))


def test_pacgan_toy_config_fits_and_samples_from_the_checkpoint(tmp_path):
    config = str(REPO / "configs" / "pacgan_toy.yaml")
    small = ["--data.num_samples", "4000", "--data.val_samples", "400"]
    assert main(["fit", "--config", config, *small, "--trainer.fast_dev_run=true", f"--trainer.default_root_dir={tmp_path / 'dev'}"]) == 0
    main(["fit", "--config", config, *small, "--trainer.max_steps=4", "--trainer.limit_val_batches=1", "--trainer.logger=false",
          f"--trainer.default_root_dir={tmp_path / 'run'}"])  # fmt: skip
    (ckpt,) = glob.glob(str(tmp_path / "run" / "**" / "last.ckpt"), recursive=True)
    model = load_model(ckpt)
    assert model.discriminator.pack == 4 and model.sample(10, seed=1).shape == (10, 2)
