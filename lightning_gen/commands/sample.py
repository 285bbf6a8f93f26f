"""``lightning-gen sample``: samples from a checkpoint alone (image grids, scatter plots of 2-D points, raw values)."""

from __future__ import annotations

import argparse

from lightning_gen.commands.common import add_device_argument, positive_int, resolve_device
from lightning_gen.sampling import data_modes, load_model, sample_options, save_samples

DESCRIPTION = "Sample from a lightning-gen checkpoint (no config needed)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ckpt", required=True, action="append", help="checkpoint path (repeat to chain a cascade)")
    parser.add_argument("--num", type=positive_int, default=64, help="number of samples (>= 1)")
    parser.add_argument(
        "--out", required=True,
        help="FILE.png: a grid of images, or a scatter plot of 2-D points (with the data's modes when the "
        "checkpoint records them); FILE.pt, .npy or .csv: the raw samples (any model); a folder: one PNG per image",
    )
    parser.add_argument("--seed", type=int, default=0, help="same seed, same images")
    parser.add_argument("--label", type=int, default=None, help="class label (conditional models)")
    parser.add_argument("--no-ema", action="store_true", help="use the raw weights instead of the EMA ones")
    parser.add_argument("--truncation", type=float, default=None, help="truncation threshold for z (GANs)")
    parser.add_argument(
        "--standing-stats", type=positive_int, default=None, metavar="N",
        help="GANs with BatchNorm: recompute its statistics over N batches of noise first (BigGAN's standing statistics)",
    )
    parser.add_argument("--sampler", default=None, help="diffusion sampler: ddpm, ddim or dpmpp")
    parser.add_argument("--steps", type=positive_int, default=None, help="diffusion sampling steps")
    parser.add_argument("--eta", type=float, default=None, help="DDIM eta")
    parser.add_argument("--guidance-scale", type=float, default=None, help="classifier-free guidance scale")
    parser.add_argument("--batch-size", type=positive_int, default=256)
    parser.add_argument("--nrow", type=positive_int, default=None, help="images per grid row")
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    models = [load_model(path, map_location=device) for path in args.ckpt]
    options = dict(
        labels=args.label,
        truncation=args.truncation,
        sampler=args.sampler,
        steps=args.steps,
        eta=args.eta,
        guidance_scale=args.guidance_scale,
    )
    if len(models) == 1:
        model = models[0]
        kwargs = sample_options(model, **options, standing_stats=args.standing_stats)
        images = model.sample(args.num, seed=args.seed, use_ema=not args.no_ema, batch_size=args.batch_size, **kwargs)
    else:
        if args.standing_stats is not None:
            raise ValueError("--standing-stats applies to one GAN checkpoint, not to a cascade of --ckpt stages.")
        from lightning_gen.sampling import sample_chain

        images = sample_chain(models, args.num, seed=args.seed, use_ema=not args.no_ema, **options)
    modes = data_modes(args.ckpt[0]) if images.dim() == 2 else None
    written = save_samples(images, args.out, nrow=args.nrow, modes=modes)
    where = written[0] if len(written) == 1 else f"{len(written)} files in {args.out}"
    print(f"Wrote {args.num} samples to {where}")
    return 0
