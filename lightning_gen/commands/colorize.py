"""``lightning-gen colorize``: colour versions of grayscale images with a ColorizationDDPM (Palette-style)."""

from __future__ import annotations

import argparse
from pathlib import Path

from lightning_gen.commands.common import add_device_argument, positive_int, resolve_device
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
    parser.add_argument("--sampler", default="ddim", choices=("ddpm", "ddim", "dpmpp"))
    parser.add_argument("--steps", type=positive_int, default=None, help="diffusion steps (sampler default if unset)")
    parser.add_argument("--eta", type=float, default=0.0, help="DDIM eta")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-ema", action="store_true", help="use the raw weights instead of the EMA ones")
    parser.add_argument("--batch-size", type=positive_int, default=256)
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    model = load_model(args.ckpt, map_location=resolve_device(args.device))
    if not isinstance(model, ColorizationDDPM):
        raise ValueError(f"{args.ckpt} is a {type(model).__name__} checkpoint; colorize needs a ColorizationDDPM one.")
    images, files = load_inputs(args.input, channels=3, size=model.denoiser.image_size, num=args.num)
    gray = to_grayscale(images)
    result = model.colorize(
        gray, seed=args.seed, use_ema=not args.no_ema, batch_size=args.batch_size, sampler=args.sampler,
        steps=args.steps, eta=args.eta,
    ).cpu()
    save_outputs(result, files, args.out)
    grid = comparison_grid([gray.expand(-1, 3, -1, -1), result, images], Path(args.out) / "grid.png")
    print(f"Colorized {len(files)} image(s) into {args.out} (comparison: {grid})")
    return 0
