"""Sample quality of gan_mnist and dcgan_mnist after a fixed budget: IS, FID, KID, precision, recall.

Both configs are trained with ``lightning-gen fit --config configs/<name>.yaml`` (through
:class:`lightning_gen.cli.LightningGenCLI`) for the same number of iterations on a root whose training
files are the real MNIST t10k files (the official training images are not available here), then scored
with ``lightning-gen evaluate`` against the t10k digits with the project's MNIST feature network.
The same table holds the real-data references, computed with the same feature network:
the floor (two disjoint halves of t10k, 5,000 vs 5,000), the IS of the 2,000 digits the classifier never
saw, and the ceiling (uniform noise images).

    python -m benchmarks mnist_quality [--quick] [--steps N] [--num-samples N]

Training is resumable: a rerun with a larger ``--steps`` continues each config from the last checkpoint in
``benchmarks/work/mnist_quality/<config>`` (same config, data and batch size) instead of starting over; the
table's wall time is that of the last invocation, and the JSON says from which iteration it resumed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import WORK_DIR, ResultFile, markdown_table, t10k_as_train_root
from benchmarks.feature_nets import score
from lightning_gen.data import read_mnist
from lightning_gen.metrics import ImageMetrics, load_feature_network, mnist_feature_split

NAME = "mnist_quality"
CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
CONFIGS = ("gan_mnist", "dcgan_mnist")


def references(root: str, num: int, features) -> dict[str, dict[str, float]]:
    images, _ = read_mnist(root, "test")
    real = images.unsqueeze(1).float() / 127.5 - 1.0  # (10000, 1, 28, 28) in [-1, 1]
    half = min(num, real.shape[0] // 2)
    _, held_out = mnist_feature_split(real.shape[0])
    out = {}
    out["real_halves"] = score(
        ImageMetrics(("fid", "kid", "pr", "is"), features), real[:half], real[half : 2 * half]
    )
    out["real_held_out_is"] = score(ImageMetrics(("is",), features), None, real[held_out])
    noise = torch.rand(half, *real.shape[1:], generator=torch.Generator().manual_seed(0)) * 2 - 1
    out["noise"] = score(ImageMetrics(("fid", "kid", "pr", "is"), features), real[:half], noise)
    return out


def train_and_evaluate(config: str, root: str, steps: int, batch_size: int, num: int) -> dict[str, Any]:
    from lightning_gen.cli import LightningGenCLI
    from lightning_gen.cli import main as cli_main

    out_dir = WORK_DIR / NAME / config
    previous = out_dir / "checkpoints" / "last.ckpt"
    resumed_from = torch.load(previous, map_location="cpu", weights_only=True)["global_step"] // 2 if previous.is_file() else 0
    if resumed_from > steps:
        raise ValueError(f"{previous} is already at {resumed_from} iterations, past --steps {steps}; delete {out_dir} to start over.")
    resume = ["--ckpt_path", str(previous)] if resumed_from else []
    start = time.perf_counter()
    cli = LightningGenCLI(
        args=[
            "fit",
            "--config",
            str(CONFIG_DIR / f"{config}.yaml"),
            "--data.init_args.root",
            root,
            "--data.init_args.batch_size",
            str(batch_size),
            "--trainer.max_steps",
            str(2 * steps),
            "--trainer.max_epochs",
            "-1",
            "--trainer.default_root_dir",
            str(out_dir),
            "--trainer.enable_progress_bar",
            "false",
            "--trainer.limit_val_batches",
            "0",
            "--trainer.logger",
            "false",
            *resume,
        ]
    )
    wall = time.perf_counter() - start
    ckpt = cli.trainer.checkpoint_callback.last_model_path
    report = out_dir / "evaluate.json"
    code = cli_main(
        [
            "evaluate",
            "--ckpt",
            ckpt,
            "--data",
            f"mnist:{root}",
            "--num-samples",
            str(num),
            "--out",
            str(report),
        ]
    )
    if code != 0:
        raise RuntimeError(f"lightning-gen evaluate failed for {ckpt}")
    result = json.loads(report.read_text())
    return {
        "train_wall_s": wall,
        "resumed_from_iterations": resumed_from,
        "metrics": result["metrics"],
        "num_real": result["num_real"],
        "feature_net": result["feature_net"],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks mnist_quality", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="2 steps, 300 samples (a smoke test)")
    parser.add_argument(
        "--steps", type=int, default=None, help="training iterations per config (default: 150 on a CPU)"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--num-samples", type=int, default=None, help="generated images scored (default 5000)"
    )
    args = parser.parse_args(argv)
    steps = args.steps or (2 if args.quick else 20_000 if torch.cuda.is_available() else 150)
    num = args.num_samples or (300 if args.quick else 5000)
    config = {"steps": steps, "batch_size": args.batch_size, "num_samples": num}
    result = ResultFile(NAME, config, quick=args.quick)
    root = str(t10k_as_train_root())
    features = load_feature_network("mnist")
    if not result.done("references"):
        result.add("references", references(root, num, features))
    for name in CONFIGS:
        if not result.done(name):
            result.add(name, train_and_evaluate(name, root, steps, args.batch_size, num))
            print(f"{name}: {result.unit(name)['metrics']}", flush=True)
    refs = result.unit("references")
    cols = ["is_mean", "fid", "kid_mean", "precision", "recall"]
    rows = []
    for name in CONFIGS:
        if result.done(name):
            m = result.unit(name)["metrics"]
            unit = result.unit(name)
            wall = f"{unit['train_wall_s']:.0f}" + (f" (from {unit['resumed_from_iterations']})" if unit.get("resumed_from_iterations") else "")
            rows.append([name, *(f"{m[c]:.4f}" for c in cols), wall])
    rows.append(
        ["real vs real (disjoint halves: floor)", *(f"{refs['real_halves'][c]:.4f}" for c in cols), ""]
    )
    rows.append(["uniform noise (ceiling)", *(f"{refs['noise'][c]:.4f}" for c in cols), ""])
    hardware = next(iter(result.units.values()))["environment"]["hardware"]
    info = load_feature_network("mnist").name
    text = (
        f"# mnist_quality: {num} samples vs real MNIST t10k, feature network: {info}\n\n"
        f"Hardware: {hardware}. Budget: {steps} iterations of batch {args.batch_size} per config (configs/gan_mnist.yaml "
        "and configs/dcgan_mnist.yaml unchanged otherwise), trained on the real t10k digits (official training images "
        "are not available). These FIDs use the project's MNIST classifier features, not Inception: they are not "
        "comparable to published FIDs.\n\n"
        + markdown_table(["model", "IS", "FID", "KID", "precision", "recall", "train wall s (resumed from iteration)"], rows)
        + f"\nIS of the 2,000 real held-out digits (never seen by the classifier): {refs['real_held_out_is']['is_mean']:.3f} "
        f"(the maximum is 10).\n"
    )
    result.set_summary({"references": refs}, text)
    print(text)
    return 0
