"""BigGAN: hinge loss, gradient routing per phase, orthogonal regularisation in the G phase, truncation,
class-conditional sampling, and the CLI path (fit / fast_dev_run on real CIFAR-10, sample from the checkpoint)."""

from __future__ import annotations

import glob
import tarfile
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from lightning_gen.cli import main
from lightning_gen.data import write_cifar10_batches
from lightning_gen.losses import discriminator_loss, generator_loss, orthogonal_regularization
from lightning_gen.models import BigGAN, truncated_noise
from lightning_gen.nn import BigGANDiscriminator, BigGANGenerator
from lightning_gen.sampling import load_model
from tests.helpers import image_loader, state_vector, trainer

REPO = Path(__file__).resolve().parents[2]


def tiny_biggan(**kw) -> BigGAN:
    g = BigGANGenerator(latent_dim=16, num_classes=10, channels=3, width=4, shared_dim=8, attention_resolution=16)
    d = BigGANDiscriminator(num_classes=10, channels=3, width=4)
    return BigGAN(g, d, **{"ema_decay": 0.9, "samples_per_class": 2, **kw})


def _grads(module: torch.nn.Module) -> list[torch.Tensor | None]:
    return [None if p.grad is None else p.grad.clone() for p in module.parameters()]


def _changed(before: list, after: list) -> bool:
    return any((a is None) != (b is None) or (a is not None and not torch.equal(a, b)) for a, b in zip(before, after, strict=True))


class PhaseProbe(BigGAN):
    """Records which networks received new gradients in every phase."""

    def optimization_step(self, optimizer, loss, phase, *, step=True):
        nets = {"G": self.generator, "D": self.discriminator}
        before = {k: _grads(v) for k, v in nets.items()}
        super().optimization_step(optimizer, loss, phase, step=step)
        self.phases.append((phase, {k for k, v in nets.items() if _changed(before[k], _grads(v))}))


def test_hinge_loss_against_hand_computed_values():
    real = torch.tensor([2.0, 0.5, -3.0])
    fake = torch.tensor([-2.0, 0.5, 3.0])
    loss_real, loss_fake = discriminator_loss(real, fake, "hinge")
    torch.testing.assert_close(loss_real, torch.tensor([0.0, 0.5, 4.0]))  # max(0, 1 - D(x))
    torch.testing.assert_close(loss_fake, torch.tensor([0.0, 1.5, 4.0]))  # max(0, 1 + D(G(z)))
    torch.testing.assert_close(generator_loss(fake, "hinge"), torch.tensor([2.0, -0.5, -3.0]))  # -D(G(z))


def test_two_d_steps_per_g_step_and_gradients_reach_only_the_stepping_network(tmp_path):
    pl.seed_everything(0)
    g = BigGANGenerator(latent_dim=16, num_classes=10, channels=3, width=4, shared_dim=8)
    d = BigGANDiscriminator(num_classes=10, channels=3, width=4)
    model = PhaseProbe(g, d, ema_decay=0.9)
    model.phases = []
    g0, d0, ema0 = state_vector(g), state_vector(d), state_vector(model.ema)
    trainer(tmp_path, max_epochs=1, limit_val_batches=0).fit(model, image_loader(n=64, size=32, channels=3))
    assert model.phases == [("discriminator", {"D"}), ("discriminator", {"D"}), ("generator", {"G"})] * 2
    assert not torch.equal(g0, state_vector(g)) and not torch.equal(d0, state_vector(d))
    assert not torch.equal(ema0, state_vector(model.ema))
    assert all(p.requires_grad for p in model.parameters() if not any(p is q for q in model.ema.parameters()))


def test_orthogonal_regularisation_is_part_of_the_generator_loss():
    torch.manual_seed(0)
    model = tiny_biggan(ortho_beta=1e-2)
    weights = model.ortho_weights()
    shared = model.generator.shared.embedding.weight
    assert not any(w is shared for w in weights)  # BigGAN exempts the shared embedding
    raw_linear = model.generator.linear.parametrizations.weight.original
    assert any(w is raw_linear for w in weights)  # the raw weights under spectral norm are penalised
    assert len(weights) == sum(1 for p in model.generator.parameters() if p.dim() >= 2) - 1
    penalty = model.generator_regularization()
    torch.testing.assert_close(penalty, orthogonal_regularization(weights, 1e-2))
    penalty.backward()
    assert raw_linear.grad is not None and raw_linear.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.discriminator.parameters())
    assert tiny_biggan(ortho_beta=0.0).generator_regularization() == 0.0
    with pytest.raises(ValueError, match="ortho_beta must be >= 0"):
        tiny_biggan(ortho_beta=-1.0)


def test_truncated_sampling_is_bounded_and_reproducible():
    from scipy import stats

    # what sample(truncation=0.5) feeds G: resampled, not clipped to the bound (a clamp puts 62% of the
    # entries exactly on +-0.5 and gives variance ~0.17); the truncated normal's variance is 0.0806
    z = truncated_noise(torch.randn(500, 16, generator=torch.Generator().manual_seed(0)), 0.5)
    assert z.abs().max() <= 0.5 and int((z.abs() == 0.5).sum()) == 0
    assert float(z.var()) == pytest.approx(stats.truncnorm(-0.5, 0.5).var(), rel=0.05)
    assert stats.kstest(z.flatten().numpy(), stats.truncnorm(-0.5, 0.5).cdf).pvalue > 1e-3
    model = tiny_biggan().eval()
    # sample(truncation=t) is exactly G(truncated z) for the same seed
    rng = torch.Generator().manual_seed(7)
    z = truncated_noise(torch.randn(6, 16, generator=rng), 0.5, rng)
    labels = torch.arange(6) % 10
    torch.testing.assert_close(model.sample(6, seed=7, truncation=0.5), model.generate(z, labels))
    assert not torch.allclose(model.sample(6, seed=7, truncation=0.5), model.sample(6, seed=7))
    with pytest.raises(ValueError, match="truncation must be > 0"):
        model.sample(2, truncation=0.0)


def test_class_conditional_sampling_and_validation():
    model = tiny_biggan().eval()
    assert model.sample_labels(12, None).tolist() == [i % 10 for i in range(12)]
    assert model.sample_labels(3, 4).tolist() == [4, 4, 4]
    assert model.validation_samples().shape == (20, 3, 32, 32)  # samples_per_class rows per class
    with pytest.raises(ValueError, match=r"Labels must lie in \[0, 9\]"):
        model.sample(2, labels=10)
    with pytest.raises(ValueError, match="class-conditional.*num_classes > 0"):
        BigGAN(BigGANGenerator(num_classes=0, width=4), BigGANDiscriminator(width=4))
    with pytest.raises(ValueError, match="same num_classes"):
        BigGAN(BigGANGenerator(num_classes=5, width=4), BigGANDiscriminator(num_classes=5, width=4))
    with pytest.raises(ValueError, match="loss='wasserstein' is not supported"):
        tiny_biggan(loss="wasserstein")


@pytest.fixture(scope="module")
def cifar10_root(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Official-format CIFAR-10 batches built from real JPEGs of the (small) test tarball: images 0-7 of each
    class as the train split, 8-9 as the test split (the 16 MB train tarball would take longer to stream)."""
    jpeg = tmp_path_factory.mktemp("cifar_jpeg")
    with tarfile.open(shared_data / "cifar10" / "cifar10_test_jpg.tar.gz", "r|gz") as archive:
        for member in archive:
            index = int(Path(member.name).stem) if member.isfile() else 99
            if index < 10:
                member.name = member.name.replace("test/", "train/" if index < 8 else "test/", 1)
                archive.extract(member, jpeg, filter="data")
    root = tmp_path_factory.mktemp("cifar_batches")
    write_cifar10_batches(str(jpeg), str(root))
    return root


@pytest.mark.shared_data
def test_cli_fit_on_real_cifar10_then_sample_from_the_checkpoint_alone(cifar10_root, tmp_path, capsys):
    config = str(REPO / "configs" / "biggan_cifar10.yaml")
    common = ["--config", config, "--data.root", str(cifar10_root), "--data.batch_size", "16"]
    main(["fit", *common, "--trainer.fast_dev_run=true", f"--trainer.default_root_dir={tmp_path / 'dev'}"])
    # a real short run: one epoch of 80 images (5 batches), validation, image grid, checkpoint
    main(["fit", *common, "--trainer.max_epochs=1", "--trainer.limit_val_batches=2", "--trainer.logger=false",
          f"--trainer.default_root_dir={tmp_path / 'run'}"])  # fmt: skip
    (ckpt,) = glob.glob(str(tmp_path / "run" / "**" / "last.ckpt"), recursive=True)
    assert glob.glob(str(tmp_path / "run" / "**" / "samples_step*.png"), recursive=True)
    model = load_model(ckpt)
    assert isinstance(model, BigGAN) and model.ema is not None and model.hparams.ortho_beta == 1e-4
    out = tmp_path / "cats.png"
    assert main(["sample", "--ckpt", ckpt, "--num", "8", "--label", "3", "--truncation", "0.5", "--out", str(out)]) == 0
    assert out.is_file() and "Wrote 8 samples" in capsys.readouterr().out
    assert main(["sample", "--ckpt", ckpt, "--num", "4", "--label", "10", "--out", str(out)]) == 2


def test_gpu_config_builds_the_paper_sized_cifar_model(tmp_path):
    from lightning_gen.cli import LightningGenCLI

    cli = LightningGenCLI(
        args=["--config", str(REPO / "configs" / "biggan_cifar10_gpu.yaml"), "--data.root", str(tmp_path),
              "--trainer.accelerator=cpu", "--trainer.logger=false"],
        run=False,
    )  # fmt: skip
    model = cli.model
    assert isinstance(model, BigGAN) and model.hparams.ema_decay == 0.9999 and model.hparams.ortho_beta == 1e-4
    assert model.generator.blocks[0].conv1.out_channels == 256  # ch=64: 256 channels per block, as the paper's CIFAR G
    assert model.generator.chunk == 32 and model.discriminator.feature_dim == 256
    assert cli.datamodule.batch_size == 50
