"""The unCLIP diffusion prior (Ramesh et al., 2022, Section 2.1): CLIP text embedding -> CLIP image embedding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lightning_gen.diffusion import rng
from lightning_gen.diffusion.guidance import dropout_mask, null_mask_guided_output
from lightning_gen.diffusion.objectives import training_target
from lightning_gen.diffusion.samplers import Sampler, make_scheduler, resolve_steps, run_sampler
from lightning_gen.diffusion.schedule import BetaSchedule, NoiseSchedule
from lightning_gen.losses import reconstruction_loss
from lightning_gen.models.base import ClipAlgorithm, GenerativeModule
from lightning_gen.models.ddpm import DDPM
from lightning_gen.models.text_to_image import TextConditioning, check_prompts
from lightning_gen.models.unclip_clip import FrozenCLIPMixin, clip_image_embeddings, clip_text_features
from lightning_gen.nn.ema import EMA
from lightning_gen.utils.validation import check_choice

__all__ = ["UnCLIPPrior"]


class UnCLIPPrior(FrozenCLIPMixin, GenerativeModule):
    """The diffusion prior of unCLIP / DALL-E 2, Ramesh et al. (2022), Section 2.1.

    A Gaussian diffusion model of the CLIP image embedding z_i given the caption y, conditioned on the CLIP
    text embedding z_t and the text tokens of a frozen CLIP trained here. As in the paper, the denoiser (a
    causal Transformer, :class:`~lightning_gen.nn.prior.DiffusionPriorNetwork`) predicts the *clean*
    embedding and is trained with the mean-squared error on it, and the text is dropped (replaced by a learned
    null text) ``text_dropout`` of the time so that sampling can use classifier-free guidance (Ho & Salimans,
    2022). The diffusion runs on standardised embeddings, (z_i - mean) / std with the per-dimension statistics
    of the training image embeddings, computed when training starts (``statistics_batches`` batches) and
    kept in the network's ``clip_mean`` / ``clip_std`` (diffusers' PriorTransformer initialises them to zeros);
    samples are mapped back and L2-normalised, since CLIP's image embeddings have unit norm.

    Per step: t ~ U{0..T-1}, noise from a generator seeded by (``noise_seed``, step, rank) (see
    :class:`~lightning_gen.models.DDPM`), an EMA of the denoiser for sampling.

    Args:
        denoiser: the prior network, ``(x_t, t, *, text_embedding, text_tokens, text_mask, null_mask) -> x_0``.
        clip: the frozen CLIP: a CLIP checkpoint path or a CLIP module (see :mod:`lightning_gen.models.unclip_clip`
            for how it is stored).
        schedule, num_timesteps: the forward process (unCLIP's prior: cosine, 1000 steps).
        text_dropout: probability of training a step's caption as the null text (unCLIP: 10%).
        lr, betas, weight_decay, warmup_steps: AdamW with linear warm-up (unCLIP's prior: AdamW, weight decay 6e-2).
        ema_decay, ema_warmup: EMA of the denoiser for sampling (None: off).
        statistics_batches: training batches whose image embeddings give the standardisation statistics.
        val_sampler, val_steps, val_seed: the sampler of the validation cosine similarity (``val/cosine``).
    """

    network_names = ("denoiser", "clip")
    sampling_network = "denoiser"

    def __init__(
        self,
        denoiser: nn.Module,
        clip: str | Path | nn.Module,
        schedule: BetaSchedule = "cosine",
        num_timesteps: int = 1000,
        text_dropout: float = 0.1,
        lr: float = 3e-4,
        betas: tuple[float, float] = (0.9, 0.999),
        weight_decay: float = 0.0,
        warmup_steps: int = 0,
        ema_decay: float | None = 0.999,
        ema_warmup: bool = True,
        noise_seed: int = 0,
        statistics_batches: int = 50,
        val_sampler: Sampler = "ddim",
        val_steps: int = 25,
        val_seed: int = 0,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: ClipAlgorithm = "norm",
    ) -> None:
        super().__init__(gradient_clip_val=gradient_clip_val, gradient_clip_algorithm=gradient_clip_algorithm)
        check_choice("val_sampler", val_sampler, Sampler)
        if not 0.0 <= text_dropout < 1.0:
            raise ValueError(f"text_dropout must be in [0, 1), got {text_dropout}.")
        if statistics_batches < 1 or warmup_steps < 0:
            raise ValueError(f"statistics_batches must be >= 1 and warmup_steps >= 0, got {statistics_batches}, {warmup_steps}.")
        self.save_init_hyperparameters(UnCLIPPrior.__init__, locals())
        self.attach_clip(clip)
        embed_dim = int(self.clip.embed_dim)
        if getattr(denoiser, "embed_dim", embed_dim) != embed_dim:
            raise ValueError(
                f"The prior network works on {denoiser.embed_dim}-d embeddings but the CLIP's are {embed_dim}-d; "
                f"build it with embed_dim={embed_dim}."
            )
        self.denoiser = denoiser
        self.noise_schedule = NoiseSchedule(schedule, num_timesteps)
        resolve_steps(val_sampler, val_steps, num_timesteps)
        self.ema = EMA(denoiser, ema_decay, warmup=ema_warmup) if ema_decay is not None else None

    # one obvious place for each: the captioned-batch check of the text-conditional models, and DDPM's
    # optimizer (AdamW with linear warm-up) of the trainable parameters (never the CLIP)
    split_batch = TextConditioning.split_batch
    configure_optimizers = DDPM.configure_optimizers

    def trainable_parameters(self) -> list[nn.Parameter]:
        """The prior network's parameters less its (data-set, not trained) embedding statistics."""
        return [p for p in self.denoiser.parameters() if p.requires_grad]

    # ------------------------------------------------------------------ embeddings
    @property
    def embed_dim(self) -> int:
        return int(self.clip.embed_dim)

    def embed_images(self, images: torch.Tensor) -> torch.Tensor:
        """The frozen CLIP's image embeddings (B, D) of [-1, 1] images."""
        return clip_image_embeddings(self.clip, images.to(self.device, torch.float32))

    def on_fit_start(self) -> None:
        """Standardisation statistics of the training image embeddings, unless restored from a checkpoint."""
        if self.denoiser.has_statistics:
            return
        trainer = self.trainer
        loader = trainer.datamodule.train_dataloader() if trainer.datamodule is not None else trainer.fit_loop._data_source.dataloader()
        total, squares, count = 0.0, 0.0, 0
        with torch.random.fork_rng():  # iterating a loader may draw from the global RNG
            for i, batch in enumerate(loader):
                if i >= self.hparams.statistics_batches:
                    break
                z = self.embed_images(self.split_batch(batch)[0]).double()
                total, squares, count = total + z.sum(0), squares + (z * z).sum(0), count + z.shape[0]
        if not count:
            raise ValueError("The training loader is empty: no image embeddings to standardise the prior with.")
        mean = total / count
        std = (squares / count - mean * mean).clamp(min=0).sqrt()
        stats = trainer.strategy.broadcast(torch.stack([mean, std]).float().to(self.device), src=0)
        for network in (self.denoiser, self.ema.shadow if self.ema is not None else None):
            if network is not None:
                network.set_embedding_statistics(stats[0], stats[1])

    # ------------------------------------------------------------------ training
    def diffusion_loss(  # type: ignore[override]
        self, images: torch.Tensor, texts: list[str], generator: torch.Generator, training: bool = True
    ) -> torch.Tensor:
        """Mean squared error of the predicted clean (standardised) image embedding."""
        z_text, encoding = clip_text_features(self.clip, texts)
        x0 = self.denoiser.normalize(self.embed_images(images))
        batch = x0.shape[0]
        t, noise = self.training_noise(x0, generator)
        drop = dropout_mask(batch, self.hparams.text_dropout if training else 0.0, generator, self.device)
        x_t = self.noise_schedule.q_sample(x0, t, noise)
        inputs = {"text_embedding": z_text, "text_tokens": encoding.tokens, "text_mask": encoding.mask}
        prediction = self.denoiser(x_t, t, **inputs, null_mask=drop)
        target = training_target(x0, noise, t, self.noise_schedule, "sample")
        return reconstruction_loss(prediction, target, "mse").mean()

    # DDPM's Algorithm 1 (the draws of t and eps; one denoiser step on diffusion_loss, EMA update, LR schedule)
    training_noise = DDPM.training_noise
    training_step = DDPM.training_step

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        """``val/loss`` and ``val/cosine``: the mean cosine similarity of sampled and true image embeddings."""
        images, texts = self.split_batch(batch)
        hp = self.hparams
        generator = self.seeded_generator(hp.val_seed, batch_idx, self.global_rank)
        loss = self.diffusion_loss(images, texts, generator, training=False)
        self.log("val/loss", loss, sync_dist=True, prog_bar=True, batch_size=len(texts))
        predicted = self.sample(prompts=texts, seed=hp.val_seed + batch_idx, sampler=hp.val_sampler, steps=hp.val_steps, progress=False)
        cosine = (predicted * self.embed_images(images)).sum(-1).mean()
        self.log("val/cosine", cosine, sync_dist=True, prog_bar=True, batch_size=len(texts))

    # ------------------------------------------------------------------ sampling
    @torch.inference_mode()
    def sample(
        self,
        num: int = 1,
        *,
        prompts: list[str],
        seed: int | None = None,
        use_ema: bool = True,
        batch_size: int = 256,
        sampler: Sampler = "ddim",
        steps: int | None = None,
        eta: float = 0.0,
        guidance_scale: float | None = None,
        progress: bool = True,
    ) -> torch.Tensor:
        """CLIP image embeddings (len(prompts) * num, D), unit norm, ``num`` per prompt in prompt order.

        Args:
            prompts: the captions; seed, use_ema, batch_size, sampler, steps, eta, progress: as in
                :meth:`DDPM.sample`.
            guidance_scale: classifier-free guidance weight on the text (1: conditional; needs text_dropout > 0).
        """
        check_choice("sampler", sampler, Sampler)
        if num < 1 or batch_size < 1:
            raise ValueError(f"num and batch_size must be >= 1, got {num} and {batch_size}.")
        if guidance_scale is not None and not self.hparams.text_dropout:
            raise ValueError(
                "This prior was trained with text_dropout=0, so its unconditional branch is untrained; drop "
                "--guidance-scale or train with text_dropout > 0."
            )
        texts = [p for p in check_prompts(prompts) for _ in range(num)]
        z_text, encoding = clip_text_features(self.clip, texts)
        text = {"text_embedding": z_text, "text_tokens": encoding.tokens, "text_mask": encoding.mask}
        generator = self.random_generator(seed)
        noise = rng.randn((len(texts), self.embed_dim), generator=generator, device=self.device)
        network = self.sampler_network(use_ema)
        outputs = []
        with self.eval_mode(network):
            for start in range(0, len(texts), batch_size):
                rows = slice(start, start + batch_size)
                inputs = {k: v[rows] for k, v in text.items()}

                def model_fn(x: torch.Tensor, t: torch.Tensor, inputs=inputs) -> torch.Tensor:
                    if guidance_scale is None:
                        return network(x, t, **inputs)
                    return null_mask_guided_output(network, x, t, inputs, scale=guidance_scale)

                scheduler = make_scheduler(sampler, self.noise_schedule, "sample", steps, self.device, clip_sample=False)
                outputs.append(run_sampler(model_fn, noise[rows], scheduler, eta=eta, generator=generator, progress=progress))
        return F.normalize(network.denormalize(torch.cat(outputs)).float(), dim=-1)

    def validation_samples(self) -> torch.Tensor:
        """No image grid: the prior samples embeddings (``val/cosine`` measures them)."""
        return torch.empty(0)
