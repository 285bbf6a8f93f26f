"""``lightning-gen superres``: upsample images with the super-resolution stage of a cascade (Ho et al., 2021)."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch.nn.functional as F

from lightning_gen.commands.common import (
    add_device_argument,
    add_sampling_arguments,
    positive_int,
    resolve_device,
    sampling_options,
)
from lightning_gen.commands.image_inputs import comparison_grid, load_inputs, save_outputs
from lightning_gen.models.cascade import SuperResolutionDDPM
from lightning_gen.sampling import load_model

DESCRIPTION = (
    "Super-resolve images with a SuperResolutionDDPM checkpoint. Inputs are resized to the stage's input size. "
    "Writes one PNG per input and grid.png (rows: input, bilinear upsampling, result)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ckpt", required=True, help="SuperResolutionDDPM checkpoint")
    parser.add_argument("--input", required=True, help="an image file or a folder of images")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--num", type=positive_int, default=None, help="use only the first N inputs")
    add_sampling_arguments(parser)
    parser.add_argument(
        "--augmentation-level", type=int, default=None,
        help="conditioning augmentation level s in timesteps (default: the checkpoint's sampling level)",
    )
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    model = load_model(args.ckpt, map_location=resolve_device(args.device))
    if not isinstance(model, SuperResolutionDDPM):
        raise ValueError(f"{args.ckpt} is a {type(model).__name__} checkpoint; superres needs a SuperResolutionDDPM one.")
    low, files = load_inputs(args.input, channels=model.denoiser.channels, size=model.low_res_size, num=args.num)
    result = model.upsample(low, augmentation_level=args.augmentation_level, **sampling_options(args)).cpu()
    save_outputs(result, files, args.out)
    size = model.denoiser.image_size
    nearest = F.interpolate(low, size=size, mode="nearest")
    bilinear = F.interpolate(low, size=size, mode="bilinear", align_corners=False).clamp(-1, 1)
    grid = comparison_grid([nearest, bilinear, result], Path(args.out) / "grid.png")
    print(f"Super-resolved {len(files)} image(s) {model.low_res_size}->{size} into {args.out} (comparison: {grid})")
    return 0
