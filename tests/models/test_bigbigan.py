"""BigBiGAN: the summed hinge losses against hand-computed values, gradient routing (E and G together, D
alone), encoding / reconstruction, and the CLI path on real MNIST (fit, sample, reconstruct)."""

from __future__ import annotations

import glob
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from lightning_gen.cli import main
from lightning_gen.losses import bigbigan_discriminator_loss, bigbigan_encoder_generator_loss
from lightning_gen.models import BigBiGAN
from lightning_gen.nn import BigBiGANDiscriminator, BigBiGANEncoder, BigGANGenerator
from lightning_gen.sampling import load_model
from tests.helpers import image_loader, state_vector, trainer

REPO = Path(__file__).resolve().parents[2]


def tiny_networks(latent_dim: int = 16) -> tuple[BigGANGenerator, BigBiGANEncoder, BigBiGANDiscriminator]:
    return (
        BigGANGenerator(latent_dim=latent_dim, num_classes=0, channels=1, width=4),
        BigBiGANEncoder(channels=1, latent_dim=latent_dim, width=4, hidden_dim=16),
        BigBiGANDiscriminator(channels=1, latent_dim=latent_dim, width=4, hidden_dim=16),
    )


def _grads(module: torch.nn.Module) -> list[torch.Tensor | None]:
    return [None if p.grad is None else p.grad.clone() for p in module.parameters()]


def _changed(before: list, after: list) -> bool:
    return any((a is None) != (b is None) or (a is not None and not torch.equal(a, b)) for a, b in zip(before, after, strict=True))


class PhaseProbe(BigBiGAN):
    """Records which networks received new gradients in every phase."""

    def optimization_step(self, optimizer, loss, phase, *, step=True):
        nets = {"G": self.generator, "E": self.encoder, "D": self.discriminator}
        before = {k: _grads(v) for k, v in nets.items()}
        super().optimization_step(optimizer, loss, phase, step=step)
        self.phases.append((phase, {k for k, v in nets.items() if _changed(before[k], _grads(v))}))


def test_losses_against_hand_computed_values():
    # columns s_x, s_z, s_xz; y = +1 for (x, E(x)), y = -1 for (G(z), z); h(t) = max(0, 1 - t)
    real = torch.tensor([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0]])
    fake = torch.tensor([[-2.0, 0.5, 1.0], [3.0, -1.0, 0.0]])
    d = bigbigan_discriminator_loss(real, fake)
    # row 0: h(2)+h(.5)+h(-1) = 0+.5+2 ; h(2)+h(-.5)+h(-1) = 0+1.5+2  -> 6.0
    # row 1: 1+1+1 ; h(-3)+h(1)+h(0) = 4+0+1 -> 8.0
    torch.testing.assert_close(d, torch.tensor([6.0, 8.0]))
    eg = bigbigan_encoder_generator_loss(real, fake)
    # y * (s_x + s_z + s_xz): row 0: 1.5 - (-0.5) = 2.0 ; row 1: 0 - 2 = -2
    torch.testing.assert_close(eg, torch.tensor([2.0, -2.0]))
    with pytest.raises(ValueError, match=r"\(B, 3\) score tensors"):
        bigbigan_discriminator_loss(real[:, :2], fake[:, :2])


def test_e_and_g_step_together_d_alone(tmp_path):
    pl.seed_everything(0)
    model = PhaseProbe(*tiny_networks(), d_steps_per_g_step=2, ema_decay=0.9)
    model.phases = []
    before = {n: state_vector(getattr(model, n)) for n in model.network_names}
    trainer(tmp_path, max_epochs=1, limit_val_batches=0).fit(model, image_loader(n=64, size=32, channels=1))
    d_phase, eg_phase = ("discriminator", {"D"}), ("encoder_generator", {"G", "E"})
    assert model.phases == [d_phase, d_phase, eg_phase] * 2
    assert all(not torch.equal(before[n], state_vector(getattr(model, n))) for n in model.network_names)
    opt_eg, _ = model.trainer.optimizers
    assert [g["lr"] for g in opt_eg.param_groups] == [model.hparams.lr_g, model.hparams.lr_e]


def test_encode_reconstruct_sample_and_validation(tmp_path):
    torch.manual_seed(0)
    model = BigBiGAN(*tiny_networks())
    x = torch.rand(5, 1, 32, 32) * 2 - 1
    codes = model.encode(x, batch_size=2)
    torch.testing.assert_close(codes, model.encode(x))  # the posterior mean: deterministic
    recon = model.reconstruct(x)
    assert recon.shape == x.shape and recon.abs().max() <= 1
    torch.testing.assert_close(recon, model.generate(codes))  # G(E(x))
    assert model.sample(3, seed=1).shape == (3, 1, 32, 32)
    torch.testing.assert_close(model.sample(3, seed=1, truncation=0.5), model.sample(3, seed=1, truncation=0.5))
    with pytest.raises(ValueError, match="unconditional"):
        model.sample(2, labels=1)
    trainer(tmp_path, max_epochs=1, limit_train_batches=1, limit_val_batches=1).fit(
        model, image_loader(n=32, size=32), image_loader(n=32, size=32)
    )
    assert {"val/recon_mse", "val/score_real", "val/score_fake"} <= set(model.trainer.callback_metrics)


def test_construction_errors():
    g, e, d = tiny_networks()
    with pytest.raises(ValueError, match="share latent_dim"):
        BigBiGAN(g, BigBiGANEncoder(channels=1, latent_dim=8, width=4), d)
    with pytest.raises(ValueError, match="num_classes=0"):
        BigBiGAN(BigGANGenerator(latent_dim=16, num_classes=10, channels=1, width=4), e, d)
    with pytest.raises(ValueError, match="posterior"):
        BigBiGAN(g, torch.nn.Linear(2, 2), d)


@pytest.mark.shared_data
def test_cli_fit_on_real_mnist_then_sample_and_reconstruct_from_the_checkpoint(mnist_root, tmp_path, capsys):
    config = str(REPO / "configs" / "bigbigan_mnist.yaml")
    common = ["--config", config, "--data.root", str(mnist_root), "--data.batch_size", "16"]
    main(["fit", *common, "--trainer.fast_dev_run=true", f"--trainer.default_root_dir={tmp_path / 'dev'}"])
    main(["fit", *common, "--data.limit=64", "--trainer.max_epochs=1", "--trainer.limit_val_batches=2",
          "--trainer.logger=false", f"--trainer.default_root_dir={tmp_path / 'run'}"])  # fmt: skip
    (ckpt,) = glob.glob(str(tmp_path / "run" / "**" / "last.ckpt"), recursive=True)
    model = load_model(ckpt)
    assert isinstance(model, BigBiGAN) and isinstance(model.encoder, BigBiGANEncoder)
    assert main(["sample", "--ckpt", ckpt, "--num", "4", "--truncation", "1.0", "--out", str(tmp_path / "s.png")]) == 0
    out = tmp_path / "recon.png"
    assert main(["reconstruct", "--ckpt", ckpt, "--data", f"mnist:{mnist_root}", "--num", "8", "--out", str(out)]) == 0
    assert out.is_file() and "originals and reconstructions" in capsys.readouterr().out
