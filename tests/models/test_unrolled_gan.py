"""UnrolledGAN (Metz et al., 2017): k=0 is the plain GAN, gradients flow through the unrolled updates,
the lookahead never touches the real discriminator, CLI fit + sampling from the checkpoint alone."""

from __future__ import annotations

import copy
import glob
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from lightning_gen.cli import main
from lightning_gen.data import ToyDataModule
from lightning_gen.models import GAN, UnrolledGAN
from lightning_gen.nn import MaxoutDiscriminator, MLPGenerator
from lightning_gen.sampling import load_model
from tests.helpers import image_loader, state_vector, tiny_dcgan, trainer

REPO = Path(__file__).resolve().parents[2]


def _toy_nets(seed: int = 0):
    torch.manual_seed(seed)
    g = MLPGenerator(latent_dim=2, output_shape=(2,), hidden_dims=(16, 16), batch_norm=True, output_activation="none")
    d = MaxoutDiscriminator(input_dim=2, hidden_dims=(8, 8), pieces=3)
    return g, d


def _fit(model, tmp_path, steps=3):
    pl.seed_everything(0, verbose=False)
    data = ToyDataModule("ring", num_samples=400, val_samples=10, batch_size=20)
    trainer(tmp_path, max_steps=2 * steps, limit_val_batches=0, enable_checkpointing=False).fit(model, data)
    return model


def test_unroll_zero_equals_plain_gan_exactly(tmp_path):
    g, d = _toy_nets()
    gan = _fit(GAN(copy.deepcopy(g), copy.deepcopy(d), lr_g=1e-3, lr_d=1e-3), tmp_path / "gan")
    unrolled = _fit(UnrolledGAN(copy.deepcopy(g), copy.deepcopy(d), unroll_steps=0, lr_g=1e-3, lr_d=1e-3), tmp_path / "k0")
    assert torch.equal(state_vector(gan), state_vector(unrolled))
    lookahead = _fit(UnrolledGAN(copy.deepcopy(g), copy.deepcopy(d), unroll_steps=2, lr_g=1e-3, lr_d=1e-3), tmp_path / "k2")
    # same discriminator steps on the first batch, different generator updates once the lookahead is on
    assert not torch.equal(state_vector(gan.generator), state_vector(lookahead.generator))


def test_generator_gradient_flows_through_the_unrolled_updates():
    """autograd of f_K(theta_G) matches central finite differences (float64, SGD unrolling, K = 2)."""
    g, d = _toy_nets(1)
    model = UnrolledGAN(g, d, unroll_steps=2, unroll_optimizer="sgd", lr_d=0.5, loss="non_saturating").double()
    model.generator.eval()  # fixed BN statistics: a smooth function of the weights for the difference quotient
    gen = torch.Generator().manual_seed(0)
    z, real = torch.randn(12, 2, generator=gen, dtype=torch.float64), torch.randn(12, 2, generator=gen, dtype=torch.float64)
    weight = model.generator.head.weight

    def objective() -> torch.Tensor:
        return model.generator_objective(real, model.generator(z), None)

    (grad,) = torch.autograd.grad(objective(), weight)
    # the same objective with the unrolled updates cut off from G (fake detached inside the lookahead)
    # gives a different gradient: the second-order term is really there
    params, buffers = model.unrolled_discriminator(real, model.generator(z).detach(), None)
    frozen = {k: v.detach() for k, v in params.items()}
    (first_order,) = torch.autograd.grad(
        torch.nn.functional.softplus(-model._functional_discriminate(frozen, buffers, model.generator(z), None)).mean(), weight
    )
    assert not torch.allclose(grad, first_order, rtol=1e-3)
    eps = 1e-6
    for index in [(0, 0), (1, 5), (0, 15)]:
        with torch.no_grad():
            weight[index] += eps
        up = objective().item()
        with torch.no_grad():
            weight[index] -= 2 * eps
        down = objective().item()
        with torch.no_grad():
            weight[index] += eps
        assert grad[index].item() == pytest.approx((up - down) / (2 * eps), rel=1e-4, abs=1e-9)


def test_lookahead_leaves_the_real_discriminator_and_its_batchnorm_statistics_alone(tmp_path):
    g, d = tiny_dcgan(size=16)
    model = UnrolledGAN(g, d, unroll_steps=3)
    trainer(tmp_path, max_steps=2, limit_val_batches=0, enable_checkpointing=False).fit(model, image_loader(n=32, size=16))
    opt_d = model.optimizers()[1].optimizer
    assert all(float(s["step"]) == 1 for s in opt_d.state.values())  # one real D step; the 3 unrolled ones are functional
    model.zero_grad(set_to_none=True)
    before = copy.deepcopy(model.discriminator.state_dict())
    real = torch.rand(8, 1, 16, 16) * 2 - 1
    fake = model.generator(torch.randn(8, 8))
    model.generator_objective(real, fake, None).backward()
    after = model.discriminator.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and running stats untouched
    assert all(p.grad is None for p in model.discriminator.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.generator.parameters())


def test_options_are_checked():
    g, d = _toy_nets()
    with pytest.raises(ValueError, match="unroll_steps must be >= 0"):
        UnrolledGAN(g, d, unroll_steps=-1)
    with pytest.raises(ValueError, match="'adam', 'sgd'"):
        UnrolledGAN(g, d, unroll_optimizer="rmsprop")


def test_cli_fit_with_config_and_sample_from_the_checkpoint_alone(tmp_path):
    config = str(REPO / "configs" / "unrolled_gan_toy.yaml")
    small = ["--data.num_samples", "2000", "--data.val_samples", "100", "--model.unroll_steps", "2"]
    assert main(["fit", "--config", config, *small, "--trainer.fast_dev_run=true", f"--trainer.default_root_dir={tmp_path / 'dev'}"]) == 0
    main(["fit", "--config", config, *small, "--trainer.max_steps=6", "--trainer.limit_val_batches=0", "--trainer.logger=false",
          f"--trainer.default_root_dir={tmp_path / 'run'}"])  # fmt: skip
    (ckpt,) = glob.glob(str(tmp_path / "run" / "**" / "last.ckpt"), recursive=True)
    model = load_model(ckpt)
    assert isinstance(model, UnrolledGAN) and model.hparams.unroll_steps == 2 and model.hparams.unroll_optimizer == "adam"
    points = model.sample(100, seed=0)
    assert points.shape == (100, 2) and torch.equal(points, model.sample(100, seed=0))
