"""Sample quality vs number of function evaluations (NFE) for the samplers of one trained DDPM (ddpm_mnist).

Samplers: ancestral DDPM with all 1000 steps (Ho et al., 2020), DDIM eta=0 with 10/20/50/100 steps (Song
et al., 2021) and DPM-Solver++(2M) with 10/20 steps (Lu et al., 2022), all from the same checkpoint (EMA
weights), the same seed and the same number of samples. Scores: FID, IS and precision/recall with the
project's MNIST feature network (lightning_gen.metrics, ``"mnist"``), against real MNIST t10k digits that
the feature network never saw (its 2,000 held-out images). The same table holds a real-data floor: that
many *other* real digits scored the same way. Anchor (CIFAR-10, Song et al. 2021, Table 1): DDIM FID
13.36 / 6.84 / 4.67 / 4.16 at 10 / 20 / 50 / 100 steps vs 3.17 for 1000-step DDPM. Target: some sampler
at 20 steps within 10% of the 1000-step FID.

    python -m benchmarks diffusion_nfe [--quick] [--ckpt PATH] [--num-samples N]

Without ``--ckpt`` the checkpoint is the ``ddpm_mnist`` run of :mod:`benchmarks.diffusion_runs` (configs/
ddpm_mnist.yaml, 4,000 steps), trained or resumed first when missing; ``--quick`` trains a tiny one in seconds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import torch

import benchmarks.common as common
from benchmarks.common import ResultFile, markdown_table, repo_path
from benchmarks.diffusion_runs import ensure_checkpoint, training_wall_s
from lightning_gen.data import read_mnist
from lightning_gen.diffusion.samplers import TIMESTEP_SPACING
from lightning_gen.metrics import ImageMetrics, load_feature_network, mnist_feature_split
from lightning_gen.sampling import load_model

NAME = "diffusion_nfe"
SAMPLERS = (
    ("ddpm", 1000),
    ("ddim", 10),
    ("ddim", 20),
    ("ddim", 50),
    ("ddim", 100),
    ("dpmpp", 10),
    ("dpmpp", 20),
)
QUICK_SAMPLERS = (
    ("ddpm", 40),
    ("ddim", 10),
    ("ddim", 20),
    ("dpmpp", 10),
    ("dpmpp", 20),
)  # pipeline check only
NAMES = ("fid", "kid", "is", "pr")  # KID is unbiased at small sample counts, FID is not


def real_digits(root: Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(held-out, other) real MNIST t10k digits in [-1, 1], (N, 1, 28, 28): the 2,000 the MNIST feature
    network never saw, and the other 8,000 (``root``: default ``../shared/data/mnist``)."""
    images, _ = read_mnist(root or common.SHARED_DATA / "mnist", "test")
    real = images.unsqueeze(1).float() / 127.5 - 1.0
    train_idx, held_out = mnist_feature_split(real.shape[0])
    return real[held_out], real[train_idx]


def score(
    real: torch.Tensor, fake: torch.Tensor, features, names=("fid", "is", "pr"), batch: int = 500
) -> dict[str, float]:
    """Metrics of ``fake`` against ``real`` with one feature network (:class:`ImageMetrics`)."""
    metrics = ImageMetrics(names, features)
    for i in range(0, real.shape[0], batch):
        metrics.update_real(real[i : i + batch])
    for i in range(0, fake.shape[0], batch):
        metrics.update_fake(fake[i : i + batch])
    return metrics.compute()


def checkpoint_facts(path: str | Path) -> dict[str, Any]:
    """What a result must say about its model: file, training steps, epoch, model class and options."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    return {
        "checkpoint": repo_path(Path(path).resolve()),
        "global_step": int(ckpt.get("global_step", -1)),
        "epoch": int(ckpt.get("epoch", -1)),
        "model": ckpt.get("lightning_gen", {}).get("model"),
        "hparams": {
            k: v
            for k, v in ckpt.get("hyper_parameters", {}).items()
            if isinstance(v, int | float | str | bool)
        },
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks {NAME}")
    parser.add_argument(
        "--quick", action="store_true", help="8 samples, 40 ancestral steps: checks the pipeline only"
    )
    parser.add_argument(
        "--ckpt", default=None, help="default: the ddpm_mnist run under benchmarks/work/runs (trained if missing)"
    )
    parser.add_argument("--num-samples", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args(argv)
    num = 8 if args.quick else args.num_samples
    samplers = QUICK_SAMPLERS if args.quick else SAMPLERS
    torch.manual_seed(0)
    run = "ddpm_mnist_quick" if args.quick else "ddpm_mnist"
    args.ckpt = args.ckpt or str(ensure_checkpoint("ddpm_mnist", quick=args.quick))
    model = load_model(args.ckpt)
    facts = checkpoint_facts(args.ckpt)
    config = {"checkpoint": facts, "num_samples": num, "seed": 0, "samplers": [list(s) for s in samplers],
              "reference": "MNIST t10k, the 2,000 digits held out from the feature network",
              "feature_net": "mnist", "training_wall_s": training_wall_s(run),
              "timestep_spacing": TIMESTEP_SPACING, "x0_clipping": "static [-1, 1], every sampler"}  # fmt: skip
    result = ResultFile(NAME, config, quick=args.quick)
    held_out, others = real_digits()
    features = load_feature_network("mnist")
    if not result.done("real_floor"):
        result.add("real_floor", {**score(held_out, others[:num], features, NAMES), "num_samples": num})
    for sampler, steps in samplers:
        key = f"{sampler}-{steps}"
        if result.done(key):
            continue
        start = time.perf_counter()
        images = model.sample(
            num, seed=0, sampler=sampler, steps=steps, batch_size=args.batch_size, progress=False
        )
        wall = time.perf_counter() - start
        result.add(key, {**score(held_out, images, features, NAMES), "sampler": sampler, "nfe": steps, "num_samples": num,
                         "sampling_wall_s": round(wall, 1)})  # fmt: skip
        print(f"{key}: {result.unit(key)['fid']:.2f} FID ({wall:.0f} s)", flush=True)
    units = result.units
    ancestral_key = f"ddpm-{samplers[0][1]}"
    ancestral = units[ancestral_key]["fid"]
    at20 = {k: units[k]["fid"] for k in ("ddim-20", "dpmpp-20")}
    best_key = min(at20, key=at20.get)
    ratio = at20[best_key] / ancestral
    summary = {"ancestral": ancestral_key, "fid_ancestral": ancestral, "best_20_step": best_key, "best_20_step_fid": at20[best_key],
               "ratio_to_1000_step": ratio, "target": "a 20-step sampler within 10% of the 1000-step FID",
               "target_met": bool(ratio <= 1.10)}  # fmt: skip
    env = units[ancestral_key]["environment"]
    rows = [[k, v.get("nfe", "-"), v["fid"], v["kid_mean"], v["is_mean"], v["precision"], v["recall"],
             v.get("sampling_wall_s", "-")] for k, v in units.items()]  # fmt: skip
    markdown = (
        f"# {NAME}\n\nCheckpoint {facts['checkpoint']} ({facts['model']}, {facts['global_step']} training steps), "
        f"{num} samples per sampler, seed 0, EMA weights; MNIST feature network; reference: the 2,000 held-out "
        f"t10k digits; {TIMESTEP_SPACING} timestep spacing and x0 clipping for every sampler. "
        f"Hardware: {env['hardware']}, {env['torch_threads']} thread(s).\n\n"
        + markdown_table(["sampler", "NFE", "FID", "KID", "IS", "precision", "recall", "sampling s"], rows)
        + f"\nBest 20-step sampler: {best_key}, FID {at20[best_key]:.2f} = {ratio:.2f}x the {ancestral_key} FID "
        f"({ancestral:.2f}); target (<= 1.10x): {'met' if summary['target_met'] else 'MISSED'}.\n"
        f"Anchor (CIFAR-10, Song et al. 2021): DDIM 13.36 / 6.84 / 4.67 / 4.16 at 10/20/50/100 steps vs 3.17 (DDPM 1000).\n"
    )
    result.set_summary(summary, markdown)
    print(markdown)
    return 0
