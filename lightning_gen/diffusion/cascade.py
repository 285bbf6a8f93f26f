"""Chaining the stages of a cascade (Ho et al., 2021): base samples, then each super-resolution stage.

Duck-typed on purpose: a stage is anything with ``upsample(low_res, *, seed, use_ema, sampler, steps, eta,
progress)`` and ``low_res_size`` (:class:`~lightning_gen.models.SuperResolutionDDPM`), so the base model
may be any generator of the right size (a DDPM, or even a GAN). A stage whose ``upsample`` also takes
``prompts`` (:class:`~lightning_gen.models.TextSuperResolutionDDPM`, Imagen's text-conditional SR stages,
Saharia et al. 2022) gets each image's prompt, and the guidance and thresholding options.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch

__all__ = ["per_image", "upsample_chain"]


def upsample_chain(
    stages: Sequence[Any],
    images: torch.Tensor,
    *,
    seed: int | None = None,
    use_ema: bool = True,
    sampler: str | None = None,
    steps: int | None = None,
    eta: float | None = None,
    augmentation_level: int | None = None,
    progress: bool = True,
    prompts: Sequence[str] | None = None,
    guidance_scale: float | None = None,
    dynamic_threshold: float | None = None,
) -> torch.Tensor:
    """Run ``images`` through each super-resolution stage in order; stage i uses seed ``seed + i + 1``.

    ``prompts``: one per image, or the sampling prompts with equal blocks of images each (prompt-major, as
    :meth:`TextToImageDDPM.sample` lays them out); given, with ``guidance_scale`` and ``dynamic_threshold``,
    to text-conditional stages only.

    Raises:
        ValueError: a stage cannot upsample, or its input size/channels differ from the previous output, or a
            text-conditional stage gets no prompts.
    """
    for i, stage in enumerate(stages):
        if not hasattr(stage, "upsample"):
            raise ValueError(
                f"Cascade stage {i + 2} is a {type(stage).__name__}, which cannot upsample; every --ckpt after the "
                "first must be a SuperResolutionDDPM checkpoint."
            )
        expected = (stage.denoiser.channels, stage.low_res_size, stage.low_res_size)
        if tuple(images.shape[1:]) != expected:
            raise ValueError(
                f"Cascade stage {i + 2} takes {expected[0]}x{expected[1]}x{expected[2]} images but the previous stage "
                f"produced {'x'.join(map(str, images.shape[1:]))}; order the --ckpt flags from low to high resolution."
            )
        options: dict[str, Any] = {"sampler": sampler, "steps": steps, "eta": eta, "augmentation_level": augmentation_level}
        if "prompts" in inspect.signature(stage.upsample).parameters:
            if not prompts:
                raise ValueError(
                    f"Cascade stage {i + 2} ({type(stage).__name__}) is text-conditional: pass the prompts (--prompt TEXT)."
                )
            options.update(
                prompts=per_image(prompts, images.shape[0]), guidance_scale=guidance_scale, dynamic_threshold=dynamic_threshold
            )
        images = stage.upsample(
            images.to(stage.device),
            seed=None if seed is None else seed + i + 1,
            use_ema=use_ema,
            progress=progress,
            **{k: v for k, v in options.items() if v is not None},
        )
    return images


def per_image(prompts: Sequence[str], num_images: int) -> list[str]:
    """One prompt per image: ``prompts`` itself, or each prompt repeated for its block of images (prompt-major)."""
    prompts = list(prompts)
    if num_images % len(prompts):
        raise ValueError(f"{num_images} images cannot be split evenly among {len(prompts)} prompts.")
    return [prompt for prompt in prompts for _ in range(num_images // len(prompts))]
