"""``lightning-gen export``: a checkpoint as files that load without unpickling anything.

``DIR/lightning_gen.json`` describes the model (class, hyper-parameters, every network's class and
arguments, and the extra states that are not tensors, e.g. a trained text tower's tokenizer);
``DIR/model.safetensors`` holds its weights, every averaged network's EMA average in place of its raw weights
(:meth:`~lightning_gen.models.base.GenerativeModule.averaged_networks`). The optimiser states, the raw weights of an averaged network and the training counters are
left out: the export samples, it does not resume. :func:`lightning_gen.sampling.load_model` reads it back.
A DDPM with an unconditional :class:`~lightning_gen.nn.UNetDenoiser` also gets ``DIR/diffusers``, a
``diffusers.DDPMPipeline`` folder (its ``UNet2DModel`` and the training schedule's ``DDPMScheduler``).
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path
from typing import Any

import torch

from lightning_gen.models.base import CHECKPOINT_KEY, GenerativeModule
from lightning_gen.nn.ema import EMA
from lightning_gen.sampling import (
    EXPORT_DESCRIPTION,
    EXPORT_FORMAT,
    EXPORT_WEIGHTS,
    data_modes,
    load_model,
    read_checkpoint_safely,
)

__all__ = ["DESCRIPTION", "add_arguments", "export_model", "run"]

DESCRIPTION = "Export a checkpoint as safetensors + JSON (no pickle), plus a diffusers folder for DDPM models."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ckpt", required=True, help="lightning-gen checkpoint (.ckpt)")
    parser.add_argument("--out", required=True, help="folder to write (created; existing export files are replaced)")


def run(args: argparse.Namespace) -> int:
    written = export_model(args.ckpt, args.out)
    print(f"Exported {args.ckpt} to {args.out}: " + ", ".join(str(p.relative_to(args.out)) for p in written))
    print(f"Sample from it: lightning-gen sample --ckpt {args.out} --num 64 --out samples.png")
    return 0


def export_model(ckpt: str | Path, out: str | Path) -> list[Path]:
    """Write the export of ``ckpt`` into folder ``out``; returns the files and folders written.

    Raises:
        FileNotFoundError, ValueError: see :func:`~lightning_gen.sampling.load_model`; ValueError also when a
            hyper-parameter is not a plain JSON value (names it).
    """
    from safetensors.torch import save_file

    model = load_model(ckpt)
    checkpoint = read_checkpoint_safely(ckpt)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    description = {
        "format": EXPORT_FORMAT,
        "model": f"{type(model).__module__}.{type(model).__qualname__}",
        "hyper_parameters": _plain_hparams(model),
        "networks": checkpoint[CHECKPOINT_KEY]["networks"],
        "sampling_network": model.sampling_network,
        "averaged": isinstance(getattr(model, "ema", None), EMA),
        "data_modes": None if (modes := data_modes(ckpt)) is None else modes.tolist(),
        "source": {"checkpoint": Path(ckpt).name}
        | {key: int(checkpoint[key]) for key in ("global_step", "epoch") if key in checkpoint},
    }
    tensors, extra_state = sampling_weights(model)
    if extra_state:
        description["extra_state"] = extra_state
    save_file(tensors, out / EXPORT_WEIGHTS, metadata={"format": "pt"})
    (out / EXPORT_DESCRIPTION).write_text(json.dumps(description, indent=2) + "\n")
    written = [out / EXPORT_DESCRIPTION, out / EXPORT_WEIGHTS]
    if diffusers_compatible(model):
        written.append(write_diffusers(model, out / "diffusers"))
    return written


def sampling_weights(model: GenerativeModule) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The model's state without its EMA modules, every averaged network's weights replaced by its average:
    ``(tensors, extra states)``, the extra states being the entries that are not tensors (a tokenizer's JSON).

    Raises:
        ValueError: an extra state that JSON cannot hold (names it).
    """
    averaged = model.averaged_networks()
    dropped = {child for child, module in model.named_children() if isinstance(module, EMA)} | set(averaged.values())
    state = {key: value for key, value in model.state_dict().items() if key.split(".", 1)[0] not in dropped}
    for ema, network in averaged.items():
        state.update({f"{network}.{key}": value for key, value in getattr(model, ema).shadow.state_dict().items()})
    tensors = {key: value.detach().cpu().contiguous().clone() for key, value in state.items() if isinstance(value, torch.Tensor)}
    extra = {key: value for key, value in state.items() if not isinstance(value, torch.Tensor)}
    for key, value in extra.items():
        try:
            json.dumps(value)
        except TypeError as err:
            raise ValueError(f"{key} is a {type(value).__name__}, which the export's JSON cannot hold ({err}).") from err
    return tensors, extra


def diffusers_compatible(model: GenerativeModule) -> bool:
    """A DDPM whose denoiser is an unconditional :class:`UNetDenoiser` (what ``DDPMPipeline`` can run)."""
    from lightning_gen.models.ddpm import DDPM
    from lightning_gen.nn.unet import UNetDenoiser

    denoiser = model.sampler_network(use_ema=True) if isinstance(model, DDPM) else None
    return (
        isinstance(denoiser, UNetDenoiser)
        and not denoiser.num_classes and not denoiser.cond_channels and not denoiser.cond_level_input
    )


def write_diffusers(model: GenerativeModule, folder: Path) -> Path:
    """``DDPMPipeline(unet, scheduler).save_pretrained(folder)``: the (averaged) denoiser's ``UNet2DModel``
    and the ancestral sampler's ``DDPMScheduler`` of the training schedule and prediction type."""
    from diffusers import DDPMPipeline

    from lightning_gen.diffusion.samplers import make_scheduler

    unet = copy.deepcopy(model.sampler_network(use_ema=True).unet).float().cpu()
    scheduler = make_scheduler("ddpm", model.noise_schedule, model.hparams.prediction_type)
    DDPMPipeline(unet=unet, scheduler=scheduler).save_pretrained(folder, safe_serialization=True)
    return folder


def _plain_hparams(model: GenerativeModule) -> dict[str, Any]:
    hparams = model.constructor_hparams()  # what the class's __init__ takes (as a checkpoint keeps)
    for key, value in hparams.items():
        try:
            json.dumps(value)
        except TypeError as err:
            raise ValueError(
                f"Cannot export hyper-parameter {key}={value!r} of {type(model).__name__}: it is not a plain JSON "
                "value (numbers, strings, lists, dicts)."
            ) from err
    return hparams
