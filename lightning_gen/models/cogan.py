"""CoGAN: coupled generative adversarial networks (Liu & Tuzel, 2016)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lightning_gen.losses import AdversarialLoss, discriminator_loss, generator_loss
from lightning_gen.models.base import GenerativeModule
from lightning_gen.nn.ema import EMA
from lightning_gen.utils.validation import check_choice

__all__ = ["CoGAN"]


class CoGAN(GenerativeModule):
    """Coupled GAN, Liu & Tuzel (2016), Algorithm 1: learn the joint distribution of two domains from
    samples of each marginal, with no pairs.

    Per batch (one image of each domain per item, drawn independently): the coupled discriminator ascends
    the sum of the two GANs' objectives on real and generated images, then the coupled generator descends
    the sum of the two generator losses for one shared ``z``. The coupling lives in the networks
    (:class:`~lightning_gen.nn.cogan.CoupledGenerator` shares its first layers,
    :class:`~lightning_gen.nn.cogan.CoupledDiscriminator` its last layers), so the shared layers receive the
    gradients of both domains.

    Sampling: :meth:`sample_pairs` returns the two domains' images; :meth:`sample` (what ``lightning-gen
    sample`` writes) returns each pair side by side, ``(num, C, S, 2 S)`` with domain A on the left
    (a 1-channel domain is repeated to 3 channels when the other has 3).

    Args:
        generator: ``z (B, latent_dim) -> (image_a, image_b)``; must expose ``latent_dim``.
        discriminator: ``(image_a, image_b) -> (logits_a, logits_b)``.
        loss: adversarial loss (the paper: the original GAN objective, ``non_saturating`` for G).
        lr_g, lr_d, betas_g, betas_d: Adam settings (the paper: 2e-4, (0.5, 0.999)).
        ema_decay: keep an EMA of the generator for sampling (None: off, as in the paper).
        num_val_samples: size of the fixed noise batch for validation image grids.
        val_seed: seed of that noise.
        training: :class:`~lightning_gen.models.base.GenerativeModule`'s options (clipping, accumulation).
    """

    network_names = ("generator", "discriminator")
    sampling_network = "generator"

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        loss: AdversarialLoss = "non_saturating",
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        betas_g: tuple[float, float] = (0.5, 0.999),
        betas_d: tuple[float, float] = (0.5, 0.999),
        ema_decay: float | None = None,
        num_val_samples: int = 32,
        val_seed: int = 0,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        check_choice("loss", loss, AdversarialLoss)
        if not hasattr(generator, "latent_dim"):
            raise ValueError(
                "The generator must expose `latent_dim` (the size of z), e.g. a CoupledGenerator."
            )
        self.save_init_hyperparameters(CoGAN.__init__, locals())
        self.generator = generator
        self.discriminator = discriminator
        self.ema = EMA(generator, ema_decay) if ema_decay is not None else None
        gen = torch.Generator().manual_seed(val_seed)
        self.register_buffer("fixed_noise", torch.randn(num_val_samples, generator.latent_dim, generator=gen))

    def configure_optimizers(self):
        hp = self.hparams
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=hp.lr_g, betas=tuple(hp.betas_g))
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=hp.lr_d, betas=tuple(hp.betas_d))
        return [opt_g, opt_d]

    @staticmethod
    def split_batch(batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(batch, dict) or not {"a", "b"} <= set(batch):
            raise ValueError(
                "CoGAN trains on two domains: batches must be dicts {'a': images, 'b': images} (e.g. from "
                "MNISTDomainsDataModule or UnpairedImageDataModule)."
            )
        return batch["a"], batch["b"]

    def training_step(self, batch: Any, batch_idx: int) -> None:
        loss = self.hparams.loss
        real_a, real_b = self.split_batch(batch)
        opt_g, opt_d = self.optimizers()
        z = self.draw_normal((real_a.shape[0], self.generator.latent_dim), real_a.dtype)  # per batch and rank
        fake_a, fake_b = self.generator(z)  # one z -> a pair

        # Discriminators: ascend the two GANs' objectives (real images of each domain vs generated ones)
        with self.toggled(opt_d):
            real_logits = self.discriminator(real_a, real_b)
            fake_logits = self.discriminator(fake_a.detach(), fake_b.detach())
            d_loss = sum(
                sum(part.mean() for part in discriminator_loss(real, fake, loss))
                for real, fake in zip(real_logits, fake_logits, strict=True)
            )
            self.optimization_step(opt_d, d_loss, "discriminator")

        # Generators: descend the sum of the two generator losses for the same z
        with self.toggled(opt_g):
            logits_a, logits_b = self.discriminator(fake_a, fake_b)
            g_loss = generator_loss(logits_a, loss).mean() + generator_loss(logits_b, loss).mean()
            self.optimization_step(opt_g, g_loss, "generator")
        self.update_ema()
        self.log_dict({"train/d_loss": d_loss.detach(), "train/g_loss": g_loss.detach()}, prog_bar=True)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._score_step(batch, batch_idx, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._score_step(batch, batch_idx, "test")

    def evaluation_latents(self, n: int, batch_idx: int, dtype: torch.dtype | None = None) -> torch.Tensor:
        """z for evaluation batch ``batch_idx``, seeded by (val_seed, batch, rank): reproducible scores."""
        rng = self.seeded_generator(self.hparams.val_seed, batch_idx, self.global_rank)
        return torch.randn(n, self.generator.latent_dim, generator=rng, device=self.device, dtype=dtype)

    def _score_step(self, batch: Any, batch_idx: int, prefix: str) -> None:
        """Mean D_A, D_B on held-out real images and on as many generated pairs (a health check)."""
        real_a, real_b = self.split_batch(batch)
        z = self.evaluation_latents(real_a.shape[0], batch_idx, real_a.dtype)
        real = self.discriminator(real_a, real_b)
        fake = self.discriminator(*self.generator(z))
        scores = {}
        for i, domain in enumerate("ab"):
            scores[f"{prefix}/d_real_{domain}"] = torch.sigmoid(real[i]).mean()
            scores[f"{prefix}/d_fake_{domain}"] = torch.sigmoid(fake[i]).mean()
        self.log_dict(scores, sync_dist=True)

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        """One generated pair per item of the batch, side by side (as :meth:`sample`)."""
        real_a, _ = self.split_batch(batch)
        return side_by_side(*self.generate_pairs(self.evaluation_latents(real_a.shape[0], batch_idx)))

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample_pairs(
        self, num: int, *, seed: int | None = None, use_ema: bool = True, batch_size: int = 256
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``num`` generated pairs ``(images_a, images_b)``, each (num, C, S, S) in [-1, 1]; pair i shares z."""
        if num < 1:
            raise ValueError(f"Number of samples must be >= 1, got {num}.")
        z = torch.randn(
            num, self.generator.latent_dim, device=self.device, generator=self.random_generator(seed)
        )
        return self.generate_pairs(z, use_ema=use_ema, batch_size=batch_size)

    def generate_pairs(
        self, z: torch.Tensor, *, use_ema: bool = True, batch_size: int = 256
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the (EMA) coupled generator on given noise, in eval mode, in batches."""
        network = self.sampler_network(use_ema)
        outs_a, outs_b = [], []
        with self.eval_mode(network):
            for start in range(0, z.shape[0], batch_size):
                a, b = network(z[start : start + batch_size])
                outs_a.append(a)
                outs_b.append(b)
        return torch.cat(outs_a).float(), torch.cat(outs_b).float()

    @torch.no_grad()
    def sample(
        self, num: int, *, seed: int | None = None, use_ema: bool = True, batch_size: int = 256
    ) -> torch.Tensor:
        """``num`` pairs side by side: (num, C, S, 2 S) in [-1, 1], domain A left, domain B right."""
        return side_by_side(*self.sample_pairs(num, seed=seed, use_ema=use_ema, batch_size=batch_size))

    def validation_samples(self) -> torch.Tensor:
        """Pairs from the fixed validation noise, side by side."""
        return side_by_side(*self.generate_pairs(self.fixed_noise))


def side_by_side(images_a: torch.Tensor, images_b: torch.Tensor) -> torch.Tensor:
    """Concatenate pairs along the width, (N, C, H, W) x 2 -> (N, C, H, 2 W); 1 channel is repeated to
    match 3."""
    channels = max(images_a.shape[1], images_b.shape[1])
    images_a, images_b = (
        x.expand(-1, channels, -1, -1) if x.shape[1] == 1 else x for x in (images_a, images_b)
    )
    return torch.cat([images_a, images_b], dim=-1)
