"""Stacked MNIST mode counting (VEEGAN, Srivastava et al., 2017; PacGAN, Lin et al., 2018, Table 3 protocol).

DCGAN, UnrolledGAN and PacDCGAN (pack 2) on 3-channel stacks of real MNIST digits (1,000 modes); 26,000
samples are classified channel by channel with the project's MNIST feature network; reported: modes with at
least one sample, and KL(sample mode histogram || uniform). The real-data row counts 26,000 real stacks
the same way (the classifier's own floor).

MNIST's training images are not available here: the stacks are built from the 10,000 real t10k digits.
The protocol (128,000 stacks, 50 epochs, batch 64, Adam 2e-4, beta1 0.5, z of 100) is GPU-sized; on a CPU
``--steps`` iterations (default 300) with narrower DCGAN networks (``--width``, default 16) are used, the
same for every method, and stated in the table.

    python -m benchmarks stacked_mnist [--quick] [--steps N] [--width W] [--unroll K]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch

from benchmarks.common import ResultFile, markdown_table, t10k_as_train_root
from lightning_gen.data import StackedMNISTDataModule
from lightning_gen.metrics import load_feature_network, stacked_mnist_modes
from lightning_gen.models import GAN, UnrolledGAN
from lightning_gen.nn import DCGANDiscriminator, DCGANGenerator

NAME = "stacked_mnist"
ANCHORS = {
    "dcgan": "99 / 3.4 (VEEGAN paper)",
    "unrolled": "817 / 1.43 (10 steps, Metz et al. via PacGAN)",
    "pacdcgan2": "1000 / 0.06 (PacGAN, pack 2)",
}


@torch.no_grad()
def classify_stacks(
    images: torch.Tensor, classifier: torch.nn.Module, batch_size: int = 1000
) -> torch.Tensor:
    """(N, 3, S, S) stacks in [-1, 1] -> (N, 3) predicted digits, one per channel."""
    digits = []
    for start in range(0, images.shape[0], batch_size):
        x = images[start : start + batch_size]
        logits = classifier(x.reshape(-1, 1, *x.shape[-2:]))  # (3B, 10): channel c of stack b at row 3b + c
        digits.append(logits.argmax(1).view(-1, 3))
    return torch.cat(digits)


def build(method: str, width: int, unroll: int) -> GAN:
    generator = DCGANGenerator(latent_dim=100, channels=3, image_size=32, base_width=width)
    pack = 2 if method == "pacdcgan2" else 1
    discriminator = DCGANDiscriminator(channels=3, image_size=32, base_width=width, pack=pack)
    adam = {"lr_g": 2e-4, "lr_d": 2e-4, "betas_g": (0.5, 0.999), "betas_d": (0.5, 0.999)}
    if method == "unrolled":
        return UnrolledGAN(generator, discriminator, unroll_steps=unroll, **adam)
    return GAN(generator, discriminator, **adam)


def run_method(
    method: str, root: Path, steps: int, width: int, unroll: int, num_eval: int, num_train: int, classifier
) -> dict[str, Any]:
    pl.seed_everything(0, verbose=False)
    model = build(method, width, unroll)
    pack = 2 if method == "pacdcgan2" else 1
    data = StackedMNISTDataModule(
        str(root), num_samples=num_train, val_samples=64, batch_size=64 * pack, seed=0
    )
    trainer = pl.Trainer(
        accelerator="auto",
        devices=1,
        max_steps=2 * steps,
        max_epochs=-1,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    start = time.perf_counter()
    trainer.fit(model, data)
    wall = time.perf_counter() - start
    samples = model.sample(num_eval, seed=1).cpu()
    count = stacked_mnist_modes(classify_stacks(samples, classifier))
    return {"modes": count.modes, "kl": count.reverse_kl, "train_wall_s": wall}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks stacked_mnist", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="3 steps, width 8, 520 samples (a smoke test)")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--width", type=int, default=None, help="DCGAN base width (protocol: 64)")
    parser.add_argument("--unroll", type=int, default=5, help="UnrolledGAN steps K")
    parser.add_argument("--num-samples", type=int, default=None, help="samples counted (protocol: 26,000)")
    args = parser.parse_args(argv)
    gpu = torch.cuda.is_available()
    steps = args.steps or (3 if args.quick else 100_000 if gpu else 300)
    width = args.width or (8 if args.quick else 64 if gpu else 16)
    num_eval = args.num_samples or (520 if args.quick else 26_000)
    num_train = 2_000 if args.quick else 128_000
    config = {
        "steps": steps,
        "width": width,
        "unroll": args.unroll,
        "num_samples": num_eval,
        "train_stacks": num_train,
        "batch": 64,
        "lr": 2e-4,
        "beta1": 0.5,
        "latent": 100,
    }
    result = ResultFile(NAME, config, quick=args.quick)
    root = t10k_as_train_root()
    classifier = load_feature_network("mnist", output="logits")
    if not result.done("real"):
        real = StackedMNISTDataModule(str(root), num_samples=num_eval, val_samples=1, seed=1)
        real.setup("fit")
        images = torch.stack([real.train_set[i][0] for i in range(len(real.train_set))])
        count = stacked_mnist_modes(classify_stacks(images, classifier))
        result.add("real", {"modes": count.modes, "kl": count.reverse_kl, "train_wall_s": 0.0})
    for method in ("dcgan", "unrolled", "pacdcgan2"):
        if not result.done(method):
            unit = run_method(method, root, steps, width, args.unroll, num_eval, num_train, classifier)
            result.add(method, unit)
            print(
                f"{method}: {unit['modes']} modes, KL {unit['kl']:.3f} ({unit['train_wall_s']:.0f} s)",
                flush=True,
            )
    rows = []
    for key in ("real", "dcgan", "unrolled", "pacdcgan2"):
        if result.done(key):
            u = result.unit(key)
            label = {"real": "real stacks (t10k digits)", "unrolled": f"unrolled (K={args.unroll})"}.get(
                key, key
            )
            wall = "" if key == "real" else f"{u['train_wall_s']:.0f}"
            rows.append([label, u["modes"], f"{u['kl']:.3f}", wall, ANCHORS.get(key, "")])
    hardware = next(iter(result.units.values()))["environment"]["hardware"]
    text = (
        f"# stacked_mnist: modes of 1,000 and KL to uniform ({num_eval} samples)\n\n"
        f"Hardware: {hardware}. Budget: {steps} iterations of batch 64 (1 D + 1 G Adam step each, lr 2e-4, "
        f"beta1 0.5, z of 100), DCGAN base width {width} (protocol: 64; 50 epochs of 128,000 stacks = 100,000 "
        f"iterations), the same for every method; stacks of the real MNIST t10k digits ({num_train} training stacks); "
        "digits classified with the project's MNIST feature network. Target for the best method: >= 990 modes, KL <= 0.1.\n\n"
        + markdown_table(["method", "modes", "KL", "train wall s", "paper: modes / KL"], rows)
    )
    best = max(
        (result.unit(k) for k in ("dcgan", "unrolled", "pacdcgan2") if result.done(k)),
        key=lambda u: u["modes"],
        default=None,
    )
    met = best is not None and best["modes"] >= 990 and best["kl"] <= 0.1
    text += f"\nTarget met: {'yes' if met else 'no'}.\n"
    result.set_summary({"target_met": met}, text)
    print(text)
    return 0
