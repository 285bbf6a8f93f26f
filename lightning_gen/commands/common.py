"""Argument helpers shared by the subcommands."""

from __future__ import annotations

import argparse
from typing import get_args

import torch

from lightning_gen.diffusion.samplers import Sampler, SamplingOptions

__all__ = [
    "add_device_argument",
    "add_sampling_arguments",
    "positive_int",
    "resolve_device",
    "sampling_options",
]


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from err
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 ... (default: cuda if available)")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def add_sampling_arguments(parser: argparse.ArgumentParser) -> None:
    """The diffusion sampler's options of the image-to-image commands (colorize, superres)."""
    parser.add_argument("--sampler", default="ddim", choices=get_args(Sampler))
    parser.add_argument("--steps", type=positive_int, default=None, help="diffusion steps (sampler default if unset)")
    parser.add_argument("--eta", type=float, default=0.0, help="DDIM eta")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-ema", action="store_true", help="use the raw weights instead of the EMA ones")
    parser.add_argument("--batch-size", type=positive_int, default=256)


def sampling_options(args: argparse.Namespace) -> SamplingOptions:
    """The :class:`SamplingOptions` given by :func:`add_sampling_arguments`' flags."""
    return SamplingOptions(
        seed=args.seed, use_ema=not args.no_ema, batch_size=args.batch_size, sampler=args.sampler,
        steps=args.steps, eta=args.eta,
    )
