"""``lightning-gen sample``: samples from a checkpoint alone (image grids, scatter plots of 2-D points, raw values)."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

from lightning_gen.commands.common import add_device_argument, positive_int, resolve_device
from lightning_gen.models.text_to_image import check_prompts
from lightning_gen.sampling import data_modes, load_model, sample_options, save_samples

DESCRIPTION = "Sample from a lightning-gen checkpoint (no config needed)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ckpt", required=True, action="append",
        help="checkpoint path or `lightning-gen export` folder (repeat to chain a cascade)",
    )
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
    parser.add_argument(
        "--prompt", action="append", default=None, metavar="TEXT",
        help="text-to-image models: a prompt (repeat for more); --num images per prompt, one grid row per prompt",
    )
    parser.add_argument("--prompts", default=None, metavar="FILE", help="a text file of prompts, one per line (blank lines skipped)")
    parser.add_argument(
        "--dynamic-threshold", type=float, default=None, metavar="P",
        help="diffusion: Imagen's dynamic thresholding of x0 at percentile P (e.g. 0.95) instead of clipping",
    )
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
        dynamic_threshold=args.dynamic_threshold,
        prompts=read_prompts(args, models[0]),
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
    nrow = args.nrow or (args.num if options["prompts"] else None)  # one row per prompt
    written = save_samples(images, args.out, nrow=nrow, modes=modes)
    where = written[0] if len(written) == 1 else f"{len(written)} files in {args.out}"
    print(f"Wrote {images.shape[0]} samples to {where}")
    return 0


def read_prompts(args: argparse.Namespace, model: object) -> list[str] | None:
    """The --prompt texts and the --prompts file's lines, in that order; None when neither flag is given.

    Raises:
        ValueError: the model takes no text, the file is missing or holds no prompt, or a prompt is empty.
    """
    if args.prompt is None and args.prompts is None:
        return None
    if "prompts" not in inspect.signature(model.sample).parameters:
        raise ValueError(
            f"--prompt/--prompts given, but {args.ckpt[0]} holds a {type(model).__name__}, which takes no text; drop them "
            "or pass a text-to-image checkpoint (TextToImageDDPM, an unCLIP prior)."
        )
    prompts = list(args.prompt or [])
    if args.prompts is not None:
        path = Path(args.prompts)
        if not path.is_file():
            raise FileNotFoundError(f"--prompts file not found: {path}")
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        if not any(lines):
            raise ValueError(f"--prompts file {path} holds no prompt (one per line).")
        prompts += [line for line in lines if line]
    return check_prompts(prompts)
