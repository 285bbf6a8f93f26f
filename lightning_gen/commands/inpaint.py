"""``lightning-gen inpaint``: fill masked regions with an unconditional DDPM (RePaint, Lugmayr et al., 2022)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import get_args

import torch

from lightning_gen.commands.common import add_device_argument, positive_int, resolve_device
from lightning_gen.commands.image_inputs import comparison_grid, load_inputs, save_outputs
from lightning_gen.data.transforms import resize
from lightning_gen.diffusion.inpainting import MaskPreset, preset_mask
from lightning_gen.models.cascade import ImageConditionedDDPM
from lightning_gen.models.ddpm import DDPM
from lightning_gen.sampling import load_model
from lightning_gen.utils.images import load_image

DESCRIPTION = (
    "Inpaint images with a DDPM checkpoint (RePaint). Writes one PNG per input and grid.png "
    "(rows: original, masked input, result)."
)
PRESETS = get_args(MaskPreset)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ckpt", required=True, help="DDPM checkpoint")
    parser.add_argument("--input", required=True, help="an image file or a folder of images")
    parser.add_argument(
        "--mask",
        required=True,
        help=f"a preset ({', '.join(PRESETS)}) or a mask image: white pixels are kept, black pixels are generated",
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--num", type=positive_int, default=None, help="use only the first N inputs")
    parser.add_argument("--steps", type=positive_int, default=250, help="RePaint steps (paper: 250)")
    parser.add_argument("--jumps", type=positive_int, default=10, help="RePaint jump length j (paper: 10)")
    parser.add_argument("--resample", type=positive_int, default=10, help="RePaint resamplings r per jump (paper: 10)")
    parser.add_argument("--label", type=int, default=None, help="class label (class-conditional models)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-ema", action="store_true", help="use the raw weights instead of the EMA ones")
    parser.add_argument("--batch-size", type=positive_int, default=256)
    add_device_argument(parser)


def _mask(spec: str, num: int, channels_size: tuple[int, int, int], seed: int) -> torch.Tensor:
    size = channels_size[-1]
    if spec in PRESETS:
        return preset_mask(spec, num, size, torch.Generator().manual_seed(seed))  # type: ignore[arg-type]
    if not Path(spec).is_file():
        raise FileNotFoundError(f"--mask {spec}: not a preset ({', '.join(PRESETS)}) and no such file.")
    mask = resize(load_image(spec, "L"), size)  # [-1, 1]; white = keep
    return (mask > 0).float()[None].expand(num, 1, size, size)


def run(args: argparse.Namespace) -> int:
    model = load_model(args.ckpt, map_location=resolve_device(args.device))
    if not isinstance(model, DDPM) or isinstance(model, ImageConditionedDDPM):
        raise ValueError(f"{args.ckpt} is a {type(model).__name__} checkpoint; inpaint needs a DDPM checkpoint.")
    channels, size, _ = model.image_shape
    images, files = load_inputs(args.input, channels=channels, size=size, num=args.num)
    mask = _mask(args.mask, images.shape[0], model.image_shape, args.seed)
    result = model.inpaint(
        images,
        mask,
        labels=args.label,
        seed=args.seed,
        use_ema=not args.no_ema,
        batch_size=args.batch_size,
        steps=args.steps,
        jumps=args.jumps,
        resample=args.resample,
    ).cpu()
    save_outputs(result, files, args.out)
    masked = images * mask + (1 - mask) * 0.0  # the region to fill shown in mid-gray
    grid = comparison_grid([images, masked, result], Path(args.out) / "grid.png")
    print(f"Inpainted {len(files)} image(s) into {args.out} (comparison: {grid})")
    return 0
