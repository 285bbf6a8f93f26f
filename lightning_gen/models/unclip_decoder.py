"""The unCLIP decoder (Ramesh et al., 2022, Section 2.1): images from CLIP image embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Unpack

import torch
from torch import nn

from lightning_gen.diffusion import rng
from lightning_gen.diffusion.guidance import dropout_mask, null_mask_guided_output
from lightning_gen.diffusion.samplers import ModelFn, SamplingOptions
from lightning_gen.models.ddpm import DDPM
from lightning_gen.models.text_to_image import TextConditioning
from lightning_gen.models.unclip_clip import (
    FrozenCLIPMixin,
    check_same_clip,
    clip_image_embeddings,
    clip_text_features,
)

__all__ = ["UnCLIPDecoder"]


class UnCLIPDecoder(FrozenCLIPMixin, DDPM):
    """The decoder of unCLIP / DALL-E 2, Ramesh et al. (2022): a diffusion model p(x | z_i, y) that inverts the
    CLIP image encoder, conditioned on the CLIP image embedding z_i of a frozen CLIP trained here.

    What it adds to :class:`~lightning_gen.models.DDPM` (training is DDPM's Algorithm 1, sampling its
    samplers): the condition of a captioned training batch is the CLIP embedding of the batch's own images
    (and, with a denoiser that reads text, the caption's CLIP token features), given to an
    :class:`~lightning_gen.nn.unclip_decoder.ImageEmbeddingUNet` (embedding projected to extra context
    tokens and added to the timestep embedding, as GLIDE/unCLIP). For classifier-free guidance the whole
    condition is replaced by the learned null context ``embedding_dropout`` of the time (unCLIP: 10%), and
    the caption alone is dropped ``text_dropout`` of the time (unCLIP: 50%).

    Generation: :meth:`generate_from_embeddings` (after a :class:`~lightning_gen.models.UnCLIPPrior`, see
    :meth:`chain_from`) and :meth:`vary` (image variations: encode an image with CLIP, decode several times).

    Args:
        denoiser: an :class:`ImageEmbeddingUNet` (or a network with its signature).
        clip: the frozen CLIP (checkpoint path or module); see :mod:`lightning_gen.models.unclip_clip`.
        embedding_dropout, text_dropout: the two condition dropouts above.
        ddpm_options: :class:`DDPM`'s options (schedule, prediction type, optimizer, EMA, validation sampler ...).
    """

    network_names = ("denoiser", "clip")
    #: how many validation images the grid decodes (one row of originals, one of decodings)
    num_grid_images = 8
    fixed_options = ("num_val_samples", "label_dropout")

    def __init__(
        self,
        denoiser: nn.Module,
        clip: str | Path | nn.Module,
        embedding_dropout: float = 0.1,
        text_dropout: float = 0.5,
        **ddpm_options: Any,
    ) -> None:
        self.refuse_fixed_options(ddpm_options)
        for name, p in (("embedding_dropout", embedding_dropout), ("text_dropout", text_dropout)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {p}.")
        if not hasattr(denoiser, "embed_dim"):
            raise ValueError("The unCLIP decoder's denoiser must take CLIP image embeddings: use ImageEmbeddingUNet.")
        # no class labels: guidance drops the embedding instead (embedding_dropout)
        super().__init__(denoiser, num_val_samples=self.num_grid_images, label_dropout=0.0, **ddpm_options)
        self.attach_clip(clip)
        if denoiser.embed_dim != int(self.clip.embed_dim):
            raise ValueError(
                f"The decoder's denoiser takes {denoiser.embed_dim}-d embeddings but the CLIP's are "
                f"{int(self.clip.embed_dim)}-d; build it with embed_dim={int(self.clip.embed_dim)}."
            )

    @property
    def reads_text(self) -> bool:
        return bool(getattr(self.denoiser, "text_token_dim", 0))

    # ------------------------------------------------------------------ conditioning
    #: ``(images, captions)`` of a captioned batch: the condition is computed from both
    split_batch = TextConditioning.split_batch

    def embed_images(self, images: torch.Tensor) -> torch.Tensor:
        """The frozen CLIP's image embeddings (B, D) of [-1, 1] images."""
        return clip_image_embeddings(self.clip, images.to(self.device, torch.float32))

    def condition_inputs(
        self, embeddings: torch.Tensor, prompts: list[str] | None
    ) -> dict[str, torch.Tensor]:
        """Denoiser inputs for image ``embeddings`` (N, D) and, for a decoder that reads text, ``prompts`` (N)."""
        inputs = {"image_embedding": embeddings.to(self.device, torch.float32)}
        if self.reads_text:
            if prompts is None or len(prompts) != embeddings.shape[0]:
                raise ValueError(
                    "This decoder also reads the caption: give one prompt per embedding "
                    f"({embeddings.shape[0]}), got {None if prompts is None else len(prompts)}."
                )
            _, encoding = clip_text_features(self.clip, prompts)
            inputs.update(text_tokens=encoding.tokens, text_mask=encoding.mask)
        return inputs

    def conditioning(  # type: ignore[override]
        self, x0: torch.Tensor, labels: list[str], generator: torch.Generator, training: bool
    ) -> dict[str, torch.Tensor]:
        """The CLIP embedding of ``x0`` itself (and its captions ``labels``), with the guidance dropouts."""
        inputs = self.condition_inputs(self.embed_images(x0), labels)
        batch = x0.shape[0]
        if training and self.hparams.embedding_dropout:
            inputs["null_mask"] = dropout_mask(batch, self.hparams.embedding_dropout, generator, self.device)
        if training and self.reads_text and self.hparams.text_dropout:
            drop_text = dropout_mask(batch, self.hparams.text_dropout, generator, self.device)
            inputs["text_mask"] = inputs["text_mask"] & ~drop_text[:, None]
        return inputs

    # ------------------------------------------------------------------ guidance (DDPM hooks)
    def check_guidance(self, inputs: dict[str, torch.Tensor]) -> None:
        if not self.hparams.embedding_dropout:
            raise ValueError(
                "This decoder was trained with embedding_dropout=0, so its unconditional branch is untrained; drop "
                "--guidance-scale or train with embedding_dropout > 0."
            )

    def model_function(self, network: nn.Module, inputs: dict[str, torch.Tensor], guidance_scale: float | None) -> ModelFn:
        """Classifier-free guidance on the embedding: uncond + w (cond - uncond), one batched forward pass."""
        if guidance_scale is None:
            return lambda x, t: network(x, t, **inputs)
        return lambda x, t: null_mask_guided_output(network, x, t, inputs, scale=guidance_scale)

    # ------------------------------------------------------------------ generation
    @torch.inference_mode()
    def generate_from_embeddings(
        self,
        embeddings: torch.Tensor,
        *,
        prompts: list[str] | None = None,
        guidance_scale: float | None = None,
        **options: Unpack[SamplingOptions],
    ) -> torch.Tensor:
        """Decode CLIP image embeddings (N, D) into images (N, C, H, W) in [-1, 1].

        ``prompts``: one caption per embedding for a decoder that reads text; ``guidance_scale``: classifier-free
        guidance weight on the embedding (1 = conditional); ``options``: :class:`SamplingOptions`.
        """
        if embeddings.dim() != 2 or embeddings.shape[0] < 1:
            raise ValueError(f"Expected embeddings of shape (N >= 1, D), got {tuple(embeddings.shape)}.")
        generator = self.random_generator(options.pop("seed", None))
        inputs = self.condition_inputs(embeddings, prompts)
        noise = rng.randn((embeddings.shape[0], *self.image_shape), generator=generator, device=self.device)
        return self.denoise(noise, inputs, generator=generator, guidance_scale=guidance_scale, **{"progress": True, **options})

    def vary(
        self,
        images: torch.Tensor,
        num: int = 8,
        *,
        prompts: list[str] | None = None,
        guidance_scale: float | None = None,
        **options: Unpack[SamplingOptions],
    ) -> torch.Tensor:
        """Image variations (unCLIP, Section 3.1): ``num`` decodings of each image's CLIP embedding.

        Returns (len(images) * num, C, H, W), the ``num`` variations of image i at rows i*num ... i*num+num-1.
        """
        if num < 1:
            raise ValueError(f"num must be >= 1, got {num}.")
        embeddings = self.embed_images(images.float()).repeat_interleave(num, dim=0)
        repeated = None if prompts is None else [p for p in prompts for _ in range(num)]
        return self.generate_from_embeddings(embeddings, prompts=repeated, guidance_scale=guidance_scale, **options)

    def chain_from(self, previous: Any, outputs: torch.Tensor, *, prompts: list[str] | None = None,
                   **options: Unpack[SamplingOptions]) -> torch.Tensor:  # fmt: skip
        """The chaining rule of :func:`lightning_gen.sampling.sample_chain`: decode the CLIP image embeddings
        that ``previous`` (an unCLIP prior) sampled, after checking that both stages share one CLIP."""
        check_same_clip(previous, self)
        if outputs.dim() != 2:
            raise ValueError(
                f"The unCLIP decoder chains after a stage that samples CLIP image embeddings (an UnCLIPPrior), "
                f"but the previous {type(previous).__name__} produced {tuple(outputs.shape)} tensors."
            )
        if prompts is not None and outputs.shape[0] % len(prompts) == 0:
            prompts = [p for p in prompts for _ in range(outputs.shape[0] // len(prompts))]
        return self.generate_from_embeddings(outputs, prompts=prompts, **options)

    def sample(self, num: int, **options: Any) -> torch.Tensor:
        """Not available: the decoder needs CLIP image embeddings; see :meth:`chain_from` and :meth:`vary`."""
        raise ValueError(
            "An UnCLIPDecoder decodes CLIP image embeddings, not noise alone: chain it after a prior "
            "(lightning-gen sample --ckpt prior.ckpt --ckpt decoder.ckpt --prompt ...) or make variations of "
            "images (lightning-gen vary --ckpt decoder.ckpt --input IMAGES)."
        )

    # ------------------------------------------------------------------ validation grid
    def validation_step(self, batch: Any, batch_idx: int) -> None:
        if batch_idx == 0:
            images, texts = self.split_batch(batch)
            self._grid = (images[: self.num_grid_images].detach(), texts[: self.num_grid_images])
        super().validation_step(batch, batch_idx)

    def validation_samples(self) -> torch.Tensor:
        """Validation images (top row) and their decodings (bottom row)."""
        grid = getattr(self, "_grid", None)
        if grid is None:
            return torch.empty(0)
        images, texts = grid
        hp = self.hparams
        decoded = self.generate_from_embeddings(
            self.embed_images(images), prompts=texts if self.reads_text else None, seed=hp.val_seed,
            sampler=hp.val_sampler, steps=hp.val_steps, progress=False,
        )
        return torch.cat([images.float().to(decoded.device), decoded])
