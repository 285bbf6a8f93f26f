"""CoGAN (Liu & Tuzel, 2016) on real MNIST: digits <-> edges and digits <-> negatives, pixel agreement.

``python -m benchmarks cogan [--quick] [--iterations N] [--pairs N] [--tasks edges negative]``

- Data: the 10,000 real MNIST t10k digits of ``../shared/data/mnist`` (its training images are not
  available), padded to 32x32 and split at random into two disjoint halves of 5,000: domain A = the first
  half's digits, domain B = the second half's edge (or negative) images. No pair is ever seen.
- Model: ``configs/cogan_mnist_{edges,negative}.yaml`` (built through the CLI parser), trained for
  ``--iterations`` batches of 64 from seed 0 on the CPU; the checkpoint is then reloaded from disk alone.
- Metric (the paper's): ``--pairs`` (10,000) generated pairs; each domain-B image and the known transform of
  its domain-A image are binarised at 0 and the share of agreeing pixels is averaged over pairs
  (:func:`lightning_gen.data.domains.pixel_agreement`). Also reported: the same ratio with the pairs
  shuffled (what two unrelated generated images score: the metric's floor) and the foreground IoU.

Each task's training and evaluation are units of ``benchmarks/results/cogan.json`` (a rerun skips them;
training resumes from ``benchmarks/work/cogan/<task>/last.ckpt``). Pictures: ``docs/cogan_<task>.png``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from benchmarks.common import SHARED_DATA, WORK_DIR, ResultFile, build_from_config, markdown_table, repo_path
from lightning_gen.data.domains import pixel_agreement
from lightning_gen.models import CoGAN
from lightning_gen.sampling import load_model
from lightning_gen.utils.images import save_grid

__all__ = ["main", "train_task"]

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
TASKS = ("edges", "negative")
TARGET = 0.97


def train_task(task: str, iterations: int, work: Path) -> dict:
    """Fit ``configs/cogan_mnist_<task>.yaml`` for ``iterations`` batches (resuming from ``work``)."""
    model, dm = build_from_config(
        f"configs/cogan_mnist_{task}.yaml",
        [f"--data.init_args.root={SHARED_DATA / 'mnist'}", "--data.init_args.train_split=test"],
    )
    work.mkdir(parents=True, exist_ok=True)
    last = work / "last.ckpt"
    checkpoint = ModelCheckpoint(dirpath=work, save_last=True, save_top_k=0, every_n_train_steps=200)
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=2 * iterations,  # one D and one G optimiser step per batch
        max_epochs=-1,
        limit_val_batches=0,
        logger=False,
        callbacks=[checkpoint],
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(work),
    )
    start = time.perf_counter()
    trainer.fit(model, dm, ckpt_path=str(last) if last.is_file() else None)
    trainer.save_checkpoint(last)
    return {
        "iterations": trainer.global_step // 2,
        "batch_size": dm.batch_size,
        "train_images_per_domain": len(dm.domains("train")[0]),
        "wall_seconds_this_run": round(time.perf_counter() - start, 1),
        "checkpoint": repo_path(last),
    }


def evaluate(task: str, ckpt: Path, pairs: int, pictures: Path = DOCS) -> dict:
    """Pixel agreement of ``pairs`` sampled pairs (and of shuffled pairs); a grid goes to ``pictures``."""
    model = load_model(ckpt)  # the checkpoint alone
    assert isinstance(model, CoGAN)
    images_a, images_b = model.sample_pairs(pairs, seed=0)
    shuffled = torch.randperm(pairs, generator=torch.Generator().manual_seed(0))
    paired = pixel_agreement(images_a, images_b, task)
    floor = pixel_agreement(images_a[shuffled], images_b, task)
    pictures.mkdir(parents=True, exist_ok=True)
    save_grid(model.sample(32, seed=1), pictures / f"cogan_{task}.png", nrow=4)
    return {
        "pairs": pairs,
        "pixel_agreement": paired["agreement"],
        "foreground_iou": paired["foreground_iou"],
        "pixel_agreement_shuffled_pairs": floor["agreement"],
        "foreground_iou_shuffled_pairs": floor["foreground_iou"],
        "target": TARGET,
        "target_met": paired["agreement"] >= TARGET,
        "picture": f"docs/cogan_{task}.png",
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks cogan", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 iterations, 500 pairs (a smoke run)")
    parser.add_argument("--iterations", type=int, default=1500, help="training batches (of 64) per task")
    parser.add_argument("--pairs", type=int, default=10_000, help="generated pairs for the metric")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    args = parser.parse_args(argv)
    iterations, pairs = (20, 500) if args.quick else (args.iterations, args.pairs)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    config = {
        "iterations": iterations,
        "pairs": pairs,
        "batch_size": 64,
        "seed": 0,
        "data": "MNIST t10k (real)",
    }
    results = ResultFile("cogan", config, quick=args.quick)
    work = WORK_DIR / ("cogan_quick" if args.quick else "cogan")
    for task in args.tasks:
        if not results.done(f"train/{task}"):
            pl.seed_everything(0)
            results.add(f"train/{task}", train_task(task, iterations, work / task))
        if not results.done(f"eval/{task}"):
            results.add(
                f"eval/{task}", evaluate(task, REPO / results.unit(f"train/{task}")["checkpoint"], pairs,
                         pictures=work if args.quick else DOCS)
            )
    rows = []
    for task in TASKS:
        if results.done(f"eval/{task}"):
            t, e = results.unit(f"train/{task}"), results.unit(f"eval/{task}")
            rows.append(
                [
                    f"digits / {task}",
                    e["pixel_agreement"],
                    e["pixel_agreement_shuffled_pairs"],
                    e["foreground_iou"],
                    e["foreground_iou_shuffled_pairs"],
                    f">= {TARGET}: {'met' if e['target_met'] else 'missed'}",
                    f"{t['iterations']} x {t['batch_size']}",
                    e["environment"]["hardware"],
                ]
            )
    header = [
        "task", "pixel agreement", "(shuffled pairs)", "foreground IoU", "(shuffled pairs)", "target",
        "iterations x batch", "hardware",
    ]  # fmt: skip
    text = (
        "# CoGAN on real MNIST (t10k digits, two disjoint halves of 5,000)\n\n"
        f"{pairs} generated pairs per task; pixel agreement as in Liu & Tuzel (2016), both images binarised at 0.\n\n"
        + markdown_table(header, rows)
    )
    results.set_summary({"rows": rows}, text)
    print(text)
    return 0
