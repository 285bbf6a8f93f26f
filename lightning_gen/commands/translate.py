"""``lightning-gen translate``: translate images with a CycleGAN checkpoint (Zhu et al., 2017)."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from lightning_gen.commands.common import add_device_argument, positive_int, resolve_device
from lightning_gen.data.image_folder import IMAGE_EXTENSIONS
from lightning_gen.data.transforms import center_crop_resize
from lightning_gen.sampling import load_model
from lightning_gen.utils.images import load_image, save_grid

DESCRIPTION = "Translate images A -> B (a2b) or B -> A (b2a) with a CycleGAN checkpoint (no config needed)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ckpt", required=True, help="CycleGAN checkpoint")
    parser.add_argument("--direction", required=True, choices=("a2b", "b2a"), help="a2b: A -> B, b2a: B -> A")
    parser.add_argument(
        "--input", required=True, help="an image file or a folder of images (searched recursively)"
    )
    parser.add_argument("--out", required=True, help="output folder: one PNG per input, same file stem")
    parser.add_argument(
        "--size",
        type=positive_int,
        default=None,
        help="resize inputs to SIZE x SIZE (default: the training size)",
    )
    parser.add_argument(
        "--grid", default=None, help="also write inputs (odd rows) and translations as one PNG grid"
    )
    parser.add_argument("--batch-size", type=positive_int, default=64)
    add_device_argument(parser)


def input_files(spec: str) -> list[Path]:
    """The image files named by ``--input`` (a file, or a folder searched recursively), sorted.

    Raises:
        FileNotFoundError: nothing there, or no image in the folder.
    """
    path = Path(spec)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"--input {spec}: no such file or folder.")
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise FileNotFoundError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) found in {path}.")
    return files


def run(args: argparse.Namespace) -> int:
    model = load_model(args.ckpt, map_location=resolve_device(args.device))
    if not hasattr(model, "translate"):
        raise ValueError(
            f"{args.ckpt} is a {type(model).__name__} checkpoint; translate needs a CycleGAN one "
            "(use `lightning-gen sample` for models that sample from noise)."
        )
    network = model.generator_ab if args.direction == "a2b" else model.generator_ba
    channels = getattr(network, "in_channels", 3)
    size = args.size or int(model.image_size)
    if size == 0:
        raise ValueError(
            f"{args.ckpt} does not record its training image size (it was never trained); pass --size."
        )
    files = input_files(args.input)
    images = torch.stack(
        [center_crop_resize(load_image(f, "L" if channels == 1 else "RGB"), size) for f in files]
    )
    translated = model.translate(images, args.direction, batch_size=args.batch_size).cpu()
    out = Path(args.out)
    names = [f.stem for f in files]
    if len(set(names)) != len(names):  # files of the same name in different subfolders: keep them apart
        names = [str(f.relative_to(args.input)).replace("/", "_").rsplit(".", 1)[0] for f in files]
    for name, image in zip(names, translated, strict=True):
        save_grid(image[None], out / f"{name}.png", nrow=1, padding=0)
    if args.grid:
        nrow = min(8, len(files))
        rows = []
        for start in range(0, len(files), nrow):
            rows += [images[start : start + nrow], translated[start : start + nrow]]
        save_grid(torch.cat(rows), args.grid, nrow=nrow)
    print(f"Translated {len(files)} image(s) {args.direction} into {out}")
    return 0
