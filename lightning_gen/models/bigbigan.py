"""BigBiGAN (Donahue & Simonyan, 2019)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lightning_gen.losses import (
    bigbigan_discriminator_loss,
    bigbigan_encoder_generator_loss,
    reconstruction_loss,
)
from lightning_gen.models.gan import GAN

__all__ = ["BigBiGAN"]


class BigBiGAN(GAN):
    """BigBiGAN, Donahue & Simonyan (2019): a generator G: z -> x and an encoder E: x -> z trained jointly
    against a discriminator D on (x, z) pairs, so that E learns to invert G and its codes represent x.

    Losses (paper, section 2), with the scores ``s_x``, ``s_z``, ``s_xz`` of
    :class:`~lightning_gen.nn.BigBiGANDiscriminator` and y = +1 for data pairs (x ~ P_x, z ~ E(x)), y = -1
    for generated pairs (z ~ N(0, I), x = G(z)):

    - D:  ``l_D = h(y s_x) + h(y s_z) + h(y s_xz)`` with the hinge h(t) = max(0, 1 - t): the hinge loss
      of :mod:`lightning_gen.losses.adversarial` on each of the three scores, summed;
    - E and G:  ``l_EG = y (s_x + s_z + s_xz)``: E lowers the summed score of data pairs, G raises that of
      generated pairs (the hinge generator loss -s on the generated side).

    E and G share **one** optimiser (two parameter groups, ``lr_e`` and ``lr_g``): ``l_EG`` is a single
    objective that the paper minimises jointly over (E, G), so one backward pass and one simultaneous step
    per phase is the algorithm, and a second optimiser would only add a second toggle. D takes
    ``d_steps_per_g_step`` steps per E/G step (default 2, as BigGAN; the CPU configs use 1). An EMA of G
    (``ema_decay``) is used by :meth:`sample` and :meth:`reconstruct` when kept. The losses are
    :func:`~lightning_gen.losses.bigbigan_discriminator_loss` and
    :func:`~lightning_gen.losses.bigbigan_encoder_generator_loss`.

    Args:
        generator: an unconditional generator exposing ``latent_dim`` (a BigGANGenerator with num_classes=0).
        encoder: image -> z; exposes ``latent_dim`` and ``posterior(x) -> (mu, sigma | None)``.
        discriminator: ``(x, z) -> (B, 3)`` scores.
        d_steps_per_g_step, betas_g, betas_d: :class:`~lightning_gen.models.GAN`'s, with BigGAN's defaults;
            ``betas_g`` is the E+G optimiser's.
        lr_e: the encoder's learning rate.
        options: the rest of :class:`~lightning_gen.models.GAN`'s (``lr_g``, ``lr_d``, ``ema_decay``,
            ``num_val_samples``, ``val_seed``, training options); not ``loss`` (the paper's hinge losses are
            BigBiGAN's own) nor ``real_label_range``.
    """

    network_names = ("generator", "encoder", "discriminator")
    fixed_options = ("loss", "real_label_range")
    supports_accumulation = False  # its own training_step: D and E+G phases batch by batch

    def __init__(
        self,
        generator: nn.Module,
        encoder: nn.Module,
        discriminator: nn.Module,
        d_steps_per_g_step: int = 2,
        lr_e: float = 2e-4,
        betas_g: tuple[float, float] = (0.0, 0.999),
        betas_d: tuple[float, float] = (0.0, 0.999),
        **options: Any,
    ) -> None:
        self.refuse_fixed_options(options)
        if getattr(generator, "num_classes", 0):
            raise ValueError("BigBiGAN is unconditional: build its generator with num_classes=0.")
        if not hasattr(encoder, "posterior"):
            raise ValueError(
                "The encoder must expose posterior(x) -> (mu, sigma | None) (see BigBiGANEncoder)."
            )
        dims = {
            name: getattr(net, "latent_dim", None)
            for name, net in (
                ("generator", generator),
                ("encoder", encoder),
                ("discriminator", discriminator),
            )
        }
        if len(set(dims.values())) != 1:
            raise ValueError(f"generator, encoder and discriminator must share latent_dim; got {dims}.")
        super().__init__(
            generator,
            discriminator,
            loss="hinge",
            real_label_range=None,
            d_steps_per_g_step=d_steps_per_g_step,
            betas_g=betas_g,
            betas_d=betas_d,
            **options,
        )
        self.encoder = encoder

    def configure_optimizers(self):
        hp = self.hparams
        opt_eg = torch.optim.Adam(
            [
                {"params": self.generator.parameters(), "lr": hp.lr_g},
                {"params": self.encoder.parameters(), "lr": hp.lr_e},
            ],
            betas=tuple(hp.betas_g),
        )
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=hp.lr_d, betas=tuple(hp.betas_d))
        return [opt_eg, opt_d]

    def training_step(self, batch: Any, batch_idx: int) -> None:
        real, _ = self.split_batch(batch)  # labels are never used
        opt_eg, opt_d = self.optimizers()
        eg_turn = (batch_idx + 1) % self.hparams.d_steps_per_g_step == 0

        z = self.training_latents(real.shape[0], real.dtype)  # per batch and rank (step_generator)
        with torch.set_grad_enabled(eg_turn):  # keep E's and G's graphs only when they step on this batch
            fake = self.generator(z)  # x_hat = G(z)
            z_hat = self.encoder(real, generator=self.step_generator())  # z_hat ~ E(x), same stream

        # D: sum over the scores s in (s_x, s_z, s_xz) of h(s(x, E(x))) + h(-s(G(z), z))
        with self.toggled(opt_d):
            real_scores = self.discriminator(real, z_hat.detach())  # (B, 3)
            fake_scores = self.discriminator(fake.detach(), z)
            d_loss = bigbigan_discriminator_loss(real_scores, fake_scores).mean()
            self.optimization_step(opt_d, d_loss, "discriminator")
        self.log_dict(
            {
                "train/d_loss": d_loss.detach(),
                "train/score_real": real_scores.detach().sum(1).mean(),
                "train/score_fake": fake_scores.detach().sum(1).mean(),
            },
            prog_bar=True,
        )

        # E and G: minimise (s_x + s_z + s_xz)(x, E(x)) - (s_x + s_z + s_xz)(G(z), z)
        if eg_turn:
            with self.toggled(opt_eg):
                real_scores = self.discriminator(real, z_hat)  # y = +1: E lowers their sum
                fake_scores = self.discriminator(fake, z)  # y = -1: G raises their sum
                eg_loss = bigbigan_encoder_generator_loss(real_scores, fake_scores).mean()
                self.optimization_step(opt_eg, eg_loss, "encoder_generator")
            self.update_ema()
            self.log("train/eg_loss", eg_loss.detach(), prog_bar=True)

    def _score_step(self, batch: Any, batch_idx: int, prefix: str) -> None:
        """Validation and test (``prefix`` "val" or "test"): the reconstruction error of G(E(x)) (posterior
        means) and the joint discriminator's summed score of data pairs (x, E(x)) and of generated pairs
        (G(z), z); GAN's version would call the (x, z) discriminator without z."""
        real, _ = self.split_batch(batch)
        z = self.evaluation_latents(real.shape[0], batch_idx, real.dtype)
        mu, _ = self.encoder.posterior(real)
        recon = self.generator(mu)
        self.log_dict(
            {
                f"{prefix}/recon_mse": reconstruction_loss(recon, real, "mse").mean(),
                f"{prefix}/score_real": self.discriminator(real, mu).sum(1).mean(),
                f"{prefix}/score_fake": self.discriminator(self.generator(z), z).sum(1).mean(),
            },
            sync_dist=True,
        )

    def predict_step(self, batch: Any, batch_idx: int) -> dict[str, torch.Tensor]:
        """Per item of the batch: its representation E(x) (the posterior mean, what BigBiGAN is for), its
        reconstruction G(E(x)) (EMA generator when kept) and a generated sample G(z)."""
        real, _ = self.split_batch(batch)
        codes = self.encode(real)
        return {
            "codes": codes,
            "reconstructions": self.generate(codes),
            "samples": self.generate(self.evaluation_latents(real.shape[0], batch_idx)),
        }

    # ------------------------------------------------------------------ representation and reconstruction
    @torch.no_grad()
    def encode(self, x: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
        """The representation E(x): the posterior mean mu(x), (N, latent_dim), in eval mode, in batches."""
        with self.eval_mode(self.encoder):
            codes = [self.encoder.posterior(xb.to(self.device))[0] for xb in x.split(batch_size)]
        return torch.cat(codes).float()

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, *, use_ema: bool = True, batch_size: int = 256) -> torch.Tensor:
        """G(E(x)) for a [-1, 1] batch: decode the posterior means with the (EMA) generator."""
        return self.generate(self.encode(x, batch_size=batch_size), use_ema=use_ema, batch_size=batch_size)
