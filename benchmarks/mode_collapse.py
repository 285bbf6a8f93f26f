"""Mode collapse on the 2-D ring (8 modes) and grid (25 modes): the PacGAN protocol (Lin et al., 2018, Table 1).

Protocol (authors' code, github.com/fjxmlzn/PacGAN, synthetic_data_experiments): G maps z ~ N(0, I_2) through
4 hidden layers of 400 units (Linear, BatchNorm, ReLU) to 2-D; D has 3 maxout layers (200 units, 5 pieces)
and a linear output, its input widened by packing; weights N(0, 0.02), biases 0; Adam lr 1e-4, beta1 0.8;
a batch is 100 (packed) discriminator inputs, i.e. 100 * m points; a fixed training set of 100,000 (packed)
inputs; 2,500 samples are counted at the end (a sample is high quality within 3 std of its nearest mode).
The paper trains 400 epochs = 400,000 iterations; ``--steps`` sets the budget here (one step = one D and one
G update), the same for every method: one number for both datasets, or one per dataset
(``--steps ring=10000,grid=40000``; a dataset left out keeps the default).

    python -m benchmarks mode_collapse [--quick] [--steps N | ring=N,grid=N] [--seeds N] [--methods a,b]
                                       [--datasets ring,grid]

Each (dataset, method, seed) unit is saved when it finishes; a rerun skips finished units, and a rerun at the
same ``--steps`` with other ``--methods``/``--datasets``/``--seeds`` adds its units to the same file (the table
summarises every unit the file holds). Units run seed-major (seed 0 of every cell first), so an interrupted run
leaves every cell with a similar seed count. Besides the counts, every evaluation keeps ``SNAPSHOT_SAMPLES``
generated points (``<name>_snapshots.json``, next to the results), for scatter plots of training
(notebooks/03_mode_collapse.ipynb).

Defaults: on CUDA the paper's budget (400,000 iterations, 10 seeds, every method but unrolled_k10, both
datasets); on a CPU the committed run, ``--steps ring=10000,grid=40000 --seeds 3 --datasets ring,grid --methods
gan_non_saturating,pacgan4``: a budget at which the generated points have gathered at the modes (23-81% within 3 std
per run, against ~2% on the grid at the earlier 2,500 iterations, where a mode count could not tell a cure from
collapse); 2.7 CPU-hours in all as measured (~35-43 GAN and ~25 PacGAN4 iterations per CPU-second; Unrolled K=5 is
~10x slower per iteration than the GAN, which is why it is not in the CPU default).
Compute dominates: a profile is ~80% backward/linear/maxout/Adam, ~7% data loading, and a plain PyTorch loop of
the same networks is no faster than the Trainer (already without logger, progress bar, checkpoints or model
summary).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch

from benchmarks.common import ResultFile, markdown_table, write_json
from lightning_gen.callbacks import ModeCoverage
from lightning_gen.data import ToyDataModule
from lightning_gen.metrics.mode_counting import ModeCount
from lightning_gen.models import GAN, UnrolledGAN
from lightning_gen.nn import MaxoutDiscriminator, MLPGenerator, normal_init_

__all__ = [
    "DATASETS",
    "METHODS",
    "NAME",
    "SnapshotCoverage",
    "build_model",
    "load",
    "main",
    "parse_steps",
    "run_unit",
    "summarize",
]

NAME = "mode_collapse"
SNAPSHOT_SAMPLES = 200  # generated points kept per evaluation (for scatter plots; 3 decimals)
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
# Defaults without --quick: the paper's protocol on CUDA, the committed run on a CPU (see the module docstring)
CUDA_DEFAULTS = {
    "steps": "400000",
    "seeds": 10,
    "datasets": ",".join(DATASETS),
    "methods": ",".join(DEFAULT_METHODS),
}
CPU_DEFAULTS = {
    "steps": "ring=10000,grid=40000",
    "seeds": 3,
    "datasets": "ring,grid",
    "methods": "gan_non_saturating,pacgan4",
}
QUICK_DEFAULTS = {
    "steps": "4",
    "seeds": 1,
    "datasets": ",".join(DATASETS),
    "methods": ",".join(DEFAULT_METHODS),
}


def parse_steps(text: str, default: str | None = None) -> dict[str, int]:
    """Iterations per dataset from ``--steps``: ``"2500"`` (every dataset) or ``"ring=10000,grid=40000"`` (a
    dataset left out takes its budget from ``default``, itself in either form). Raises ValueError naming the
    problem and the accepted forms."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if len(parts) == 1 and "=" not in parts[0]:
        return {dataset: _positive(parts[0]) for dataset in DATASETS}
    steps = parse_steps(default) if default else {}
    for part in parts:
        dataset, sep, value = (x.strip() for x in part.partition("="))
        if not sep:
            raise ValueError(
                f"--steps {text!r}: give one number, or dataset=number pairs (e.g. ring=10000,grid=40000)"
            )
        if dataset not in DATASETS:
            raise ValueError(f"--steps {text!r}: unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")
        steps[dataset] = _positive(value)
    missing = [dataset for dataset in DATASETS if dataset not in steps]
    if missing:
        raise ValueError(f"--steps {text!r}: no budget for {', '.join(missing)}")
    return {dataset: steps[dataset] for dataset in DATASETS}


def _positive(value: str) -> int:
    try:
        number = int(value.strip().replace("_", ""))
    except ValueError:
        raise ValueError(f"--steps: {value.strip()!r} is not a whole number of iterations") from None
    if number < 1:
        raise ValueError(f"--steps: {number} iterations; a run needs at least 1")
    return number


def _budget_text(steps: dict[str, int]) -> str:
    """``"2,500"`` when every dataset has the same budget, else ``"ring 10,000, grid 40,000"``."""
    values = set(steps.values())
    if len(values) == 1:
        return f"{values.pop():,}"
    return ", ".join(f"{d} {n:,}" for d, n in steps.items())


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


class SnapshotCoverage(ModeCoverage):
    """:class:`~lightning_gen.callbacks.ModeCoverage` that also keeps ``snapshot_samples`` generated points at
    every evaluation (``snapshots``: ``[[x, y], ...]`` lists rounded to 3 decimals, one per ``history`` entry),
    drawn with the callback's evaluation seed, so training is not disturbed."""

    def __init__(self, *args: Any, snapshot_samples: int = SNAPSHOT_SAMPLES, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.snapshot_samples = snapshot_samples
        self.snapshots: list[list[list[float]]] = []

    def measure(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> ModeCount:
        points = pl_module.sample(self.snapshot_samples, seed=self.seed)
        self.snapshots.append([[round(float(x), 3) for x in p] for p in points.tolist()])
        return super().measure(trainer, pl_module)


def run_unit(dataset: str, method: str, seed: int, steps: int, eval_every: int) -> dict[str, Any]:
    """Train one (dataset, method, seed) run for ``steps`` iterations; its final and periodic mode counts,
    wall and CPU seconds, and (under ``"snapshots"``) the generated points of every evaluation."""
    pl.seed_everything(seed, verbose=False)
    model, pack = build_model(method)
    data = ToyDataModule(
        dataset, num_samples=100_000 * pack, val_samples=100, batch_size=100 * pack, seed=seed
    )
    coverage = SnapshotCoverage(dataset, every_n_batches=eval_every, num_samples=2500)
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
    start, cpu_start = time.perf_counter(), time.process_time()
    trainer.fit(model, data)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
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
        "cpu_s": cpu,  # the machine is shared: the CPU time this process got
        "snapshots": [
            {"step": s, "points": p} for (s, _), p in zip(coverage.history, coverage.snapshots, strict=True)
        ],
    }


def snapshots_path(results_path: Path) -> Path:
    """Where a results file's snapshots live: ``<name>_snapshots.json`` beside it (compact JSON)."""
    return results_path.with_name(f"{results_path.stem}_snapshots.json")


def _read_snapshots(results_path: Path, config: Any) -> dict[str, Any]:
    """The snapshots beside ``results_path`` when they were made with ``config``; else none."""
    path = snapshots_path(results_path)
    if path.is_file():
        data = json.loads(path.read_text())
        if data.get("config") == config:
            return data
    return {"config": config, "units": {}}


def load(quick: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """The committed results (``benchmarks/results/mode_collapse.json``, or the ``--quick`` file) and their
    snapshots: ``(results, {unit key: [{"step", "points"}, ...]})``. Raises FileNotFoundError when never run."""
    from benchmarks import common

    name = NAME + ("_quick" if quick else "")
    path = common.RESULTS_DIR / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `python -m benchmarks mode_collapse` first.")
    results = json.loads(path.read_text())
    return results, _read_snapshots(path, results["config"])["units"]


def _mean_std(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.inf, 0.0
    return statistics.fmean(finite), statistics.pstdev(finite) if len(finite) > 1 else 0.0


def _cells(result: ResultFile) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The file's units grouped by (dataset, method), in DATASETS x METHODS order, each cell's seeds in order."""
    cells: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}
    for key, unit in result.units.items():
        dataset, method, seed = key.split("/")
        cells.setdefault((dataset, method), []).append((int(seed.removeprefix("seed")), unit))
    order = [(d, m) for d in DATASETS for m in METHODS]
    return {
        cell: [u for _, u in sorted(cells[cell], key=lambda su: su[0])] for cell in order if cell in cells
    }


def summarize(result: ResultFile, budget: dict[str, int]) -> tuple[dict[str, Any], str]:
    """Summary (per ``dataset/method``) and markdown of every unit the file holds, whatever run added it;
    ``budget``: iterations per dataset."""
    summary: dict[str, Any] = {}
    rows, curve_rows = [], []
    cells = _cells(result)
    for (dataset, method), units in cells.items():
        steps = budget[dataset]
        target_modes, target_hq = TARGETS[dataset]
        modes = _mean_std([u["modes"] for u in units])
        hq = _mean_std([100 * u["high_quality"] for u in units])
        kl = _mean_std([u["reverse_kl"] for u in units])
        wall = _mean_std([u["wall_s"] for u in units])
        met = all(u["modes"] >= target_modes and u["high_quality"] >= target_hq for u in units)
        anchor = ANCHORS.get((dataset, method))
        summary[f"{dataset}/{method}"] = {
            "iterations": steps,
            "seeds": len(units),
            "modes_mean": modes[0],
            "modes_std": modes[1],
            "modes_per_seed": [u["modes"] for u in units],
            "high_quality_pct_mean": hq[0],
            "high_quality_pct_std": hq[1],
            "reverse_kl_mean": kl[0],
            "reverse_kl_std": kl[1],
            "wall_s_mean": wall[0],
            "iterations_per_s_mean": steps / wall[0] if wall[0] > 0 else math.inf,
            "target_met_every_seed": met,
        }
        rows.append(
            [
                dataset,
                f"{steps:,}",
                method,
                len(units),
                f"{modes[0]:.2f} ± {modes[1]:.2f}",
                " ".join(str(u["modes"]) for u in units),
                f"{hq[0]:.1f} ± {hq[1]:.1f}",
                f"{kl[0]:.3f} ± {kl[1]:.3f}",
                f"{wall[0]:.0f} ({steps / wall[0]:.1f} it/s)" if wall[0] > 0 else "",
                "yes" if met else "no",
                f"{anchor[0]} / {anchor[1]}%" if anchor else "",
            ]
        )
        curve = []
        for step in sorted({c["step"] for u in units for c in u["curve"]}):
            at = [c for u in units for c in u["curve"] if c["step"] == step]
            curve.append(
                f"{statistics.fmean(c['modes'] for c in at):.1f} / "
                f"{100 * statistics.fmean(c['high_quality'] for c in at):.1f}"
            )
        curve_rows.append([dataset, method, f"{max(1, steps // 10):,}", *curve])
    header = [
        "data",
        "iterations",
        "method",
        "seeds",
        "modes",
        "modes per seed",
        "high quality %",
        "reverse KL",
        "wall s / seed",
        "target met (ring 8 & 98%, grid 25 & 97%)",
        "paper (400k steps): modes / HQ",
    ]
    units = list(result.units.values())
    hardware = units[0]["environment"]["hardware"] if units else "?"
    dates = sorted(u["environment"]["date"] for u in units)
    missing = [f"{d}/{m}" for d in DATASETS for m in DEFAULT_METHODS if (d, m) not in cells]
    budget_text = _budget_text(budget)
    text = (
        f"# mode_collapse: PacGAN 2-D protocol, {budget_text} iterations per run (the paper: 400,000)\n\n"
        f"Hardware: {hardware}, one thread per run, the machine shared with other jobs"
        + (f" (units finished {dates[0]} to {dates[-1]})" if dates else "")
        + f". Budget: {budget_text} iterations (1 D + 1 G Adam step each; lr 1e-4, beta1 0.8; "
        "100 packed D inputs per batch), the same for every method; 2,500 samples counted at the end "
        "(3 std threshold); mean ± std over the seeds column. Paper anchors are PacGAN Table 1 (10 seeds, "
        "400 epochs = 400,000 iterations); our budget is far smaller, so the rows are not comparable to "
        "them in absolute terms.\n\n"
        + (
            "Not run at this budget (they need more CPU time or a GPU: `python -m benchmarks mode_collapse` "
            f"on CUDA runs the paper's 400,000 iterations): {', '.join(missing)}.\n\n"
            if missing
            else ""
        )
        + markdown_table(header, rows)
        + "\n## Curve: mean modes / high-quality % at every tenth of the budget\n\n"
        + markdown_table(
            [
                "data",
                "method",
                "a tenth (iterations)",
                *(f"{i + 1}/10" for i in range(max((len(r) - 3 for r in curve_rows), default=0))),
            ],
            curve_rows,
        )
    )
    return summary, text


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks mode_collapse", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help=f"a smoke test (< 1 minute): {QUICK_DEFAULTS}")
    parser.add_argument(
        "--steps",
        default=None,
        help="iterations per run: one number, or per dataset as ring=N,grid=N "
        f"(CPU default {CPU_DEFAULTS['steps']}, CUDA {CUDA_DEFAULTS['steps']})",
    )
    parser.add_argument("--seeds", type=int, default=None, help="seeds per cell (CPU default 3, CUDA 10)")
    parser.add_argument(
        "--methods",
        default=None,
        help=f"comma list of {', '.join(METHODS)} (default: {CPU_DEFAULTS['methods']} "
        "on a CPU, all but unrolled_k10 on CUDA)",
    )
    parser.add_argument("--datasets", default=None, help="comma list of ring, grid (CPU default ring,grid)")
    args = parser.parse_args(argv)
    defaults = QUICK_DEFAULTS if args.quick else CUDA_DEFAULTS if torch.cuda.is_available() else CPU_DEFAULTS
    methods = (args.methods or defaults["methods"]).split(",")
    datasets = (args.datasets or defaults["datasets"]).split(",")
    for m in methods:
        if m not in METHODS:
            parser.error(f"unknown method {m!r}; choose from {', '.join(METHODS)}")
    for d in datasets:
        if d not in DATASETS:
            parser.error(f"unknown dataset {d!r}; choose from {', '.join(DATASETS)}")
    try:
        steps = parse_steps(args.steps or defaults["steps"], defaults["steps"])
    except ValueError as error:
        parser.error(str(error))
    seeds = args.seeds or defaults["seeds"]
    eval_every = {dataset: max(1, n // 10) for dataset, n in steps.items()}
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
    snapshots = _read_snapshots(result.path, result.config)
    for seed in range(seeds):
        for dataset in datasets:
            for method in methods:
                key = f"{dataset}/{method}/seed{seed}"
                if result.done(key):
                    continue
                unit = run_unit(dataset, method, seed, steps[dataset], eval_every[dataset])
                snapshots["units"][key] = unit.pop("snapshots")
                # first: a unit in the results file has its snapshots
                write_json(snapshots_path(result.path), snapshots, compact=True)
                result.add(key, unit)
                print(
                    f"{key}: modes {unit['modes']}, high quality {100 * unit['high_quality']:.1f}%, "
                    f"reverse KL {unit['reverse_kl']:.3f}, {unit['wall_s']:.0f} s",
                    flush=True,
                )
                summary, text = summarize(result, steps)
                result.set_summary(summary, text)
    summary, text = summarize(result, steps)
    result.set_summary(summary, text)
    print(text)
    return 0
