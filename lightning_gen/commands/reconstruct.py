"""``lightning-gen reconstruct``: originals (top rows) and autoencoder reconstructions (bottom rows)."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from lightning_gen.commands.common import add_device_argument, positive_int, resolve_device
from lightning_gen.sampling import load_model
from lightning_gen.utils.images import load_image, save_grid

DESCRIPTION = "Reconstruct images with an autoencoder checkpoint: originals above, reconstructions below."
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ckpt", required=True, help="AutoEncoder checkpoint")
    parser.add_argument(
        "--data",
        required=True,
        help="an image file, a folder of images, or 'digits' / 'mnist:ROOT' for a built-in test split",
    )
    parser.add_argument("--out", required=True, help="output grid FILE.png")
    parser.add_argument("--num", type=positive_int, default=16, help="how many images to reconstruct")
    add_device_argument(parser)


def _load_inputs(spec: str, model, num: int) -> torch.Tensor:
    shape = tuple(model.encoder.input_shape) if hasattr(model.encoder, "input_shape") else None
    channels = getattr(model.encoder, "channels", shape[0] if shape else 1)
    size = getattr(model.encoder, "image_size", shape[-1] if shape else 32)
    if spec == "digits" or spec.startswith("mnist:"):
        from lightning_gen.data import DigitsDataModule, MNISTDataModule

        dm = (
            DigitsDataModule(image_size=size, batch_size=num)
            if spec == "digits"
            else MNISTDataModule(root=spec.split(":", 1)[1], image_size=size, batch_size=num)
        )
        dm.setup("test")
        return next(iter(dm.test_dataloader()))[0][:num]
    path = Path(spec)
    if not path.exists():
        raise FileNotFoundError(f"--data {spec}: no such file or folder (or use 'digits' / 'mnist:ROOT').")
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise FileNotFoundError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) found in {path}.")
    mode = "L" if channels == 1 else "RGB"
    images = [load_image(f, mode) for f in files[:num]]
    resized = [torch.nn.functional.interpolate(i[None], size=(size, size), mode="bilinear", antialias=True)[0] for i in images]
    return torch.stack(resized)


def run(args: argparse.Namespace) -> int:
    model = load_model(args.ckpt, map_location=resolve_device(args.device))
    if not hasattr(model, "reconstruct"):
        raise ValueError(f"{args.ckpt} is a {type(model).__name__} checkpoint; reconstruct needs an AutoEncoder.")
    x = _load_inputs(args.data, model, args.num)
    recon = model.reconstruct(x).cpu()
    nrow = min(8, x.shape[0])
    rows = []
    for start in range(0, x.shape[0], nrow):  # originals row, then its reconstructions row
        rows += [x[start : start + nrow], recon[start : start + nrow]]
    path = save_grid(torch.cat(rows), args.out, nrow=nrow)
    print(f"Wrote {x.shape[0]} originals and reconstructions to {path}")
    return 0
