"""GAN (Goodfellow et al., 2014) with the DCGAN training recipe (Radford et al., 2016)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lightning_gen.losses import AdversarialLoss, discriminator_loss, generator_loss, random_real_targets
from lightning_gen.models.base import GenerativeModule
from lightning_gen.models.labels import sampling_labels
from lightning_gen.nn.ema import EMA
from lightning_gen.nn.standing_stats import standing_statistics
from lightning_gen.utils.validation import check_choice

__all__ = ["GAN"]


class GAN(GenerativeModule):
    """Generative Adversarial Network, Goodfellow et al. (2014), Algorithm 1.

    Per batch: ``d_steps_per_g_step`` batches of discriminator ascent on log D(x) + log(1 - D(G(z)))
    for each generator step. The generator loss is the original ``minimax`` log(1 - D(G(z))) (which
    saturates early in training) or the ``non_saturating`` -log D(G(z)) that the paper recommends; ``hinge``
    and ``lsgan`` are also accepted. ``real_label_range=(0.7, 0.9)`` turns on one-sided label smoothing with
    real targets drawn uniformly in that range (Salimans et al., 2016).

    Args:
        generator: maps ``(z, labels=None)`` to samples; must expose ``latent_dim``.
        discriminator: maps ``(x, labels=None)`` to one logit per sample (or per pack, PacGAN).
        loss: adversarial loss, see :mod:`lightning_gen.losses.adversarial`.
        real_label_range: ``(low, high)`` for one-sided label smoothing, None for hard targets of 1.
        d_steps_per_g_step: k of Algorithm 1: the generator steps once every k batches.
        lr_g, lr_d, betas_g, betas_d: Adam settings per network (DCGAN: 2e-4, (0.5, 0.999)).
        ema_decay: keep an exponential moving average of the generator for sampling (None: off).
        num_val_samples: size of the fixed noise batch used for validation image grids.
        val_seed: seed of that fixed noise (stored in the checkpoint).
        training: :class:`~lightning_gen.models.base.GenerativeModule`'s options (``gradient_clip_val``,
            ``gradient_clip_algorithm``, ``accumulate_grad_batches``).
    """

    network_names = ("generator", "discriminator")
    sampling_network = "generator"
    supports_accumulation = True  # see _accumulated_generator_phase

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        loss: AdversarialLoss = "non_saturating",
        real_label_range: tuple[float, float] | None = None,
        d_steps_per_g_step: int = 1,
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        betas_g: tuple[float, float] = (0.5, 0.999),
        betas_d: tuple[float, float] = (0.5, 0.999),
        ema_decay: float | None = None,
        num_val_samples: int = 64,
        val_seed: int = 0,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        check_choice("loss", loss, AdversarialLoss)
        if d_steps_per_g_step < 1:
            raise ValueError(f"d_steps_per_g_step must be >= 1, got {d_steps_per_g_step}.")
        if real_label_range is not None:
            random_real_targets(torch.zeros(1), *real_label_range)  # validates the range now
            if loss == "hinge":
                raise ValueError("real_label_range (label smoothing) does not apply to loss='hinge'.")
        if not hasattr(generator, "latent_dim"):
            raise ValueError("The generator must expose `latent_dim` (the size of z).")
        self.save_init_hyperparameters(GAN.__init__, locals())
        self.generator = generator
        self.discriminator = discriminator
        self.ema = EMA(generator, ema_decay) if ema_decay is not None else None
        self._g_window: list[tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]] = []  # accumulation
        gen = torch.Generator().manual_seed(val_seed)
        self.register_buffer("fixed_noise", torch.randn(num_val_samples, generator.latent_dim, generator=gen))

    # ------------------------------------------------------------------ conditioning hooks
    def split_batch(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(real samples, labels or None)``; an unconditional GAN ignores labels."""
        x = batch[0] if isinstance(batch, list | tuple) else batch
        return x, None

    def validation_labels(self) -> torch.Tensor | None:
        return None

    # ------------------------------------------------------------------ Lightning hooks
    def configure_optimizers(self):
        hp = self.hparams
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=hp.lr_g, betas=tuple(hp.betas_g))
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=hp.lr_d, betas=tuple(hp.betas_d))
        return [opt_g, opt_d]

    def training_step(self, batch: Any, batch_idx: int) -> None:
        hp = self.hparams
        real, labels = self.split_batch(batch)
        opt_g, opt_d = self.optimizers()
        g_turn = (self.step_index(batch_idx) + 1) % hp.d_steps_per_g_step == 0
        accumulating = self.accumulate_grad_batches > 1

        z = self.training_latents(real.shape[0], real.dtype)
        # keep G's graph only when G steps on this batch; accumulating, G's phase runs at the window's end
        with torch.set_grad_enabled(g_turn and not accumulating):
            fake = self.generator(z, labels) if labels is not None else self.generator(z)

        # Discriminator: maximise log D(x) + log(1 - D(G(z)))
        with self.toggled(opt_d):
            real_logits = self._discriminate(real, labels)
            fake_logits = self._discriminate(fake.detach(), labels)
            targets = self.real_targets(real_logits)
            loss_real, loss_fake = discriminator_loss(real_logits, fake_logits, hp.loss, targets)
            d_loss = loss_real.mean() + loss_fake.mean()
            self.optimization_step(opt_d, d_loss, "discriminator")

        # Generator: minimise log(1 - D(G(z))) (minimax) or -log D(G(z)) (non-saturating)
        g_loss = None
        if g_turn and accumulating:
            g_loss = self._accumulated_generator_phase(opt_g, real, labels, z)
        elif g_turn:
            with self.toggled(opt_g):
                g_loss = self.generator_objective(real, fake, labels) + self.generator_regularization()
                self.optimization_step(opt_g, g_loss, "generator")
            self.update_ema()

        if self.is_logging_step():
            metrics = {
                "train/d_loss": d_loss.detach(),
                "train/d_real": torch.sigmoid(real_logits.detach()).mean(),
                "train/d_fake": torch.sigmoid(fake_logits.detach()).mean(),
            }
            if g_loss is not None:
                metrics["train/g_loss"] = g_loss.detach()
            self.log_dict(metrics, prog_bar=True)

    def _accumulated_generator_phase(
        self, opt_g: Any, real: torch.Tensor, labels: torch.Tensor | None, z: torch.Tensor
    ) -> torch.Tensor | None:
        """G's phase under gradient accumulation: the window's batches are kept (real, labels, z; not the
        graphs) until its last one, where D has just taken its step on the whole window; then G's loss on each
        kept batch, against that D, is accumulated into one G step, as on the concatenated batch. Returns the
        mean generator loss of the window (None before its end)."""
        window = self._g_window
        window.append((real, labels, z))
        if not self.is_accumulation_boundary():
            return None
        self._g_window = []
        total = 0.0
        with self.toggled(opt_g):
            for i, (real_i, labels_i, z_i) in enumerate(window):
                fake_i = self.generator(z_i, labels_i) if labels_i is not None else self.generator(z_i)
                g_loss = self.generator_objective(real_i, fake_i, labels_i) + self.generator_regularization()
                self.optimization_step(opt_g, g_loss, "generator", step=i == len(window) - 1, window=len(window))
                total = total + g_loss.detach()
        self.update_ema()
        return total / len(window)

    def training_latents(self, n: int, dtype: torch.dtype | None = None) -> torch.Tensor:
        """z ~ N(0, I), (n, latent_dim), for this training batch: from the per-batch, per-rank
        :meth:`~lightning_gen.models.base.GenerativeModule.step_generator`, so DDP ranks draw different z."""
        return self.draw_normal((n, self.generator.latent_dim), dtype)

    def real_targets(self, real_logits: torch.Tensor) -> torch.Tensor | float:
        """The discriminator's targets for real samples: 1, or uniform in ``real_label_range`` (one-sided label
        smoothing) drawn from this batch's :meth:`~lightning_gen.models.base.GenerativeModule.step_generator`."""
        label_range = self.hparams.real_label_range
        if not label_range:
            return 1.0
        return random_real_targets(real_logits, *label_range, generator=self.step_generator())

    def generator_regularization(self) -> torch.Tensor | float:
        """Extra terms added to the generator's loss (none here; BigGAN adds orthogonal regularisation)."""
        return 0.0

    def generator_objective(self, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """The generator phase's adversarial loss on ``fake = G(z)`` (differentiable); UnrolledGAN overrides it."""
        return generator_loss(self._discriminate(fake, labels), self.hparams.loss).mean()

    def _discriminate(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.discriminator(x, labels) if labels is not None else self.discriminator(x)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._score_step(batch, batch_idx, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._score_step(batch, batch_idx, "test")

    def evaluation_latents(self, n: int, batch_idx: int, dtype: torch.dtype | None = None) -> torch.Tensor:
        """z for validation/test/predict batch ``batch_idx``: seeded by (val_seed, batch, rank), so a checkpoint
        scores the same every time and the global RNG (hence training) is not disturbed."""
        rng = self.seeded_generator(self.hparams.val_seed, batch_idx, self.global_rank)
        return torch.randn(n, self.generator.latent_dim, generator=rng, device=self.device, dtype=dtype)

    def _score_step(self, batch: Any, batch_idx: int, prefix: str) -> None:
        """Mean D(x) on held-out real data and D(G(z)) on as many fakes (a cheap health check, not a metric)."""
        real, labels = self.split_batch(batch)
        pack = getattr(self.discriminator, "pack", 1)
        n = real.shape[0] - real.shape[0] % pack
        if n == 0:
            return
        real, labels = real[:n], None if labels is None else labels[:n]
        z = self.evaluation_latents(n, batch_idx, real.dtype)
        fake = self.generator(z, labels) if labels is not None else self.generator(z)
        real_score = torch.sigmoid(self._discriminate(real, labels)).mean()
        fake_score = torch.sigmoid(self._discriminate(fake, labels)).mean()
        self.log_dict({f"{prefix}/d_real": real_score, f"{prefix}/d_fake": fake_score}, sync_dist=True)

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        """One generated sample per item of the batch (with the batch's labels for conditional models)."""
        real, labels = self.split_batch(batch)
        return self.generate(self.evaluation_latents(real.shape[0], batch_idx), labels)

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample(
        self,
        num: int,
        *,
        labels: torch.Tensor | int | None = None,
        seed: int | None = None,
        use_ema: bool = True,
        truncation: float | None = None,
        batch_size: int = 256,
        standing_stats: int = 0,
    ) -> torch.Tensor:
        """``num`` samples in [-1, 1], shape (num, C, H, W) (or (num, D) for vector data).

        Args:
            labels: class label(s) for conditional models (an int repeats one class).
            seed: makes the noise, hence the samples, reproducible.
            use_ema: sample from the EMA generator when the model keeps one.
            truncation: resample |z| entries above this threshold (truncation trick, Brock et al. 2019).
            standing_stats: first recompute the sampling generator's BatchNorm statistics over this many batches
                of ``batch_size`` noise vectors (standing statistics, Brock et al. 2019; labels cycle through the
                classes); its previous statistics are restored afterwards. 0: use the stored statistics.
        """
        if num < 1:
            raise ValueError(f"Number of samples must be >= 1, got {num}.")
        if standing_stats < 0:
            raise ValueError(f"standing_stats must be >= 0 (batches of noise), got {standing_stats}.")
        rng = self.random_generator(seed)
        z = torch.randn(num, self.generator.latent_dim, device=self.device, generator=rng)
        if truncation is not None:
            z = truncated_noise(z, truncation, rng)
        labels = self.sample_labels(num, labels)
        stats_rng = self.random_generator(None if seed is None else seed + 1)  # not the samples' z stream

        def standing_inputs(_: int) -> tuple[torch.Tensor, ...]:
            zs = torch.randn(batch_size, self.generator.latent_dim, device=self.device, generator=stats_rng)
            zs = zs if truncation is None else truncated_noise(zs, truncation, stats_rng)
            ys = self.sample_labels(batch_size, None)
            return (zs,) if ys is None else (zs, ys)

        with standing_statistics(self.sampler_network(use_ema), standing_inputs, standing_stats):
            return self.generate(z, labels, use_ema=use_ema, batch_size=batch_size)

    #: class-conditional models set it (ConditionalGAN); 0: unconditional
    num_classes: int = 0

    def sample_labels(self, num: int, labels: torch.Tensor | int | None) -> torch.Tensor | None:
        """The labels of ``num`` samples: :func:`~lightning_gen.models.labels.sampling_labels` (the package's
        one rule: given, repeated, or cycling through the classes; None when unconditional)."""
        return sampling_labels(num, labels, self.num_classes, self.device, type(self).__name__)

    def generate(
        self, z: torch.Tensor, labels: torch.Tensor | None = None, *, use_ema: bool = True, batch_size: int = 256
    ) -> torch.Tensor:
        """Run the (EMA) generator on given noise, in eval mode, in batches."""
        network = self.sampler_network(use_ema)
        outputs = []
        with self.eval_mode(network):
            for start in range(0, z.shape[0], batch_size):
                zb = z[start : start + batch_size]
                if labels is None:
                    outputs.append(network(zb))
                else:
                    outputs.append(network(zb, labels[start : start + batch_size]))
        return torch.cat(outputs).float()

    def validation_samples(self) -> torch.Tensor:
        """Samples from the fixed validation noise (what image-grid callbacks show)."""
        return self.generate(self.fixed_noise, self.validation_labels())


def truncated_noise(z: torch.Tensor, threshold: float, rng: torch.Generator | None = None) -> torch.Tensor:
    """Truncation trick (Brock et al., 2019): resample entries with |z| > threshold until none remain."""
    if threshold <= 0:
        raise ValueError(f"truncation must be > 0, got {threshold}.")
    z = z.clone()
    mask = z.abs() > threshold
    while mask.any():
        z[mask] = torch.randn(int(mask.sum()), device=z.device, generator=rng, dtype=z.dtype)
        mask = z.abs() > threshold
    return z
