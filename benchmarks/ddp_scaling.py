"""Data-parallel scaling on the CPU: training images/s of 1 process vs 2 DDP processes (gloo), same global batch.

``python -m benchmarks ddp_scaling [--quick]`` -> ``benchmarks/results/ddp_scaling.json`` (+ ``.md``).

Each run is a real ``lightning-gen fit`` of ``configs/dcgan_mnist.yaml`` or ``configs/ddpm_mnist.yaml`` (real
MNIST, the t10k images as the training set) in its own process tree, one torch thread per process: 1 process
with the whole global batch, or ``--trainer.devices 2`` (Lightning's DDP launcher, gloo) with half of it
each. The :class:`Throughput` callback times the training batches after ``warmup`` on global rank 0 (start-up,
data loading of the first batches and the final checkpoint are not timed). Rounds alternate the order of the
1- and 2-process runs so that a change in the shared machine's load falls on both; the summary is the median
over rounds and the speed-up of 2 processes over 1 (target >= 1.6x).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl

from benchmarks.common import REPO, WORK_DIR, ResultFile, markdown_table, t10k_as_train_root

__all__ = ["MODELS", "TARGET_SPEEDUP", "Throughput", "main", "run_once"]

#: name -> (config, DDP strategy the model needs, optimiser steps per batch: max_steps counts those)
MODELS: dict[str, tuple[str, str, int]] = {
    "dcgan_mnist": ("configs/dcgan_mnist.yaml", "ddp_find_unused_parameters_true", 2),
    "ddpm_mnist": ("configs/ddpm_mnist.yaml", "ddp", 1),
}
TARGET_SPEEDUP = 1.6


class Throughput(pl.Callback):
    """Times the training batches after the first ``warmup`` ones on global rank 0 and writes
    ``{"batches", "seconds", "global_batch", "images_per_s"}`` to ``out`` when training ends."""

    def __init__(self, out: str, warmup: int = 2) -> None:
        self.out, self.warmup = out, warmup
        self.times: list[float] = []
        self.global_batch = 0

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        images = batch[0] if isinstance(batch, list | tuple) else batch
        self.global_batch = int(images.shape[0]) * trainer.world_size
        self.times.append(time.perf_counter())

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        timed = self.times[self.warmup :]
        if len(timed) < 2:
            raise ValueError(f"Throughput needs more than warmup + 1 = {self.warmup + 1} batches, got {len(self.times)}.")
        seconds = timed[-1] - timed[0]
        batches = len(timed) - 1
        Path(self.out).write_text(json.dumps({
            "batches": batches, "seconds": seconds, "global_batch": self.global_batch,
            "images_per_s": batches * self.global_batch / seconds,
        }))


def run_once(model: str, processes: int, global_batch: int, batches: int, warmup: int, work: Path) -> dict[str, Any]:
    """One real ``lightning-gen fit`` with ``processes`` processes; returns the :class:`Throughput` report."""
    config, strategy, steps_per_batch = MODELS[model]
    if global_batch % processes:
        raise ValueError(f"global batch {global_batch} does not split over {processes} processes.")
    out = work / f"{model}_{processes}.json"
    out.unlink(missing_ok=True)
    cmd = [
        sys.executable, "-m", "lightning_gen", "fit", "--config", str(REPO / config),
        f"--data.init_args.root={t10k_as_train_root()}", f"--data.init_args.batch_size={global_batch // processes}",
        "--trainer.accelerator=cpu", f"--trainer.devices={processes}",
        f"--trainer.strategy={strategy if processes > 1 else 'auto'}",
        f"--trainer.max_steps={(warmup + batches + 1) * steps_per_batch}", "--trainer.max_epochs=-1",
        "--trainer.limit_val_batches=0", "--trainer.num_sanity_val_steps=0", "--trainer.logger=false",
        "--trainer.enable_progress_bar=false", f"--trainer.default_root_dir={work / 'runs'}",
        "--trainer.callbacks+=benchmarks.ddp_scaling.Throughput", f"--trainer.callbacks.out={out}",
        f"--trainer.callbacks.warmup={warmup}",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    load = os.getloadavg()[0]
    run = subprocess.run(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=3600)
    if run.returncode != 0:
        raise RuntimeError(f"ddp_scaling: {model} with {processes} processes failed:\n{run.stderr[-3000:]}")
    return {**json.loads(out.read_text()), "processes": processes, "load_average": [load, os.getloadavg()[0]]}


def summarize(results: ResultFile) -> tuple[dict[str, Any], str]:
    summary, rows = {}, []
    for model in results.config["models"]:
        medians = {}
        for processes in (1, 2):
            values = [u["images_per_s"] for k, u in results.units.items() if k.startswith(f"{model}/p{processes}/")]
            medians[processes] = statistics.median(values) if values else None
        speedup = medians[2] / medians[1] if medians[1] and medians[2] else None
        summary[model] = {"images_per_s_1": medians[1], "images_per_s_2": medians[2], "speedup": speedup,
                          "target_met": speedup is not None and speedup >= TARGET_SPEEDUP}
        rows.append([model, medians[1], medians[2], speedup, "yes" if summary[model]["target_met"] else "**no**"])
    c = results.config
    text = (f"# DDP scaling on the CPU (gloo, one thread per process)\n\nGlobal batch {c['global_batch']}, "
            f"{c['batches']} timed batches after {c['warmup']} warm-up ones, median of {c['rounds']} alternating "
            f"rounds.\n\n" + markdown_table(["model", "1 process (img/s)", "2 processes (img/s)", "speed-up",
                                             f">= {TARGET_SPEEDUP}x"], rows))
    return summary, text


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks ddp_scaling", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round of 4 timed batches (a smoke run)")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--global-batch", type=int, default=64)
    parser.add_argument("--batches", type=int, default=40, help="timed batches per run")
    parser.add_argument("--warmup", type=int, default=5, help="untimed batches at the start of each run")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    global_batch, batches, warmup, rounds = (16, 4, 2, 1) if args.quick else (
        args.global_batch, args.batches, args.warmup, args.rounds)
    config = {"models": args.models, "global_batch": global_batch, "batches": batches, "warmup": warmup,
              "rounds": rounds, "threads_per_process": 1, "configs": {m: MODELS[m][0] for m in args.models}}
    results = ResultFile("ddp_scaling", config, quick=args.quick)
    work = WORK_DIR / ("ddp_scaling_quick" if args.quick else "ddp_scaling")
    work.mkdir(parents=True, exist_ok=True)
    for r in range(rounds):
        for model in args.models:
            for processes in ((1, 2) if r % 2 == 0 else (2, 1)):  # alternate which goes first
                key = f"{model}/p{processes}/r{r}"
                if not results.done(key):
                    results.add(key, run_once(model, processes, global_batch, batches, warmup, work))
    summary, text = summarize(results)
    results.set_summary(summary, text)
    print(text)
    return 0
