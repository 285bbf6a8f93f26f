"""The training runs behind the diffusion benchmarks (diffusion_nfe, inpainting, cascade), made on demand.

Each run is a committed config trained with ``lightning-gen fit`` on the real MNIST t10k digits
(:func:`benchmarks.common.t10k_as_train_root`) into ``benchmarks/work/runs/<name>`` (git-ignored scratch).
:func:`ensure_checkpoint` returns the run's ``last.ckpt`` once it holds the full budget; otherwise it trains,
resuming from the newest ``last.ckpt`` when there is one (the configs save one every 50-100 steps), so an
interrupted run continues where it stopped. The equivalent command line, printed before training::

    lightning-gen fit --config configs/ddpm_mnist.yaml --data.root benchmarks/work/mnist_t10k_as_train \\
        --trainer.default_root_dir benchmarks/work/runs/ddpm_mnist --trainer.max_steps 4000 [--ckpt_path LAST]

``quick=True`` trains a tiny variant of the same config (U-Net widths 8/16, 64 images, 2 steps, no
validation) into ``<name>_quick`` in seconds: what the benchmarks' ``--quick`` runs and the tests use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

import benchmarks.common as common
from lightning_gen.cli import main as lightning_gen_main

__all__ = ["RUNS", "Run", "ensure_checkpoint", "fit_to_budget", "last_checkpoint", "runs_dir", "training_seconds",
           "training_wall_s"]


@dataclass(frozen=True)
class Run:
    """A benchmark's training run: its committed config, the optimizer steps its results used, and the
    command-line overrides that make it (e.g. the no-augmentation ablation)."""

    config: str
    max_steps: int
    overrides: tuple[str, ...] = ()


#: the runs of docs/results/diffusion.md ("Training runs"), with the budgets the committed results used
RUNS: dict[str, Run] = {
    "ddpm_mnist": Run("configs/ddpm_mnist.yaml", 4000),
    "ddpm_cond_mnist": Run("configs/ddpm_cond_mnist.yaml", 300),
    "cascade_base_mnist": Run("configs/cascade_base_mnist.yaml", 150),
    "cascade_sr_mnist": Run("configs/cascade_sr_mnist.yaml", 150),
    "cascade_sr_noaug_mnist": Run("configs/cascade_sr_mnist.yaml", 150, ("--model.init_args.conditioning_augmentation=false",)),
}

#: the tiny variant of any of the runs (--quick): a 2-level U-Net of widths 8/16 without attention, 2 steps
QUICK_STEPS = 2
QUICK_OVERRIDES = (
    "--model.init_args.denoiser.init_args.widths=[8, 16]",
    "--model.init_args.denoiser.init_args.attention_resolutions=[]",
    "--model.init_args.denoiser.init_args.norm_groups=4",
    "--data.init_args.limit=64",
    "--data.init_args.batch_size=16",
    "--trainer.limit_val_batches=0",
    "--trainer.enable_progress_bar=false",
)


def runs_dir() -> Path:
    """``benchmarks/work/runs`` (read at call time, so tests can move the work folder)."""
    return common.WORK_DIR / "runs"


def _folder(name: str, quick: bool) -> Path:
    return runs_dir() / (f"{name}_quick" if quick else name)


def _newest_last(folder: Path) -> Path | None:
    found = sorted(folder.rglob("last.ckpt"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def _global_step(path: Path) -> int:
    return int(torch.load(path, map_location="cpu", weights_only=True).get("global_step", -1))


def last_checkpoint(run: str) -> Path:
    """The newest ``last.ckpt`` of a run under benchmarks/work/runs/<run>/ (any logger layout), as trained.

    Raises:
        FileNotFoundError: none yet; names :func:`ensure_checkpoint` and the command that makes it.
    """
    found = _newest_last(runs_dir() / run)
    if found is None:
        hint = f" (benchmarks.diffusion_runs.ensure_checkpoint({run!r}) trains it: {_command(run, False)})" if run in RUNS else ""
        raise FileNotFoundError(f"No last.ckpt under {runs_dir() / run}; train it first{hint} or pass --ckpt.")
    return found


def _arguments(name: str, quick: bool) -> list[str]:
    """The ``lightning-gen fit`` arguments of run ``name`` without its budget (:func:`fit_to_budget` adds it)."""
    run = RUNS[name]
    return ["fit", "--config", str(common.REPO / run.config), f"--data.init_args.root={common.t10k_as_train_root()}",
            f"--trainer.default_root_dir={_folder(name, quick)}", *run.overrides, *(QUICK_OVERRIDES if quick else ())]  # fmt: skip


def _command(name: str, quick: bool) -> str:
    args = [*_arguments(name, quick), f"--trainer.max_steps={QUICK_STEPS if quick else RUNS[name].max_steps}"]
    return "lightning-gen " + " ".join(a if " " not in a else repr(a) for a in args)


def ensure_checkpoint(name: str, quick: bool = False) -> Path:
    """The ``last.ckpt`` of run ``name`` (a key of :data:`RUNS`) at its full budget, training (or resuming)
    it first when needed (:func:`fit_to_budget`); each training part's time goes to ``runs/times.txt``.

    Raises:
        KeyError: an unknown run (names the known ones).
        RuntimeError: training failed (the fit's exit status).
    """
    if name not in RUNS:
        raise KeyError(f"Unknown diffusion benchmark run {name!r}; known: {', '.join(RUNS)}.")
    folder = _folder(name, quick)
    return fit_to_budget(folder.name, _arguments(name, quick), QUICK_STEPS if quick else RUNS[name].max_steps,
                         folder, runs_dir() / "times.txt")  # fmt: skip


def fit_to_budget(name: str, arguments: list[str], steps: int, folder: Path, ledger: Path) -> Path:
    """The newest ``last.ckpt`` under ``folder`` once it holds ``steps`` optimizer steps; otherwise
    ``lightning-gen`` with ``arguments`` (a ``fit`` writing under ``folder``; ``--trainer.max_steps`` and
    ``--ckpt_path`` of the newest ``last.ckpt`` are added here) trains or resumes it first. Each training
    part appends ``name steps=N wall_s=W cpu_s=C rc=0`` to ``ledger`` (:func:`training_seconds` adds them up).

    Raises:
        RuntimeError: the fit failed, or wrote no ``last.ckpt`` at ``steps``.
    """
    last = _newest_last(folder)
    if last is not None and _global_step(last) >= steps:
        return last
    args = [*arguments, f"--trainer.max_steps={steps}", *([f"--ckpt_path={last}"] if last is not None else [])]
    print(f"Training {name} to {steps} steps{f' (resuming {last})' if last else ''}: lightning-gen "
          + " ".join(a if " " not in a else repr(a) for a in args), flush=True)  # fmt: skip
    start, cpu = time.perf_counter(), time.process_time()
    status = lightning_gen_main(args)
    if status != 0:
        raise RuntimeError(f"lightning-gen fit of {name} stopped with status {status}.")
    ledger.parent.mkdir(parents=True, exist_ok=True)
    with open(ledger, "a") as times:
        times.write(f"{name} steps={steps} wall_s={time.perf_counter() - start:.1f} "
                    f"cpu_s={time.process_time() - cpu:.1f} rc=0\n")  # fmt: skip
    last = _newest_last(folder)
    if last is None or _global_step(last) < steps:
        raise RuntimeError(f"lightning-gen fit of {name} wrote no last.ckpt at {steps} steps under {folder}.")
    return last


def training_seconds(name: str, ledger: Path) -> dict[str, float]:
    """Wall and CPU seconds of run ``name`` in ``ledger`` (its parts added up; a part written before CPU
    time was recorded counts for wall time only); empty when the ledger has no line of it."""
    totals: dict[str, float] = {}
    lines = ledger.read_text().splitlines() if ledger.is_file() else []
    for line in lines:
        parts = dict(p.split("=", 1) for p in line.split()[1:] if "=" in p)
        if line.split()[:1] == [name] and parts.get("rc", "0") == "0":  # lines are written after a fit succeeds
            for key in ("wall_s", "cpu_s"):
                if key in parts:
                    totals[key] = round(totals.get(key, 0.0) + float(parts[key]), 1)
    return totals


def training_wall_s(run: str) -> float | None:
    """Wall time of ``run`` recorded in benchmarks/work/runs/times.txt (a resumed run's parts are added up),
    if any."""
    return training_seconds(run, runs_dir() / "times.txt").get("wall_s")
