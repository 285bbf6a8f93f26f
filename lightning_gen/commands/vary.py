"""``lightning-gen vary``: image variations with an unCLIP decoder (Ramesh et al., 2022, Section 3.1)."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from lightning_gen.commands.common import (
    add_device_argument,
    add_sampling_arguments,
    positive_int,
    resolve_device,
    sampling_options,
)
from lightning_gen.commands.image_inputs import load_inputs
from lightning_gen.models.unclip_decoder import UnCLIPDecoder
from lightning_gen.sampling import load_model
from lightning_gen.utils.images import save_grid

DESCRIPTION = (
    "Variations of images with an UnCLIPDecoder checkpoint: each input is encoded by the decoder's CLIP image "
    "tower and decoded --num times. Writes one PNG per variation and grid.png (one row per input: the input, "
    "then its variations)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ckpt", required=True, help="UnCLIPDecoder checkpoint")
    parser.add_argument("--input", required=True, help="an image file or a folder of images")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--num", type=positive_int, default=8, help="variations per input image")
    parser.add_argument("--max-inputs", type=positive_int, default=None, help="use only the first N inputs")
    parser.add_argument("--prompt", default=None, help="caption for every input (decoders that also read text)")
    parser.add_argument("--guidance-scale", type=float, default=None, help="classifier-free guidance on the embedding")
    add_sampling_arguments(parser)
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    model = load_model(args.ckpt, map_location=resolve_device(args.device))
    if not isinstance(model, UnCLIPDecoder):
        raise ValueError(f"{args.ckpt} is a {type(model).__name__} checkpoint; vary needs an UnCLIPDecoder one.")
    if model.reads_text and args.prompt is None:
        raise ValueError("This decoder also reads a caption; pass --prompt TEXT (used for every input).")
    channels, size = model.image_shape[:2]
    images, files = load_inputs(args.input, channels=channels, size=size, num=args.max_inputs)
    prompts = None if args.prompt is None else [args.prompt] * len(files)
    variations = model.vary(images, args.num, prompts=prompts, guidance_scale=args.guidance_scale, **sampling_options(args)).cpu()
    out = Path(args.out)
    rows = []
    for i, path in enumerate(files):
        batch = variations[i * args.num : (i + 1) * args.num]
        for j, image in enumerate(batch):
            save_grid(image[None], out / f"{i:04d}_{path.stem}_{j:02d}.png", nrow=1, padding=0)
        rows.append(torch.cat([images[i : i + 1].float(), batch]))
    grid = save_grid(torch.cat(rows), out / "grid.png", nrow=args.num + 1)
    print(f"Wrote {args.num} variation(s) of each of {len(files)} image(s) to {out} (grid: {grid})")
    return 0

