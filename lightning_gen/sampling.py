"""Checkpoint -> samples: the one path that the CLI, notebooks and users call.

>>> from lightning_gen.sampling import load_model, save_samples
>>> model = load_model("last.ckpt")            # any lightning-gen checkpoint, no YAML needed
>>> images = model.sample(16, seed=0)           # (16, C, H, W) in [-1, 1]
>>> save_samples(images, "samples.png")        # a grid (or a folder of PNGs)
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import torch

from lightning_gen.models.base import GenerativeModule, read_checkpoint_info
from lightning_gen.nn.spec import resolve_class_path
from lightning_gen.utils.images import save_grid

__all__ = ["load_model", "sample_chain", "sample_options", "save_samples"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def load_model(ckpt: str | Path, map_location: str | torch.device = "cpu") -> GenerativeModule:
    """Rebuild the model of a lightning-gen checkpoint (class, networks, weights, EMA) in eval mode.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a lightning-gen checkpoint, or its model class cannot be imported.
    """
    info = read_checkpoint_info(ckpt)
    class_path = info.get("model", "")
    try:
        cls = resolve_class_path(class_path)
    except (ImportError, AttributeError, ValueError) as err:
        raise ValueError(
            f"{ckpt} was written by model class {class_path!r}, which this installation cannot import ({err}). "
            "Install the lightning-gen version that wrote it."
        ) from err
    model = cls.load_from_checkpoint(ckpt, map_location=map_location)
    return model.eval()


def sample_options(model: GenerativeModule, **options: Any) -> dict[str, Any]:
    """Keep the options that were set (not None) and check that ``model.sample`` takes each of them.

    Raises:
        ValueError: an option does not apply to this kind of model (names the option and the model).
    """
    given = {k: v for k, v in options.items() if v is not None}
    accepted = inspect.signature(model.sample).parameters
    for key in given:
        if key not in accepted:
            flag = "--" + key.replace("_", "-")
            usable = sorted("--" + k.replace("_", "-") for k in accepted if k not in ("num", "batch_size"))
            raise ValueError(
                f"{flag} does not apply to a {type(model).__name__} checkpoint; its sampling options are: "
                f"{', '.join(usable)}."
            )
    return given


def sample_chain(
    models: list[GenerativeModule],
    num: int,
    *,
    seed: int | None = 0,
    use_ema: bool = True,
    labels: torch.Tensor | int | None = None,
    sampler: str | None = None,
    steps: int | None = None,
    eta: float | None = None,
    guidance_scale: float | None = None,
    truncation: float | None = None,
) -> torch.Tensor:
    """Cascaded sampling (Ho et al., 2021): ``models[0].sample`` then each super-resolution stage in turn.

    Base-model options (labels, guidance, truncation ...) go to the first model only; sampler/steps/eta go to
    every diffusion stage. See :func:`lightning_gen.diffusion.cascade.upsample_chain`.
    """
    from lightning_gen.diffusion.cascade import upsample_chain

    if not models:
        raise ValueError("sample_chain needs at least one model.")
    base, *stages = models
    options = sample_options(
        base, labels=labels, sampler=sampler, steps=steps, eta=eta, guidance_scale=guidance_scale, truncation=truncation
    )
    images = base.sample(num, seed=seed, use_ema=use_ema, **options)
    return upsample_chain(stages, images, seed=seed, use_ema=use_ema, sampler=sampler, steps=steps, eta=eta)


def save_samples(images: torch.Tensor, out: str | Path, nrow: int | None = None) -> list[Path]:
    """Write [-1, 1] images: a grid if ``out`` ends in .png/.jpg, otherwise one PNG per image in folder ``out``."""
    out = Path(out)
    if images.dim() != 4:
        raise ValueError(f"Expected images of shape (N, C, H, W), got {tuple(images.shape)}.")
    if out.suffix.lower() in IMAGE_SUFFIXES:
        return [save_grid(images, out, nrow=nrow or _square_rows(images.shape[0]))]
    out.mkdir(parents=True, exist_ok=True)
    return [save_grid(img[None], out / f"{i:06d}.png", nrow=1, padding=0) for i, img in enumerate(images)]


def _square_rows(n: int) -> int:
    import math

    return max(1, math.ceil(math.sqrt(n)))
