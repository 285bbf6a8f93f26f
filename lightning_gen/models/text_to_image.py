"""Imagen-style text-to-image diffusion (Saharia et al., 2022): a text-conditional base model and a
text-conditional super-resolution stage, each a DDPM whose denoiser cross-attends to a text encoder's tokens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Unpack

import torch
from torch import nn

from lightning_gen.diffusion.guidance import dropout_mask, null_mask_guided_output
from lightning_gen.diffusion.samplers import ModelFn, Sampler, SamplingOptions
from lightning_gen.models.cascade import SuperResolutionDDPM
from lightning_gen.models.clip import fit_text_tokenizer
from lightning_gen.models.ddpm import DDPM
from lightning_gen.nn.ema import EMA
from lightning_gen.nn.text.base import TextEncoder, TextEncoding
from lightning_gen.nn.text.cache import EncodingCache

__all__ = ["TextConditioning", "TextSuperResolutionDDPM", "TextToImageDDPM", "check_prompts"]


def check_prompts(prompts: Sequence[str] | str | None) -> list[str]:
    """``prompts`` as a list of non-empty strings.

    Raises:
        ValueError: no prompts, a single string instead of a list, or an empty / blank prompt.
    """
    if isinstance(prompts, str):
        raise ValueError(f"prompts must be a list of strings, got the string {prompts!r}; pass [{prompts!r}].")
    if not prompts:
        raise ValueError(
            "A text-to-image model samples from prompts: pass prompts=['a handwritten digit seven', ...] "
            "(lightning-gen sample --prompt TEXT or --prompts FILE); the prompt list is empty."
        )
    prompts = list(prompts)
    for i, prompt in enumerate(prompts):
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError(f"Prompt {i + 1} of {len(prompts)} is empty ({prompt!r}); every prompt needs some text.")
    return prompts


class TextConditioning:
    """What makes a DDPM text-conditional (Imagen, Saharia et al. 2022, section 2): mixed in before a DDPM class.

    The captions of a batch are encoded by ``text_encoder`` (any :class:`~lightning_gen.nn.text.TextEncoder`)
    and reach the denoiser as cross-attention context (tokens + mask) and a pooled embedding; with
    probability ``text_dropout`` a caption is replaced by the denoiser's learned null embedding, which trains
    the unconditional branch of classifier-free guidance (Ho & Salimans 2022; Imagen drops 10%).

    A frozen encoder (``trainable = False``: the pretrained MiniLM, a trained CLIP's text tower) is kept in
    eval mode, runs without gradients and sits in no optimizer; its encodings are cached per distinct
    caption (``text_cache_size``) unless the encoder caches them itself. A trainable one (a
    :class:`~lightning_gen.nn.text.transformer.TransformerTextEncoder`) is trained jointly with the denoiser
    by the same optimizer, and fits its tokenizer on ``datamodule.training_captions()`` at ``setup("fit")``
    when it has none yet. With EMA on, a trainable encoder is averaged too (``text_ema``, same decay, updated
    at the same steps): the averaged denoiser is an average of denoisers each trained against the encoder of
    its own step, so it pairs with the average of those encoders, and sampling with ``use_ema`` encodes
    prompts with the averaged encoder (the live one with ``use_ema=False``).

    Args:
        denoiser: a text-conditional denoiser (:class:`~lightning_gen.nn.unet_text.TextConditionalUNet`)
            whose ``context_dim`` (and ``pooled_dim``, when > 0) match the encoder's.
        text_encoder: the text encoder (stored in checkpoints as a network spec; a frozen pretrained one
            records its name and weights' hash there, not its weights).
        text_dropout: probability of the null embedding per training caption (0 disables guidance).
        text_cache_size: distinct captions whose frozen encodings are cached (0: none).
        ddpm_options: the parent DDPM class's options.
    """

    network_names = ("denoiser", "text_encoder")

    def __init__(
        self,
        denoiser: nn.Module,
        text_encoder: TextEncoder,
        text_dropout: float = 0.1,
        text_cache_size: int = 4096,
        **ddpm_options: Any,
    ) -> None:
        if not isinstance(text_encoder, TextEncoder):
            raise ValueError(
                f"text_encoder must be a lightning_gen.nn.text.TextEncoder (MiniLMTextEncoder, TransformerTextEncoder, "
                f"CLIPTextEncoder), got {type(text_encoder).__name__}."
            )
        context_dim, pooled_dim = getattr(denoiser, "context_dim", None), getattr(denoiser, "pooled_dim", 0)
        if context_dim != text_encoder.token_dim or pooled_dim not in (0, text_encoder.pooled_dim):
            raise ValueError(
                f"The denoiser takes context_dim={context_dim}, pooled_dim={pooled_dim} but the text encoder gives "
                f"token_dim={text_encoder.token_dim}, pooled_dim={text_encoder.pooled_dim}: build the denoiser with "
                f"context_dim={text_encoder.token_dim} and pooled_dim={text_encoder.pooled_dim} (or 0)."
            )
        if not 0.0 <= text_dropout < 1.0:
            raise ValueError(f"text_dropout must be in [0, 1), got {text_dropout}.")
        super().__init__(denoiser, **ddpm_options)  # type: ignore[call-arg]
        self.text_encoder = text_encoder
        self.text_dropout = text_dropout
        if not text_encoder.trainable:
            text_encoder.requires_grad_(False).eval()
        caches_itself = isinstance(getattr(text_encoder, "cache", None), EncodingCache)
        self.text_cache = EncodingCache(text_cache_size) if not (text_encoder.trainable or caches_itself) else None
        ema = getattr(self, "ema", None)
        self.text_ema = (
            EMA(text_encoder, ema.decay, warmup=ema.warmup) if text_encoder.trainable and isinstance(ema, EMA) else None
        )

    # ------------------------------------------------------------------ text
    @property
    def frozen_text_encoder(self) -> bool:
        return not self.text_encoder.trainable

    def train(self, mode: bool = True):  # noqa: D102 - a frozen encoder stays in eval mode
        super().train(mode)  # type: ignore[misc]
        if self.frozen_text_encoder:
            self.text_encoder.eval()
        return self

    def trainable_parameters(self) -> list[nn.Parameter]:
        """The denoiser's parameters, plus the text encoder's when it is trained jointly."""
        params = super().trainable_parameters()  # type: ignore[misc]
        return params + (list(self.text_encoder.parameters()) if self.text_encoder.trainable else [])

    def setup(self, stage: str) -> None:
        super().setup(stage)  # type: ignore[misc]
        if stage == "fit":  # a trainable tower without a tokenizer fits one on the training captions
            fit_text_tokenizer(self.text_encoder, getattr(self.trainer, "datamodule", None))
            if self.text_ema is not None:  # the average tokenizes alike (a resumed run restores both after)
                self.text_ema.copy_extra_state(self.text_encoder)

    def averaged_networks(self) -> dict[str, str]:
        """The parent's EMA pair, and the trainable text encoder with its average (updated at the same steps)."""
        pairs = super().averaged_networks()  # type: ignore[misc]
        return pairs | {"text_ema": "text_encoder"} if self.text_ema is not None else pairs

    def sampling_text_encoder(self, use_ema: bool = True) -> nn.Module:
        """The encoder that pairs with :meth:`sampler_network`: the averaged tower when there is one and
        ``use_ema``, else the live (or frozen) encoder."""
        return self.text_ema.shadow if use_ema and self.text_ema is not None else self.text_encoder

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Checkpoints written before ``text_ema`` existed (a trainable tower, EMA on) sample as they did then:
        their live tower stands in for the average."""
        super().on_load_checkpoint(checkpoint)  # type: ignore[misc]
        state = checkpoint.get("state_dict")
        if self.text_ema is None or state is None or any(k.startswith("text_ema.") for k in state):
            return
        for key in self.text_ema.state_dict():
            source = f"text_encoder.{key.removeprefix('shadow.')}" if key.startswith("shadow.") else f"ema.{key}"
            if source in state:
                state[f"text_ema.{key}"] = state[source]

    def encode_text(self, texts: list[str], encoder: nn.Module | None = None) -> TextEncoding:
        """The encoding of ``texts`` by ``encoder`` (default: the training encoder) on the model's device (no
        gradient into a frozen encoder)."""
        if encoder is not None and encoder is not self.text_encoder:  # the averaged tower, at sampling
            return encoder(texts).to(self.device)
        if not self.frozen_text_encoder:
            return self.text_encoder(texts).to(self.device)
        with torch.no_grad():
            if self.text_cache is None:
                return self.text_encoder(texts).to(self.device)
            return self.text_cache.encode(texts, self.text_encoder, self.device)

    def text_inputs(self, texts: list[str], encoder: nn.Module | None = None) -> dict[str, torch.Tensor]:
        """Denoiser inputs for ``texts``: context tokens, their mask and the pooled embedding (one row each)."""
        encoding = self.encode_text(texts, encoder)
        inputs = {"context": encoding.tokens, "context_mask": encoding.mask}
        if getattr(self.denoiser, "pooled_dim", 0):
            inputs["pooled"] = encoding.pooled
        return inputs

    def prompt_inputs(self, prompts: Sequence[str], use_ema: bool = True) -> dict[str, torch.Tensor]:
        """:meth:`text_inputs` of checked sampling prompts by :meth:`sampling_text_encoder`, in eval mode."""
        encoder = self.sampling_text_encoder(use_ema)
        with self.eval_mode(encoder):  # type: ignore[attr-defined]
            return self.text_inputs(check_prompts(prompts), encoder)

    # ------------------------------------------------------------------ training
    def split_batch(self, batch: Any) -> tuple[torch.Tensor, list[str]]:
        """``(images, captions)`` of a captioned batch ``{"image": (B, C, H, W), "text": list[str], ...}``."""
        if not isinstance(batch, Mapping) or "image" not in batch or "text" not in batch:
            raise ValueError(
                f"A {type(self).__name__} trains on captioned batches, dicts with 'image' and 'text' "
                "(CaptionedMNISTDataModule, CaptionedCIFAR10DataModule, TwoDigitMNISTDataModule, "
                f"ImageCaptionFolderDataModule); got a {type(batch).__name__}."
            )
        images, texts = batch["image"], batch["text"]
        if isinstance(texts, str) or len(texts) != images.shape[0]:
            raise ValueError(f"A captioned batch needs one caption per image: {images.shape[0]} images, texts={texts!r:.80}.")
        return images, list(texts)

    def conditioning(
        self, x0: torch.Tensor, texts: list[str], generator: torch.Generator, training: bool
    ) -> dict[str, torch.Tensor]:
        """The parent's inputs (an SR stage's low-resolution image) plus the captions' encoding, with text
        dropout to the null embedding when training."""
        inputs = super().conditioning(x0, None, generator, training)  # type: ignore[misc]
        inputs.update(self.text_inputs(texts))
        if training and self.text_dropout:
            inputs["null_mask"] = dropout_mask(x0.shape[0], self.text_dropout, generator, x0.device)
        return inputs

    # ------------------------------------------------------------------ sampling
    def check_guidance(self, inputs: dict[str, torch.Tensor]) -> None:
        if not self.text_dropout:
            raise ValueError(
                "This model was trained with text_dropout=0, so its null-text branch is untrained and classifier-free "
                "guidance would be meaningless; drop --guidance-scale or train with text_dropout > 0."
            )

    def model_function(self, network: nn.Module, inputs: dict[str, torch.Tensor], guidance_scale: float | None) -> ModelFn:
        """Conditional on the prompts, or guided: uncond + w (cond - uncond), the null text as uncond."""
        if guidance_scale is None:
            return lambda x, t: network(x, t, **inputs)
        return lambda x, t: null_mask_guided_output(network, x, t, inputs, scale=guidance_scale)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        if batch_idx == 0:
            _, texts = self.split_batch(batch)
            self._grid_texts = texts[: self.num_grid_texts]
        super().validation_step(batch, batch_idx)  # type: ignore[misc]

    @property
    def num_grid_texts(self) -> int:
        return int(self.num_val_samples)  # type: ignore[attr-defined]


class TextToImageDDPM(TextConditioning, DDPM):
    """Imagen's base model (Saharia et al. 2022): a DDPM of p(x | caption) with a text encoder, text dropout
    for classifier-free guidance and, at sampling, dynamic thresholding (section 2.3).

    Takes captioned batches; ``sample(num, prompts=[...])`` draws ``num`` images per prompt (prompt-major:
    rows ``i * num .. (i + 1) * num - 1`` belong to prompt ``i``, so a grid of ``num`` columns has one row per
    prompt). See :class:`TextConditioning` for the text options; the rest are :class:`DDPM`'s.
    """

    @torch.inference_mode()
    def sample(  # type: ignore[override]
        self,
        num: int = 1,
        *,
        prompts: Sequence[str] | None = None,
        seed: int | None = None,
        use_ema: bool = True,
        batch_size: int = 256,
        sampler: Sampler = "ddim",
        steps: int | None = None,
        eta: float = 0.0,
        guidance_scale: float | None = None,
        dynamic_threshold: float | None = None,
        progress: bool = True,
    ) -> torch.Tensor:
        """``num`` samples per prompt in [-1, 1], shape (len(prompts) * num, C, H, W), prompt-major.

        Args:
            prompts: the captions to draw (non-empty strings; too long ones are truncated by the encoder
                with a warning).
            guidance_scale: classifier-free guidance weight w (None or 1: conditional; needs text_dropout > 0).
            dynamic_threshold: Imagen's dynamic thresholding percentile p of |x_0| (e.g. 0.95 or 0.995);
                None: static clipping to [-1, 1].
            seed, use_ema, batch_size, sampler, steps, eta, progress: as in :meth:`DDPM.sample`; the same
                seed gives the same images.
        """
        if num < 1:
            raise ValueError(f"Number of samples per prompt must be >= 1, got {num}.")
        prompts = check_prompts(prompts)
        texts = [prompt for prompt in prompts for _ in range(num)]
        inputs = self.prompt_inputs(texts, use_ema)
        generator = self.random_generator(seed)
        noise = torch.randn(len(texts), *self.image_shape, device=self.device, generator=generator)
        return self.denoise(
            noise, inputs, use_ema=use_ema, batch_size=batch_size, sampler=sampler, steps=steps, eta=eta,
            guidance_scale=guidance_scale, dynamic_threshold=dynamic_threshold, generator=generator, progress=progress,
        )

    def validation_samples(self) -> torch.Tensor:
        hp = self.hparams
        texts = getattr(self, "_grid_texts", None)
        if not texts:
            return torch.empty(0)
        return self.sample(1, prompts=texts, seed=hp.val_seed, sampler=hp.val_sampler, steps=hp.val_steps, progress=False)


class TextSuperResolutionDDPM(TextConditioning, SuperResolutionDDPM):
    """Imagen's text-conditional super-resolution stage (Saharia et al. 2022, section 2.4 and appendix F):
    p(x | caption, z) with z the low-resolution image, upsampled and concatenated to x_t, corrupted by
    Gaussian conditioning augmentation whose level is an input of the U-Net (Ho et al. 2021, section 4.2;
    :class:`~lightning_gen.models.cascade.SuperResolutionDDPM`'s recipe), and the caption as in the base model.

    The denoiser needs ``cond_channels == channels`` and ``cond_level_input=True``
    (``TextConditionalUNet(..., cond_channels=1, cond_level_input=true)``). Chained after a
    :class:`TextToImageDDPM` by :func:`lightning_gen.sampling.sample_chain` (``lightning-gen sample --ckpt
    base.ckpt --ckpt sr.ckpt --prompt ...``), each image upsampled with its own prompt.
    """

    usage_hint = (
        "Chain it after a text-to-image base model (lightning-gen sample --ckpt base.ckpt --ckpt sr.ckpt --prompt TEXT) "
        "or call upsample(low_res, prompts=[...])."
    )
    num_grid_texts = SuperResolutionDDPM.num_grid_images

    @torch.inference_mode()
    def generate_from(  # type: ignore[override]
        self,
        condition: torch.Tensor,
        *,
        prompts: Sequence[str] | None = None,
        level: int | None = None,
        guidance_scale: float | None = None,
        dynamic_threshold: float | None = None,
        **options: Unpack[SamplingOptions],
    ) -> torch.Tensor:
        """x ~ p(x | prompt, condition): one prompt per condition image (or one prompt for all)."""
        prompts = check_prompts(prompts)
        if len(prompts) == 1:
            prompts = prompts * condition.shape[0]
        if len(prompts) != condition.shape[0]:
            raise ValueError(f"Pass one prompt per image (or one for all): {len(prompts)} prompts, {condition.shape[0]} images.")
        return super().generate_from(
            condition, level=level, extra_inputs=self.prompt_inputs(prompts, options.get("use_ema", True)),
            guidance_scale=guidance_scale,
            dynamic_threshold=dynamic_threshold, **options,
        )

    def upsample(  # type: ignore[override]
        self,
        low_res: torch.Tensor,
        *,
        prompts: Sequence[str] | None = None,
        augmentation_level: int | None = None,
        guidance_scale: float | None = None,
        dynamic_threshold: float | None = None,
        **options: Unpack[SamplingOptions],
    ) -> torch.Tensor:
        """Super-resolve ``low_res`` (N, C, low_res_size, low_res_size) given each image's prompt."""
        return self.generate_from(
            low_res, prompts=prompts, level=augmentation_level, guidance_scale=guidance_scale,
            dynamic_threshold=dynamic_threshold, **options,
        )

    def grid_options(self) -> dict[str, Any]:
        return {"prompts": getattr(self, "_grid_texts", None)}
