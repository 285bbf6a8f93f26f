"""One tiny model and data loader per model family, for the tests that must cover every family the same way
(resume equality, per-rank noise, DDP equivalence).

Networks are 4-8 channels wide on 16x16 images (32x32 where BigGAN's blocks need it), data are random tensors
made here, in a fixed order (``shuffle=False``), so a test's only randomness is the model's own.
``norm="none"`` builders exist for the DDP-equivalence tests: BatchNorm normalises with per-rank batch
statistics, so a 2-rank step on B + B samples cannot equal a 1-rank step on 2B samples with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.data import DataLoader

from lightning_gen.models import (
    GAN,
    AutoEncoder,
    BigBiGAN,
    BigGAN,
    ColorizationDDPM,
    ConditionalGAN,
    UnrolledGAN,
)
from lightning_gen.nn import (
    BigBiGANDiscriminator,
    BigBiGANEncoder,
    BigGANDiscriminator,
    BigGANGenerator,
    MLPDiscriminator,
    MLPEncoder,
    MLPGenerator,
)
from tests.helpers import image_loader, tiny_dcgan
from tests.models.cycle_helpers import pair_loader, tiny_cogan, tiny_cyclegan
from tests.models.diffusion_helpers import tiny_ddpm, tiny_sr, tiny_unet

__all__ = ["FAMILIES", "build_family", "mlp_gan"]


def mlp_gan(batch_norm: bool = False, **options: Any) -> GAN:
    """A 2-D GAN with MLPs (no BatchNorm by default), latent_dim 4."""
    return GAN(MLPGenerator(latent_dim=4, output_shape=(2,), hidden_dims=(8,), batch_norm=batch_norm,
                            output_activation="none"),
               MLPDiscriminator(input_shape=(2,), hidden_dims=(8,)), **options)


def points_loader(n: int = 32, batch_size: int = 8, seed: int = 0) -> DataLoader:
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(torch.randn(n, 2, generator=gen), batch_size=batch_size, shuffle=False, drop_last=True)


def _gan() -> tuple[Any, DataLoader]:
    return GAN(*tiny_dcgan(), real_label_range=(0.7, 0.9), ema_decay=0.9), image_loader(16, batch_size=8)


def _cgan() -> tuple[Any, DataLoader]:
    return ConditionalGAN(*tiny_dcgan(num_classes=10), samples_per_class=1), image_loader(16, batch_size=8)


def _unrolled() -> tuple[Any, DataLoader]:
    return UnrolledGAN(*tiny_dcgan(norm="none"), unroll_steps=2, real_label_range=(0.8, 1.0)), image_loader(16, batch_size=8)


def _pacgan() -> tuple[Any, DataLoader]:
    return GAN(*tiny_dcgan(pack=2)), image_loader(16, batch_size=8)


def _biggan() -> tuple[Any, DataLoader]:
    g = BigGANGenerator(latent_dim=16, num_classes=10, channels=1, width=4, shared_dim=8, attention_resolution=None)
    return BigGAN(g, BigGANDiscriminator(num_classes=10, channels=1, width=4), ema_decay=0.9,
                  samples_per_class=1), image_loader(16, size=32, batch_size=8)


def _bigbigan() -> tuple[Any, DataLoader]:
    model = BigBiGAN(
        BigGANGenerator(latent_dim=16, num_classes=0, channels=1, width=4, attention_resolution=None),
        BigBiGANEncoder(channels=1, latent_dim=16, width=4, hidden_dim=16),
        BigBiGANDiscriminator(channels=1, latent_dim=16, width=4, hidden_dim=16),
        d_steps_per_g_step=1, ema_decay=0.9, num_val_samples=4,
    )
    return model, image_loader(16, size=32, batch_size=8)


def _cogan() -> tuple[Any, DataLoader]:
    return tiny_cogan(num_val_samples=4), pair_loader(8, batch_size=4)


def _cyclegan() -> tuple[Any, DataLoader]:
    return tiny_cyclegan(pool_size=3, lr_decay_start=0.5), pair_loader(8, batch_size=4)


def _ae() -> tuple[Any, DataLoader]:
    model = AutoEncoder(MLPEncoder(input_shape=(1, 16, 16), hidden_dims=(16,), latent_dim=4),
                        MLPGenerator(latent_dim=4, output_shape=(1, 16, 16), hidden_dims=(16,)))
    return model, image_loader(16, batch_size=8)


def _ddpm() -> tuple[Any, DataLoader]:
    return tiny_ddpm(8, num_classes=10, label_dropout=0.2, warmup_steps=3), image_loader(16, size=8, batch_size=8)


def _cascade_sr() -> tuple[Any, DataLoader]:
    return tiny_sr(8, 4), image_loader(16, size=8, batch_size=8)


def _colorization() -> tuple[Any, DataLoader]:
    model = ColorizationDDPM(tiny_unet(8, channels=3, cond_channels=1), ema_decay=0.9, lr=1e-3, val_steps=2)
    return model, image_loader(16, size=8, channels=3, batch_size=8)


#: family name -> () -> (model, training loader)
FAMILIES: dict[str, Callable[[], tuple[Any, DataLoader]]] = {
    "gan": _gan,
    "cgan": _cgan,
    "unrolled": _unrolled,
    "pacgan": _pacgan,
    "biggan": _biggan,
    "bigbigan": _bigbigan,
    "cogan": _cogan,
    "cyclegan": _cyclegan,
    "ae": _ae,
    "ddpm": _ddpm,
    "cascade_sr": _cascade_sr,
    "colorization": _colorization,
}


def build_family(name: str) -> tuple[Any, DataLoader]:
    """The family's tiny model and loader, built after seeding (so two builds are identical)."""
    torch.manual_seed(0)
    return FAMILIES[name]()
