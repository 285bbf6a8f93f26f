"""``lightning-gen colorize``: colour versions of grayscale images with a ColorizationDDPM (Palette-style)."""

from __future__ import annotations

import argparse
from pathlib import Path

from lightning_gen.commands.common import (
    add_device_argument,
    add_sampling_arguments,
    positive_int,
    resolve_device,
    sampling_options,
)
from lightning_gen.commands.image_inputs import comparison_grid, load_inputs, save_outputs
from lightning_gen.models.colorization import ColorizationDDPM, to_grayscale
from lightning_gen.sampling import load_model

DESCRIPTION = (
    "Colorize images with a ColorizationDDPM checkpoint (colour inputs are converted to grayscale first). "
    "Writes one PNG per input and grid.png (rows: grayscale input, result, input as given)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ckpt", required=True, help="ColorizationDDPM checkpoint")
    parser.add_argument("--input", required=True, help="an image file or a folder of images (gray or colour)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--num", type=positive_int, default=None, help="use only the first N inputs")
    add_sampling_arguments(parser)
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    model = load_model(args.ckpt, map_location=resolve_device(args.device))
    if not isinstance(model, ColorizationDDPM):
        raise ValueError(f"{args.ckpt} is a {type(model).__name__} checkpoint; colorize needs a ColorizationDDPM one.")
    images, files = load_inputs(args.input, channels=3, size=model.denoiser.image_size, num=args.num)
    gray = to_grayscale(images)
    result = model.colorize(gray, **sampling_options(args)).cpu()
    save_outputs(result, files, args.out)
    grid = comparison_grid([gray.expand(-1, 3, -1, -1), result, images], Path(args.out) / "grid.png")
    print(f"Colorized {len(files)} image(s) into {args.out} (comparison: {grid})")
    return 0
