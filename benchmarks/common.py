"""Helpers every benchmark uses: environment facts, resumable result files, markdown tables."""

from __future__ import annotations

import json
import os
import platform
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader

from lightning_gen.data import write_cifar10_batches
from lightning_gen.models import GenerativeModule

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
WORK_DIR = Path(__file__).resolve().parent / "work"  # scratch (ignored by git)
SHARED_DATA = Path(
    os.environ.get("LIGHTNING_GEN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)

__all__ = [
    "DOCS",
    "REPO",
    "RESULTS_DIR",
    "SHARED_DATA",
    "WORK_DIR",
    "ResultFile",
    "build_from_config",
    "environment",
    "repo_path",
    "markdown_table",
    "prepare_cifar10",
    "t10k_as_train_root",
    "train_for",
    "trained_steps",
    "write_json",
]


def repo_path(path: Path) -> str:
    """``path`` relative to the repository when it lies inside it (what results files record), else absolute."""
    path = Path(path)
    return str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)


def environment() -> dict[str, Any]:
    """Hardware and software facts recorded with every result."""
    cuda = torch.cuda.is_available()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "hardware": torch.cuda.get_device_name(0)
        if cuda
        else f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})",
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


class ResultFile:
    """A JSON result file made of units, written after every finished unit so a rerun can skip them.

    Layout: ``{"benchmark": name, "config": {...}, "units": {key: {...}}, "summary": {...}}``.
    A rerun with a different ``config`` (e.g. another step budget) starts over, after moving the old file
    aside, so units measured under different settings are never mixed.
    """

    def __init__(self, name: str, config: dict[str, Any], quick: bool = False) -> None:
        self.name = name + ("_quick" if quick else "")
        self.path = RESULTS_DIR / f"{self.name}.json"
        self.md_path = RESULTS_DIR / f"{self.name}.md"
        self.config = config
        self.data: dict[str, Any] = {"benchmark": name, "config": config, "units": {}, "summary": {}}
        if self.path.is_file():
            old = json.loads(self.path.read_text())
            if old.get("config") == config:
                self.data = old
            else:
                self.path.rename(self.path.with_suffix(f".stale-{int(time.time())}.json"))

    def done(self, key: str) -> bool:
        return key in self.data["units"]

    def unit(self, key: str) -> dict[str, Any]:
        return self.data["units"][key]

    @property
    def units(self) -> dict[str, Any]:
        return self.data["units"]

    def add(self, key: str, value: dict[str, Any]) -> None:
        self.data["units"][key] = {**value, "environment": environment()}
        self.save()

    def set_summary(self, summary: dict[str, Any], markdown: str) -> None:
        self.data["summary"] = summary
        self.save()
        self.md_path.write_text(markdown)

    def save(self) -> None:
        write_json(self.path, self.data)


def write_json(path: Path, data: Any, *, compact: bool = False) -> None:
    """``data`` as JSON at ``path`` (indented, or ``compact`` without whitespace), written to a temporary file
    and renamed over ``path``: an interrupted run never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":")) if compact else json.dumps(data, indent=2))
    tmp.replace(path)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def prepare_cifar10(work: Path | None = None) -> Path:
    """Unpack the real CIFAR-10 JPEG tarballs and write official-format batches once; return the root
    that holds ``cifar-10-batches-py/`` (reused by later runs). ``work``: default this module's ``WORK_DIR``
    at call time (so a test that points ``WORK_DIR`` elsewhere never writes into the checkout).

    Safe when several processes (pytest-xdist workers, parallel benchmark runs) call it at once: each one
    unpacks and writes in its own temporary folder and renames the finished root into place; a process that
    finds the root already there when it is done drops its own copy."""
    work = Path(work if work is not None else WORK_DIR)
    root = work / "cifar10_batches"
    if (root / "cifar-10-batches-py" / "batches.meta").is_file():
        return root
    archives = [SHARED_DATA / "cifar10" / f"cifar10_{split}_jpg.tar.gz" for split in ("train", "test")]
    for archive in archives:
        if not archive.is_file():
            raise FileNotFoundError(f"{archive} not found: this benchmark needs ../shared/data/cifar10.")
    work.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="cifar10_batches.", dir=work))
    try:
        for archive in archives:
            with tarfile.open(archive) as tar:
                tar.extractall(scratch / "jpeg", filter="data")
        write_cifar10_batches(str(scratch / "jpeg"), str(scratch / "batches"))
        try:
            (scratch / "batches").rename(root)
        except OSError:  # another process put its root there first: the same files, keep that one
            if not (root / "cifar-10-batches-py" / "batches.meta").is_file():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return root


def build_from_config(config: str, overrides: list[str]) -> tuple[GenerativeModule, pl.LightningDataModule]:
    """Model and datamodule of a ``configs/*.yaml`` file (through the CLI's parser, so they are exactly what
    ``lightning-gen fit --config`` builds), with command-line style overrides; seeds with the config's seed."""
    from lightning_gen.cli import LightningGenCLI

    cli = LightningGenCLI(
        args=["--config", str(REPO / config), *overrides, "--trainer.logger=false"], run=False
    )
    return cli.model, cli.datamodule


def trained_steps(model: GenerativeModule) -> dict[str, int]:
    """Optimiser steps actually taken, per optimiser (read from Adam's per-parameter step counters)."""
    steps = {}
    for name, opt in zip(("generator", "discriminator"), model.trainer.optimizers, strict=False):
        first = next(p for group in opt.param_groups for p in group["params"])
        steps[name] = int(opt.state[first]["step"]) if first in opt.state else 0
    return steps


def train_for(
    model: GenerativeModule, data: pl.LightningDataModule | DataLoader, minutes: float, ckpt: Path
) -> dict[str, Any]:
    """Fit on ``data`` (a datamodule or a train loader) for ``minutes`` of wall-clock time on the CPU, save
    ``ckpt``; return what was trained (time, batches, images, optimiser steps)."""
    trainer = pl.Trainer(
        accelerator="cpu",
        max_time={"minutes": minutes},
        max_epochs=-1,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    start, cpu_start, load_start = time.perf_counter(), time.process_time(), os.getloadavg()[0]
    if isinstance(data, DataLoader):
        trainer.fit(model, train_dataloaders=data)
        batch_size = data.batch_size
    else:
        trainer.fit(model, datamodule=data)
        batch_size = data.batch_size
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    trainer.save_checkpoint(ckpt)
    steps = trained_steps(model)
    batches = trainer.fit_loop.epoch_loop.total_batch_idx + 1
    return {
        "seconds": round(seconds, 1),
        # the machine is shared: CPU time this process got, and the 1-minute load average around the run
        "cpu_seconds": round(cpu_seconds, 1),
        "load_average": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        "batches": batches,
        "images_seen": batches * batch_size,
        "g_steps": steps["generator"],
        "d_steps": steps.get("discriminator", 0),  # 0 for one-optimiser models (diffusion, CLIP)
        "checkpoint": repo_path(ckpt),
    }


def t10k_as_train_root() -> Path:
    """A torchvision-style MNIST root under benchmarks/work whose train files are the real t10k files."""
    src = SHARED_DATA / "mnist" / "MNIST" / "raw"
    root = WORK_DIR / "mnist_t10k_as_train"
    raw = root / "MNIST" / "raw"
    if not (raw / "train-labels-idx1-ubyte.gz").is_file():
        raw.mkdir(parents=True, exist_ok=True)
        for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
            if not (src / name).is_file():
                raise FileNotFoundError(
                    f"{src / name} not found: the benchmark needs the real MNIST files of ../shared/data."
                )
            shutil.copy(src / name, raw / name)
            shutil.copy(src / name, raw / name.replace("t10k", "train"))
    return root
