"""Mode collapse on the 2-D ring (8 modes) and grid (25 modes): the PacGAN protocol (Lin et al., 2018, Table 1).

Protocol (authors' code, github.com/fjxmlzn/PacGAN, synthetic_data_experiments): G maps z ~ N(0, I_2) through
4 hidden layers of 400 units (Linear, BatchNorm, ReLU) to 2-D; D has 3 maxout layers (200 units, 5 pieces)
and a linear output, its input widened by packing; weights N(0, 0.02), biases 0; Adam lr 1e-4, beta1 0.8;
a batch is 100 (packed) discriminator inputs, i.e. 100 * m points; a fixed training set of 100,000 (packed)
inputs; 2,500 samples are counted at the end (a sample is high quality within 3 std of its nearest mode).
The paper trains 400 epochs = 400,000 iterations; ``--steps`` sets the budget here (one step = one D and one
G update), the same for every method.

    python -m benchmarks mode_collapse [--quick] [--steps N] [--seeds N] [--methods a,b] [--datasets ring,grid]

Each (dataset, method, seed) unit is saved when it finishes; a rerun skips finished units. Units run
seed-major (seed 0 of every cell first), so an interrupted run leaves every cell with a similar seed count.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from typing import Any

import lightning.pytorch as pl
import torch

from benchmarks.common import ResultFile, markdown_table
from lightning_gen.callbacks import ModeCoverage
from lightning_gen.data import ToyDataModule
from lightning_gen.models import GAN, UnrolledGAN
from lightning_gen.nn import MaxoutDiscriminator, MLPGenerator, normal_init_

NAME = "mode_collapse"
# method -> (pack m, model options)
METHODS: dict[str, tuple[int, dict[str, Any]]] = {
    "gan_minimax": (1, {"loss": "minimax"}),
    "gan_non_saturating": (1, {"loss": "non_saturating"}),
    "gan_label_smoothing": (1, {"loss": "non_saturating", "real_label_range": (0.7, 0.9)}),
    "unrolled_k5": (1, {"loss": "non_saturating", "unroll_steps": 5}),
    "unrolled_k10": (1, {"loss": "non_saturating", "unroll_steps": 10}),
    "pacgan2": (2, {"loss": "non_saturating"}),
    "pacgan4": (4, {"loss": "non_saturating"}),
}
DEFAULT_METHODS = [m for m in METHODS if m != "unrolled_k10"]  # k=10 costs ~2x k=5; opt in with --methods
DATASETS = ("ring", "grid")
# PacGAN Table 1 (400 epochs, 10 seeds): modes, high-quality %
ANCHORS = {
    ("ring", "gan_non_saturating"): (6.3, 98.2),
    ("grid", "gan_non_saturating"): (17.3, 94.8),
    ("ring", "pacgan4"): (7.8, 95.9),
    ("grid", "pacgan4"): (24.8, 93.6),
}
TARGETS = {"ring": (8, 0.98), "grid": (25, 0.97)}  # best method, every seed: modes, high quality


def build_model(method: str) -> tuple[GAN, int]:
    pack, options = METHODS[method]
    generator = normal_init_(
        MLPGenerator(
            latent_dim=2,
            output_shape=(2,),
            hidden_dims=(400, 400, 400, 400),
            batch_norm=True,
            output_activation="none",
        )
    )
    discriminator = MaxoutDiscriminator(input_dim=2, hidden_dims=(200, 200, 200), pieces=5, pack=pack)
    cls = UnrolledGAN if "unroll_steps" in options else GAN
    adam = {"lr_g": 1e-4, "lr_d": 1e-4, "betas_g": (0.8, 0.999), "betas_d": (0.8, 0.999)}
    return cls(generator, discriminator, **options, **adam), pack


def run_unit(dataset: str, method: str, seed: int, steps: int, eval_every: int) -> dict[str, Any]:
    pl.seed_everything(seed, verbose=False)
    model, pack = build_model(method)
    data = ToyDataModule(
        dataset, num_samples=100_000 * pack, val_samples=100, batch_size=100 * pack, seed=seed
    )
    coverage = ModeCoverage(dataset, every_n_batches=eval_every, num_samples=2500)
    trainer = pl.Trainer(
        accelerator="cpu",
        max_steps=2 * steps,  # one D and one G optimizer step per iteration
        max_epochs=-1,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[coverage],
    )
    start = time.perf_counter()
    trainer.fit(model, data)
    wall = time.perf_counter() - start
    final = coverage.last
    assert final is not None
    return {
        "modes": final.modes,
        "high_quality": final.high_quality,
        "reverse_kl": final.reverse_kl,
        "histogram": final.histogram,
        "curve": [
            {"step": s, "modes": c.modes, "high_quality": c.high_quality, "reverse_kl": c.reverse_kl}
            for s, c in coverage.history
        ],
        "wall_s": wall,
    }


def _mean_std(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.inf, 0.0
    return statistics.fmean(finite), statistics.pstdev(finite) if len(finite) > 1 else 0.0


def summarize(result: ResultFile, methods: list[str], seeds: int, steps: int) -> tuple[dict[str, Any], str]:
    summary: dict[str, Any] = {}
    rows, curve_rows = [], []
    for dataset in DATASETS:
        target_modes, target_hq = TARGETS[dataset]
        for method in methods:
            units = [
                result.unit(k)
                for k in (f"{dataset}/{method}/seed{s}" for s in range(seeds))
                if result.done(k)
            ]
            if not units:
                continue
            modes = _mean_std([u["modes"] for u in units])
            hq = _mean_std([100 * u["high_quality"] for u in units])
            kl = _mean_std([u["reverse_kl"] for u in units])
            wall = _mean_std([u["wall_s"] for u in units])
            met = all(u["modes"] >= target_modes and u["high_quality"] >= target_hq for u in units)
            anchor = ANCHORS.get((dataset, method))
            summary[f"{dataset}/{method}"] = {
                "seeds": len(units),
                "modes_mean": modes[0],
                "modes_std": modes[1],
                "high_quality_pct_mean": hq[0],
                "high_quality_pct_std": hq[1],
                "reverse_kl_mean": kl[0],
                "reverse_kl_std": kl[1],
                "wall_s_mean": wall[0],
                "target_met_every_seed": met,
            }
            rows.append(
                [
                    dataset,
                    method,
                    len(units),
                    f"{modes[0]:.2f} ± {modes[1]:.2f}",
                    f"{hq[0]:.1f} ± {hq[1]:.1f}",
                    f"{kl[0]:.3f} ± {kl[1]:.3f}",
                    f"{wall[0]:.0f}",
                    "yes" if met else "no",
                    f"{anchor[0]} / {anchor[1]}%" if anchor else "",
                ]
            )
            cells = []
            for step in sorted({c["step"] for u in units for c in u["curve"]}):
                at = [c for u in units for c in u["curve"] if c["step"] == step]
                cells.append(
                    f"{statistics.fmean(c['modes'] for c in at):.1f} / "
                    f"{100 * statistics.fmean(c['high_quality'] for c in at):.1f}"
                )
            curve_rows.append([dataset, method, *cells])
    header = [
        "data",
        "method",
        "seeds",
        "modes",
        "high quality %",
        "reverse KL",
        "wall s / seed",
        "target met (ring 8 & 98%, grid 25 & 97%)",
        "paper (400k steps): modes / HQ",
    ]
    hardware = next(iter(result.units.values()))["environment"]["hardware"] if result.units else "?"
    text = (
        f"# mode_collapse: PacGAN 2-D protocol, {steps} steps per run (the paper: 400,000)\n\n"
        f"Hardware: {hardware}. Budget: {steps} iterations (1 D + 1 G Adam step each; lr 1e-4, beta1 0.8; "
        "100 packed D inputs per batch), the same for every method; 2,500 samples counted at the end; "
        f"mean ± std over the seeds column (of {seeds} requested). Paper anchors are PacGAN Table 1 (10 seeds, "
        "400 epochs = 400,000 iterations); our budget is far smaller, so the rows are not comparable to "
        "them in absolute terms.\n\n"
        + markdown_table(header, rows)
        + "\n## Curve: mean modes / high-quality % at every tenth of the budget\n\n"
        + markdown_table(
            [
                "data",
                "method",
                *(
                    f"step {(i + 1) * max(1, steps // 10)}"
                    for i in range(max((len(r) - 2 for r in curve_rows), default=0))
                ),
            ],
            curve_rows,
        )
    )
    return summary, text


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks mode_collapse", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="4 steps, 1 seed (a smoke test, < 1 minute)")
    parser.add_argument(
        "--steps", type=int, default=None, help="iterations per run (default 1000 on a CPU, 400000 on a GPU)"
    )
    parser.add_argument("--seeds", type=int, default=None, help="seeds per cell (default 10)")
    parser.add_argument("--methods", default=None, help=f"comma list of {', '.join(METHODS)}")
    parser.add_argument("--datasets", default="ring,grid")
    args = parser.parse_args(argv)
    methods = args.methods.split(",") if args.methods else list(DEFAULT_METHODS)
    datasets = args.datasets.split(",")
    for m in methods:
        if m not in METHODS:
            parser.error(f"unknown method {m!r}; choose from {', '.join(METHODS)}")
    for d in datasets:
        if d not in DATASETS:
            parser.error(f"unknown dataset {d!r}; choose from {', '.join(DATASETS)}")
    default_steps = 400_000 if torch.cuda.is_available() else 1000
    steps = args.steps or (4 if args.quick else default_steps)
    seeds = args.seeds or (1 if args.quick else 10)
    eval_every = max(1, steps // 10)
    config = {
        "steps": steps,
        "eval_every": eval_every,
        "eval_samples": 2500,
        "lr": 1e-4,
        "beta1": 0.8,
        "batch_packs": 100,
        "train_packs": 100_000,
        "threshold_std": 3.0,
    }
    result = ResultFile(NAME, config, quick=args.quick)
    for seed in range(seeds):
        for dataset in datasets:
            for method in methods:
                key = f"{dataset}/{method}/seed{seed}"
                if result.done(key):
                    continue
                unit = run_unit(dataset, method, seed, steps, eval_every)
                result.add(key, unit)
                print(
                    f"{key}: modes {unit['modes']}, high quality {100 * unit['high_quality']:.1f}%, "
                    f"reverse KL {unit['reverse_kl']:.3f}, {unit['wall_s']:.0f} s",
                    flush=True,
                )
                summary, text = summarize(result, methods, seeds, steps)
                result.set_summary(summary, text)
    summary, text = summarize(result, methods, seeds, steps)
    result.set_summary(summary, text)
    print(text)
    return 0
