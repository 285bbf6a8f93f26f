"""Seeded sampling of every family on CUDA: same seed, same images; another seed, other images; everything on
the GPU (issue 12, defect 4 and the GPU suite). Tiny untrained networks: the contract is about the random
streams and devices, not about image quality."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from lightning_gen.models import GAN, AutoEncoder, BigBiGAN, ColorizationDDPM, ConditionalGAN, UnrolledGAN
from lightning_gen.nn import DCGANEncoder, DCGANGenerator, MaxoutDiscriminator, MLPGenerator
from tests.helpers import tiny_dcgan
from tests.models.cycle_helpers import tiny_cogan, tiny_cyclegan
from tests.models.diffusion_helpers import tiny_ddpm, tiny_sr, tiny_unet
from tests.models.test_bigbigan import tiny_networks as tiny_bigbigan_networks
from tests.models.test_biggan import tiny_biggan


def _images(num: int, channels: int, size: int) -> torch.Tensor:
    """Fixed condition images in [-1, 1] (the same on every call)."""
    return torch.rand(num, channels, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1


def _unrolled() -> UnrolledGAN:
    g = MLPGenerator(latent_dim=2, output_shape=(2,), hidden_dims=(16, 16), batch_norm=True, output_activation="none")
    return UnrolledGAN(g, MaxoutDiscriminator(input_dim=2, hidden_dims=(8, 8), pieces=3), unroll_steps=2)


def _autoencoder() -> AutoEncoder:
    return AutoEncoder(DCGANEncoder(channels=1, image_size=16, latent_dim=8, base_width=8),
                       DCGANGenerator(latent_dim=8, channels=1, image_size=16, base_width=8))  # fmt: skip


#: family -> (model builder, seeded draw(model, seed))
FAMILIES: dict[str, tuple[Callable, Callable]] = {
    "gan": (lambda: GAN(*tiny_dcgan()), lambda m, s: m.sample(6, seed=s)),
    "gan_truncated": (lambda: GAN(*tiny_dcgan()), lambda m, s: m.sample(6, seed=s, truncation=0.5)),
    "cgan": (lambda: ConditionalGAN(*tiny_dcgan(num_classes=10), num_classes=10), lambda m, s: m.sample(6, seed=s)),
    "unrolled": (_unrolled, lambda m, s: m.sample(6, seed=s)),
    "biggan": (tiny_biggan, lambda m, s: m.sample(6, seed=s, truncation=0.5)),
    "bigbigan": (lambda: BigBiGAN(*tiny_bigbigan_networks()), lambda m, s: m.sample(6, seed=s)),
    "cogan": (tiny_cogan, lambda m, s: m.sample(4, seed=s)),
    "autoencoder": (_autoencoder, lambda m, s: m.sample(6, seed=s)),
    "ddpm_ddpm": (lambda: tiny_ddpm(), lambda m, s: m.sample(4, seed=s, sampler="ddpm", steps=5, progress=False)),
    "ddpm_ddim_eta1": (
        lambda: tiny_ddpm(), lambda m, s: m.sample(4, seed=s, sampler="ddim", steps=5, eta=1.0, progress=False)
    ),
    "ddpm_dpmpp": (lambda: tiny_ddpm(), lambda m, s: m.sample(4, seed=s, sampler="dpmpp", steps=5, progress=False)),
    "ddpm_guided": (
        lambda: tiny_ddpm(num_classes=10, label_dropout=0.1),
        lambda m, s: m.sample(4, seed=s, steps=3, guidance_scale=2.0, progress=False),
    ),
    "sr": (  # the augmentation noise of the condition is seeded too: it used to raise here (defect 4)
        lambda: tiny_sr(size=8, low=4),
        lambda m, s: m.upsample(_images(3, 1, 4), seed=s, steps=3, progress=False),
    ),
    "colorization": (
        lambda: ColorizationDDPM(tiny_unet(16, channels=3, cond_channels=1, attention_resolutions=[8])),
        lambda m, s: m.colorize(_images(2, 1, 16), seed=s, steps=3, progress=False),
    ),
    "inpainting": (
        lambda: tiny_ddpm(),
        lambda m, s: m.inpaint(torch.zeros(2, 1, 8, 8), torch.ones(1, 1, 8, 8).tril(), seed=s, steps=4, jumps=2,
                               resample=2, progress=False),  # fmt: skip
    ),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_same_seed_same_samples_on_cuda(family, cuda):
    torch.manual_seed(0)
    build, draw = FAMILIES[family]
    model = build().to(cuda).eval()
    a, b, c = draw(model, 3), draw(model, 3), draw(model, 4)
    assert a.device.type == "cuda" and torch.isfinite(a).all()
    # cuDNN may pick kernels that sum in another order between calls: equal up to float rounding, while
    # another random stream changes the samples by a share of their own scale (untrained nets: small outputs)
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6, msg=f"{family}: the same seed gave other samples on CUDA")
    assert (a - c).abs().max() > 1e-2 * a.abs().max(), f"{family}: seeds 3 and 4 gave the same samples"


def test_cyclegan_translation_is_deterministic_on_cuda(cuda):
    torch.manual_seed(0)
    model = tiny_cyclegan().to(cuda).eval()
    images = torch.rand(3, 1, 16, 16) * 2 - 1
    out = model.translate(images, "a2b")
    assert out.device.type == "cuda" and out.shape == images.shape
    torch.testing.assert_close(out, model.translate(images, "a2b"), rtol=0, atol=1e-5)
