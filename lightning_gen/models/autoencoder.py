"""Deterministic autoencoder (Hinton & Salakhutdinov, 2006) with MLP or DCGAN-style conv networks."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lightning_gen.losses import ReconstructionLoss, reconstruction_loss
from lightning_gen.models.base import GenerativeModule
from lightning_gen.utils.validation import check_choice

__all__ = ["AutoEncoder"]


class AutoEncoder(GenerativeModule):
    """Autoencoder x -> encoder -> code -> decoder -> x_hat, trained on a reconstruction loss.

    The course compares an MLP pair (:class:`~lightning_gen.nn.MLPEncoder` / :class:`~lightning_gen.nn.MLPGenerator`)
    with a DCGAN-style convolutional pair (:class:`~lightning_gen.nn.DCGANEncoder` /
    :class:`~lightning_gen.nn.DCGANGenerator`). A plain autoencoder has no prior over codes, so
    :meth:`sample` decodes codes drawn from a Gaussian fitted (running mean and covariance) to the training
    codes: it shows why a plain AE is a poor generator, which motivates VAEs and GANs.
    """

    network_names = ("encoder", "decoder")
    sampling_network = "decoder"

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        loss: ReconstructionLoss = "mse",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        code_momentum: float = 0.01,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        check_choice("loss", loss, ReconstructionLoss)
        latent = getattr(encoder, "latent_dim", None)
        if latent is None or getattr(decoder, "latent_dim", latent) != latent:
            raise ValueError(
                "encoder.latent_dim and decoder.latent_dim must exist and agree "
                f"(got {latent} and {getattr(decoder, 'latent_dim', None)})."
            )
        self.save_init_hyperparameters(AutoEncoder.__init__, locals())
        self.encoder = encoder
        self.decoder = decoder
        self.register_buffer("code_mean", torch.zeros(latent))
        self.register_buffer("code_cov", torch.eye(latent))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)

    @staticmethod
    def _images(batch: Any) -> torch.Tensor:
        return batch[0] if isinstance(batch, list | tuple) else batch

    def training_step(self, batch: Any, batch_idx: int) -> None:
        x = self._images(batch)
        opt = self.optimizers()
        code = self.encoder(x)
        loss = reconstruction_loss(self.decoder(code), x, self.hparams.loss).mean()
        self.optimization_step(opt, loss, "autoencoder")
        self._track_codes(code.detach().float())
        if self.is_logging_step():
            self.log("train/recon_loss", loss.detach(), prog_bar=True)

    @torch.no_grad()
    def _track_codes(self, code: torch.Tensor) -> None:
        m = self.hparams.code_momentum
        self.code_mean.lerp_(code.mean(0), m)
        if code.shape[0] > 1:
            self.code_cov.lerp_(torch.cov(code.T).reshape_as(self.code_cov), m)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x = self._images(batch)
        loss = reconstruction_loss(self(x), x, self.hparams.loss).mean()
        self.log("val/recon_loss", loss, prog_bar=True, sync_dist=True)

    def test_step(self, batch: Any, batch_idx: int) -> None:
        x = self._images(batch)
        self.log("test/recon_loss", reconstruction_loss(self(x), x, self.hparams.loss).mean(), sync_dist=True)

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        """Reconstructions of the batch's images."""
        return self(self._images(batch))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstructions of a [-1, 1] batch, in eval mode."""
        with self.eval_mode(self):
            return self(x.to(self.device)).float()

    @torch.no_grad()
    def sample(
        self, num: int, *, labels: Any = None, seed: int | None = None, use_ema: bool = True, batch_size: int = 256
    ) -> torch.Tensor:
        """Decode ``num`` codes drawn from the Gaussian fitted to the training codes (``use_ema`` is
        accepted for a uniform sampling API; an autoencoder keeps no EMA)."""
        if num < 1:
            raise ValueError(f"Number of samples must be >= 1, got {num}.")
        if labels is not None:
            raise ValueError("AutoEncoder is unconditional; do not pass labels.")
        rng = self.random_generator(seed)
        cov = self.code_cov + 1e-5 * torch.eye(self.code_cov.shape[0], device=self.device)
        chol = torch.linalg.cholesky(cov)
        eps = torch.randn(num, cov.shape[0], device=self.device, generator=rng)
        codes = self.code_mean + eps @ chol.T
        with self.eval_mode(self.decoder):
            return torch.cat([self.decoder(c) for c in codes.split(batch_size)]).float()

    def validation_samples(self) -> torch.Tensor:
        return self.sample(64, seed=0)
