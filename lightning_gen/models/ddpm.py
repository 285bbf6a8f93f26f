"""DDPM (Ho et al., 2020) with fast samplers and classifier-free guidance."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lightning_gen.diffusion import rng
from lightning_gen.diffusion.guidance import drop_labels, guided_output
from lightning_gen.diffusion.inpainting import make_repaint_scheduler, repaint
from lightning_gen.diffusion.objectives import (
    LossWeighting,
    PredictionType,
    loss_weights,
    to_epsilon,
    training_target,
)
from lightning_gen.diffusion.samplers import ModelFn, Sampler, make_scheduler, resolve_steps, run_sampler
from lightning_gen.diffusion.schedule import BetaSchedule, NoiseSchedule
from lightning_gen.losses import reconstruction_loss
from lightning_gen.models.base import GenerativeModule, mix_seed
from lightning_gen.models.labels import sampling_labels
from lightning_gen.nn.ema import EMA
from lightning_gen.utils.validation import check_choice

__all__ = ["DDPM"]


class DDPM(GenerativeModule):
    """Denoising Diffusion Probabilistic Model, Ho et al. (2020), Algorithm 1 (training) and 2 (sampling).

    Per batch, one noise-prediction step: draw t ~ U{0..T-1} and eps ~ N(0, I), form
    x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps in one step (q(x_t | x_0), Eq. 4), and regress the
    denoiser's output on the target of ``prediction_type`` (eps: L_simple, Eq. 14; v: Salimans & Ho 2022;
    x_0), optionally with Min-SNR-gamma weights (Hang et al., 2023). An EMA of the denoiser is kept for
    sampling (Ho et al.: decay 0.9999).

    When the denoiser has ``num_classes`` > 0 the model is class-conditional; ``label_dropout`` > 0 replaces
    labels by the null label at that rate, which trains the unconditional branch used by classifier-free
    guidance (Ho & Salimans, 2022) at sampling time (``guidance_scale``).

    The training noise and timesteps of batch k come from a generator on the model's device seeded with
    (``noise_seed``, k, rank) (:meth:`~lightning_gen.models.base.GenerativeModule.step_generator`): a resumed
    run draws exactly what an uninterrupted one would, and DDP ranks draw different noise.

    Args:
        denoiser: ``(x_t, t, cond=None, *, labels=None, cond_level=None) -> output`` exposing ``channels``,
            ``image_size`` and ``num_classes``; default :class:`~lightning_gen.nn.unet.UNetDenoiser`.
        schedule, num_timesteps, beta_start, beta_end: the forward process (:class:`NoiseSchedule`).
        prediction_type: ``"epsilon"``, ``"v_prediction"`` or ``"sample"``.
        loss_weighting: ``"uniform"`` or ``"min_snr"`` (gamma = ``min_snr_gamma``).
        label_dropout: classifier-free guidance's p_uncond (Ho & Salimans: 0.1 or 0.2).
        lr, betas, weight_decay, warmup_steps: AdamW with linear warm-up (Ho et al.: 2e-4, 5000 warm-up steps).
        ema_decay: EMA decay for sampling (None: off).
        ema_warmup: use min(ema_decay, (1 + n) / (10 + n)) at update n, so that short runs do not keep
            ema_decay**n of the random initialisation in the sampling weights.
        noise_seed: seed of the training noise (see above).
        val_sampler, val_steps, num_val_samples, val_seed: the validation image grid.
        training: :class:`~lightning_gen.models.base.GenerativeModule`'s options (``gradient_clip_val``,
            ``gradient_clip_algorithm``, ``accumulate_grad_batches``).
    """

    network_names = ("denoiser",)
    sampling_network = "denoiser"

    def __init__(
        self,
        denoiser: nn.Module,
        schedule: BetaSchedule = "linear",
        num_timesteps: int = 1000,
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
        prediction_type: PredictionType = "epsilon",
        loss_weighting: LossWeighting = "uniform",
        min_snr_gamma: float = 5.0,
        label_dropout: float = 0.0,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.9, 0.999),
        weight_decay: float = 0.0,
        warmup_steps: int = 0,
        ema_decay: float | None = 0.9999,
        ema_warmup: bool = True,
        noise_seed: int = 0,
        val_sampler: Sampler = "ddim",
        val_steps: int = 50,
        num_val_samples: int = 64,
        val_seed: int = 0,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        check_choice("prediction_type", prediction_type, PredictionType)
        check_choice("loss_weighting", loss_weighting, LossWeighting)
        check_choice("val_sampler", val_sampler, Sampler)
        for attr in ("channels", "image_size"):
            if not hasattr(denoiser, attr):
                raise ValueError(f"The denoiser must expose `{attr}` (UNetDenoiser does).")
        if not 0.0 <= label_dropout < 1.0:
            raise ValueError(f"label_dropout must be in [0, 1), got {label_dropout}.")
        if label_dropout and not getattr(denoiser, "num_classes", 0):
            raise ValueError("label_dropout needs a class-conditional denoiser (num_classes > 0).")
        if warmup_steps < 0 or num_val_samples < 1:
            raise ValueError(f"warmup_steps must be >= 0 and num_val_samples >= 1, got {warmup_steps}, {num_val_samples}.")
        self.save_init_hyperparameters(DDPM.__init__, locals())
        self.label_dropout = label_dropout
        self.num_val_samples = num_val_samples
        self.denoiser = denoiser
        self.noise_schedule = NoiseSchedule(schedule, num_timesteps, beta_start, beta_end)
        resolve_steps(val_sampler, val_steps, num_timesteps)  # fails now, not after the first epoch
        self.ema = EMA(denoiser, ema_decay, warmup=ema_warmup) if ema_decay is not None else None

    # ------------------------------------------------------------------ shapes and conditioning
    @property
    def num_classes(self) -> int:
        return int(getattr(self.denoiser, "num_classes", 0))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.denoiser.channels, self.denoiser.image_size, self.denoiser.image_size)

    def split_batch(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(x_0, labels or None)``; labels only for a class-conditional denoiser."""
        x = batch[0] if isinstance(batch, list | tuple) else batch
        if not self.num_classes:
            return x, None
        if not isinstance(batch, list | tuple) or len(batch) < 2:
            raise ValueError("A class-conditional DDPM needs (images, labels) batches; use a labelled datamodule.")
        return x, batch[1].long()

    def conditioning(
        self, x0: torch.Tensor, labels: torch.Tensor | None, generator: torch.Generator, training: bool
    ) -> dict[str, torch.Tensor]:
        """Keyword inputs of the denoiser besides (x_t, t) for a training batch (labels, with dropout)."""
        if labels is None:
            return {}
        p = self.label_dropout if training else 0.0
        return {"labels": drop_labels(labels, self.denoiser.null_label, p, generator)}

    # ------------------------------------------------------------------ training (Algorithm 1)
    def trainable_parameters(self) -> list[nn.Parameter]:
        """What the optimizer trains: the denoiser (subclasses add jointly trained networks)."""
        return list(self.denoiser.parameters())

    def configure_optimizers(self):
        hp = self.hparams
        opt = torch.optim.AdamW(self.trainable_parameters(), lr=hp.lr, betas=tuple(hp.betas), weight_decay=hp.weight_decay)
        warmup = max(1, hp.warmup_steps)
        scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / warmup))
        return {"optimizer": opt, "lr_scheduler": scheduler}

    def diffusion_loss(
        self, x0: torch.Tensor, labels: torch.Tensor | None, generator: torch.Generator, training: bool = True
    ) -> torch.Tensor:
        """The weighted regression loss of one batch (mean over the batch)."""
        hp = self.hparams
        t, noise = self.training_noise(x0, generator)
        x_t = self.noise_schedule.q_sample(x0, t, noise)
        inputs = self.conditioning(x0, labels, generator, training)
        prediction = self.denoiser(x_t, t, **inputs)
        target = training_target(x0, noise, t, self.noise_schedule, hp.prediction_type)
        weights = loss_weights(t, self.noise_schedule, hp.prediction_type, hp.loss_weighting, hp.min_snr_gamma)
        return (weights * reconstruction_loss(prediction, target, "mse")).mean()

    def training_noise(self, x0: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``(t, eps)`` of Algorithm 1 for the batch ``x0``: t ~ U{0..T-1} (B,) and eps ~ N(0, I) like x0,
        drawn on the generator's device (the model's, for :meth:`step_generator`: no CPU draw and copy)."""
        t = rng.randint(0, self.hparams.num_timesteps, (x0.shape[0],), generator=generator, device=x0.device)
        return t, rng.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)

    def training_step(self, batch: Any, batch_idx: int) -> None:
        x0, labels = self.split_batch(batch)
        opt = self.optimizers()
        # Algorithm 1: t ~ U, eps ~ N(0, I); gradient step on || target - denoiser(x_t, t) ||^2
        with self.toggled(opt):
            loss = self.diffusion_loss(x0, labels, self.step_generator())
            self.optimization_step(opt, loss, "denoiser")
        self.update_ema()
        if self.is_accumulation_boundary():  # warm-up counts optimiser steps
            self.lr_schedulers().step()
        self.log("train/loss", loss.detach(), prog_bar=True)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._score_step(batch, batch_idx, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._score_step(batch, batch_idx, "test")

    def _score_step(self, batch: Any, batch_idx: int, prefix: str) -> None:
        """The (weighted) diffusion loss on held-out data, its noise seeded by (val_seed, batch, rank)."""
        x0, labels = self.split_batch(batch)
        generator = self.seeded_generator(self.hparams.val_seed, batch_idx, self.global_rank)
        loss = self.diffusion_loss(x0, labels, generator, training=False)
        self.log(f"{prefix}/loss", loss, sync_dist=True, prog_bar=True)

    def predict_seed(self, batch_idx: int) -> int:
        """The sampling seed of prediction batch ``batch_idx``: (val_seed, batch, rank)."""
        return mix_seed(self.hparams.val_seed, batch_idx, self.global_rank)

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        """One sample per item of the batch (with its labels when class-conditional), drawn with the
        validation sampler and steps."""
        x0, labels = self.split_batch(batch)
        hp = self.hparams
        return self.sample(x0.shape[0], labels=labels, seed=self.predict_seed(batch_idx), sampler=hp.val_sampler,
                           steps=hp.val_steps, progress=False)

    # ------------------------------------------------------------------ sampling (Algorithm 2 and faster)
    def sample_labels(self, num: int, labels: torch.Tensor | int | None) -> torch.Tensor | None:
        """:func:`~lightning_gen.models.labels.sampling_labels`, the rule the GANs use too: given labels, one
        repeated label, or (None) classes cycling 0..K-1; None for an unconditional denoiser."""
        return sampling_labels(num, labels, self.num_classes, self.device, f"This {type(self).__name__}")

    @torch.inference_mode()
    def sample(
        self,
        num: int,
        *,
        labels: torch.Tensor | int | None = None,
        seed: int | None = None,
        use_ema: bool = True,
        batch_size: int = 256,
        sampler: Sampler = "ddim",
        steps: int | None = None,
        eta: float = 0.0,
        guidance_scale: float | None = None,
        progress: bool = True,
    ) -> torch.Tensor:
        """``num`` samples in [-1, 1], shape (num, C, H, W).

        Args:
            labels: class label(s) of a class-conditional model (an int repeats one class; None cycles).
            seed: seeds x_T and the sampler's noise; with a deterministic sampler (DDIM eta=0, DPM-Solver++)
                the result does not depend on ``batch_size`` either.
            use_ema: sample with the EMA denoiser when the model keeps one.
            sampler: ``"ddpm"`` (ancestral), ``"ddim"`` or ``"dpmpp"`` (DPM-Solver++ 2M).
            steps: number of denoising steps (None: T for ddpm, 50 for ddim, 20 for dpmpp).
            eta: DDIM's stochasticity (0 deterministic, 1 DDPM-like); DDIM only.
            guidance_scale: classifier-free guidance weight w (1 = conditional); conditional models only.
            progress: show a tqdm progress bar.
        """
        if num < 1:
            raise ValueError(f"Number of samples must be >= 1, got {num}.")
        labels = self.sample_labels(num, labels)
        generator = self.random_generator(seed)
        noise = rng.randn((num, *self.image_shape), generator=generator, device=self.device)
        inputs = {"labels": labels} if labels is not None else {}
        return self.denoise(
            noise,
            inputs,
            use_ema=use_ema,
            batch_size=batch_size,
            sampler=sampler,
            steps=steps,
            eta=eta,
            guidance_scale=guidance_scale,
            generator=generator,
            progress=progress,
        )

    def denoise(
        self,
        noise: torch.Tensor,
        inputs: dict[str, torch.Tensor],
        *,
        use_ema: bool = True,
        batch_size: int = 256,
        sampler: Sampler = "ddim",
        steps: int | None = None,
        eta: float = 0.0,
        guidance_scale: float | None = None,
        dynamic_threshold: float | None = None,
        generator: torch.Generator | None = None,
        progress: bool = False,
    ) -> torch.Tensor:
        """Run the reverse process from ``noise`` (N, C, H, W) in batches; ``inputs`` are per-sample denoiser
        inputs (labels, conditioning images) sliced with the batch. Returns x_0 clamped to [-1, 1], float32.
        ``dynamic_threshold``: Imagen's dynamic thresholding percentile of the predicted x_0 (None: static
        clipping). The network runs in its own dtype (a bf16-true model's raw weights in bf16, the float32 EMA
        in float32): its inputs are cast on the way in, its output back to float32 for the sampler's update."""
        check_choice("sampler", sampler, Sampler)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
        if eta and sampler != "ddim":
            raise ValueError(f"eta={eta} applies to the DDIM sampler only; use --sampler ddim or drop --eta.")
        if guidance_scale is not None:
            self.check_guidance(inputs)
        network = self.sampler_network(use_ema)
        dtype = next(network.parameters()).dtype
        outputs = []
        with self.eval_mode(network):
            for start in range(0, noise.shape[0], batch_size):
                batch_inputs = {k: _cast(v[start : start + batch_size], dtype) for k, v in inputs.items()}
                network_fn = self.model_function(network, batch_inputs, guidance_scale)

                def model_fn(x: torch.Tensor, t: torch.Tensor, network_fn=network_fn) -> torch.Tensor:
                    return network_fn(x.to(dtype), t).float()

                scheduler = make_scheduler(
                    sampler, self.noise_schedule, self.hparams.prediction_type, steps, self.device,
                    dynamic_threshold=dynamic_threshold,
                )
                x0 = run_sampler(
                    model_fn,
                    noise[start : start + batch_size].float(),
                    scheduler,
                    eta=eta,
                    generator=generator,
                    progress=progress,
                    description=f"{sampler} {start + 1}-{min(start + batch_size, noise.shape[0])}/{noise.shape[0]}",
                )
                outputs.append(x0.clamp(-1.0, 1.0))
        return torch.cat(outputs).float()

    def check_guidance(self, inputs: dict[str, torch.Tensor]) -> None:
        """Raise unless classifier-free guidance applies to a sampling run with these denoiser ``inputs``."""
        if "labels" not in inputs:
            raise ValueError("guidance_scale needs a class-conditional model (classifier-free guidance).")
        if not self.label_dropout:
            raise ValueError(
                "This model was trained with label_dropout=0, so its unconditional branch is untrained and "
                "classifier-free guidance would be meaningless; drop --guidance-scale or train with label_dropout > 0."
            )

    def model_function(
        self, network: nn.Module, inputs: dict[str, torch.Tensor], guidance_scale: float | None
    ) -> ModelFn:
        """``(x_t, t) -> output`` of ``network`` for one batch of per-sample ``inputs``; with classifier-free
        guidance when ``guidance_scale`` is set (subclasses with another condition override it)."""
        if guidance_scale is None:
            return lambda x, t: network(x, t, **inputs)
        return lambda x, t: guided_output(network, x, t, inputs["labels"], scale=guidance_scale, null_label=network.null_label)

    @torch.inference_mode()
    def inpaint(
        self,
        images: torch.Tensor,
        mask: torch.Tensor,
        *,
        labels: torch.Tensor | int | None = None,
        seed: int | None = None,
        use_ema: bool = True,
        batch_size: int = 256,
        steps: int = 250,
        jumps: int = 10,
        resample: int = 10,
        progress: bool = True,
    ) -> torch.Tensor:
        """Fill the ``mask == 0`` pixels of ``images`` (N, C, H, W) in [-1, 1] with RePaint (Lugmayr et al., 2022).

        Args:
            mask: (N or 1, 1, H, W), 1 = known pixel, 0 = to generate.
            steps, jumps, resample: RePaint's T (in steps of T/steps), jump length j and resamplings r
                (the paper: 250, 10, 10; cost is about steps * resample model evaluations).
        """
        if tuple(images.shape[1:]) != self.image_shape:
            raise ValueError(f"This model inpaints {self.image_shape} images, got {tuple(images.shape[1:])}.")
        labels = self.sample_labels(images.shape[0], labels)
        generator = self.random_generator(seed)
        network = self.sampler_network(use_ema)
        mask = mask.to(self.device).expand(images.shape[0], 1, *images.shape[2:])
        outputs = []
        with self.eval_mode(network):
            for start in range(0, images.shape[0], batch_size):
                stop = start + batch_size
                extra = {} if labels is None else {"labels": labels[start:stop]}

                def eps_fn(x: torch.Tensor, t: torch.Tensor, extra=extra) -> torch.Tensor:
                    return to_epsilon(network(x, t, **extra), x, t, self.noise_schedule, self.hparams.prediction_type)

                scheduler = make_repaint_scheduler(self.noise_schedule, steps, jumps, resample, self.device)
                known = images[start:stop].to(self.device, torch.float32)
                outputs.append(repaint(eps_fn, known, mask[start:stop], scheduler, generator=generator, progress=progress))
        return torch.cat(outputs)

    def validation_labels(self) -> torch.Tensor | None:
        """Contiguous blocks of classes (one row per class in a grid of num_val_samples / K columns)."""
        if not self.num_classes:
            return None
        n = self.num_val_samples
        return torch.arange(n, device=self.device) * self.num_classes // n

    def validation_samples(self) -> torch.Tensor:
        hp = self.hparams
        return self.sample(
            self.num_val_samples,
            labels=self.validation_labels(),
            seed=hp.val_seed,
            sampler=hp.val_sampler,
            steps=hp.val_steps,
            progress=False,
        )


def _cast(tensor: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Floating tensors (images, embeddings) to ``dtype``; labels and masks as they are."""
    return tensor.to(dtype) if tensor.is_floating_point() else tensor
