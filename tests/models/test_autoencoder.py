"""AutoEncoder on the real bundled digits: it learns, reconstructs and samples."""

import lightning.pytorch as pl
import pytest
import torch

from lightning_gen.data import DigitsDataModule
from lightning_gen.models import AutoEncoder
from lightning_gen.nn import DCGANEncoder, DCGANGenerator, MLPEncoder, MLPGenerator
from tests.helpers import trainer


def _mlp_ae():
    return AutoEncoder(MLPEncoder(input_shape=(1, 16, 16), hidden_dims=(64,), latent_dim=8),
                       MLPGenerator(latent_dim=8, output_shape=(1, 16, 16), hidden_dims=(64,), batch_norm=False),
                       lr=3e-3)


def _conv_ae():
    return AutoEncoder(DCGANEncoder(channels=1, image_size=16, latent_dim=8, base_width=8),
                       DCGANGenerator(latent_dim=8, channels=1, image_size=16, base_width=8), lr=3e-3)


@pytest.mark.parametrize("build", [_mlp_ae, _conv_ae], ids=["mlp", "conv"])
def test_autoencoder_learns_real_digits(build, tmp_path):
    pl.seed_everything(0)
    dm = DigitsDataModule(image_size=16, batch_size=64)
    model = build()
    t = trainer(tmp_path, max_epochs=1, limit_train_batches=2, num_sanity_val_steps=0)
    t.validate(model, dm, verbose=False)
    before = t.callback_metrics["val/recon_loss"].item()
    t = trainer(tmp_path, max_epochs=6, num_sanity_val_steps=0)
    t.fit(model, dm)
    after = t.callback_metrics["val/recon_loss"].item()
    assert after < 0.5 * before  # held-out reconstruction error at least halves

    x = next(iter(dm.val_dataloader()))[0][:5]
    recon = model.reconstruct(x)
    assert recon.shape == x.shape and recon.min() >= -1 and recon.max() <= 1
    samples = model.sample(6, seed=1)
    assert samples.shape == (6, 1, 16, 16)
    assert torch.equal(samples, model.sample(6, seed=1))
    # the code statistics were fitted to the training codes, not left at N(0, I)
    assert not torch.allclose(model.code_cov, torch.eye(8))


def test_autoencoder_checks_latent_sizes():
    with pytest.raises(ValueError, match=r"latent_dim must exist and agree \(got 8 and 4\)"):
        AutoEncoder(MLPEncoder(latent_dim=8), MLPGenerator(latent_dim=4))
    with pytest.raises(ValueError, match=r"loss='ssim'"):
        AutoEncoder(MLPEncoder(latent_dim=8), MLPGenerator(latent_dim=8), loss="ssim")
