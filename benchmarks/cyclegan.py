"""CycleGAN (Zhu et al., 2017) on real unpaired data: sklearn digits <-> MNIST, CIFAR-10 horse <-> deer.

``python -m benchmarks cyclegan [--quick] [--epochs E] [--batches-per-epoch N] [--tasks digits horse_deer]``

- digits: ``configs/cyclegan_digits_mnist.yaml``. A = the 1,797 scikit-learn 8x8 digits upsampled to 32x32
  (a seeded 80% to train, the other 359 to test), B = the 10,000 real MNIST t10k digits padded to 32x32
  (``../shared/data/mnist`` has no training images). Metric: the project's MNIST classifier
  (``lightning_gen.metrics.load_feature_network("mnist")``) on the 359 held-out digits translated A -> B
  (label preservation), against the same classifier on the untranslated upsampled digits.
- horse_deer: ``configs/cyclegan_horse_deer.yaml``. The real CIFAR-10 images of ``../shared/data/cifar10``
  (JPEG re-encodings), 5,000 training horses and deer, the 1,000 test images of each to measure. Metrics,
  each direction: the project's CIFAR-10 classifier's rate of the *target* class on the translated test
  images, and FID (that classifier's penultimate features) to the real test images of the target domain,
  before (the untranslated source images) and after translation.

Training: each config's networks and recipe, ``--epochs`` epochs of ``--batches-per-epoch`` batches (the LR
decays linearly to 0 over the second half), seed 0, on the CPU; evaluation reloads the checkpoint alone.
Units of ``benchmarks/results/cyclegan.json`` are skipped on a rerun; training resumes from
``benchmarks/work/cyclegan/<task>/last.ckpt``. Pictures: ``docs/cyclegan_<task>.png``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from benchmarks.common import (
    SHARED_DATA,
    WORK_DIR,
    ResultFile,
    build_from_config,
    markdown_table,
    prepare_cifar10,
    repo_path,
)
from lightning_gen.data.domains import CIFAR10DomainsDataModule, DigitsMNISTDataModule
from lightning_gen.models import CycleGAN
from lightning_gen.sampling import load_model
from lightning_gen.utils.images import save_grid

__all__ = ["main", "train_task"]

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
TASKS = {"digits": "configs/cyclegan_digits_mnist.yaml", "horse_deer": "configs/cyclegan_horse_deer.yaml"}


def _data_overrides(task: str) -> list[str]:
    if task == "digits":
        return [
            f"--data.init_args.mnist_root={SHARED_DATA / 'mnist'}",
            "--data.init_args.mnist_train_split=test",
        ]
    return [f"--data.init_args.root={prepare_cifar10()}"]


def train_task(task: str, epochs: int, batches: int, work: Path) -> dict:
    """Fit the task's config for ``epochs`` x ``batches`` batches (resuming from ``work/last.ckpt``)."""
    model, dm = build_from_config(TASKS[task], _data_overrides(task))
    work.mkdir(parents=True, exist_ok=True)
    last = work / "last.ckpt"
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=epochs,
        limit_train_batches=batches,
        limit_val_batches=0,
        logger=False,
        callbacks=[ModelCheckpoint(dirpath=work, save_last=True, save_top_k=0, every_n_train_steps=100)],
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(work),
    )
    start = time.perf_counter()
    trainer.fit(model, dm, ckpt_path=str(last) if last.is_file() else None)
    trainer.save_checkpoint(last)
    return {
        "epochs": trainer.current_epoch,
        "iterations": trainer.global_step // 2,  # one G and one D optimiser step per batch
        "batch_size": dm.batch_size,
        "train_images": {"a": len(dm.domains("train")[0]), "b": len(dm.domains("train")[1])},
        "final_lr": trainer.optimizers[0].param_groups[0]["lr"],
        "wall_seconds_this_run": round(time.perf_counter() - start, 1),
        "checkpoint": repo_path(last),
    }


def _pictures(model: CycleGAN, a: torch.Tensor, b: torch.Tensor, path: Path, n: int = 10) -> None:
    """Rows: A, G_AB(A), B, G_BA(B) for the first ``n`` test images of each domain."""
    a, b = a[:n], b[:n]
    save_grid(torch.cat([a, model.translate(a, "a2b"), b, model.translate(b, "b2a")]), path, nrow=n)


def _accuracy(classifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    return (classifier(images).argmax(1) == labels).float().mean().item()


def evaluate_digits(ckpt: Path, pictures: Path = DOCS) -> dict:
    from lightning_gen.metrics.feature_nets import load_feature_network

    model = load_model(ckpt)
    dm = DigitsMNISTDataModule(str(SHARED_DATA / "mnist"))
    digits, labels = dm.domain("a", "test")
    mnist, _ = dm.domain("b", "test")
    _pictures(model, digits, mnist, pictures / "cyclegan_digits.png")
    classifier = load_feature_network("mnist", output="logits")
    translated = model.translate(digits, "a2b")
    return {
        "test_digits": int(digits.shape[0]),
        "mnist_classifier_accuracy_translated": _accuracy(classifier, translated, labels),
        "mnist_classifier_accuracy_untranslated": _accuracy(classifier, digits, labels),
        "feature_network": classifier.name,
        "picture": "docs/cyclegan_digits.png",
    }


def evaluate_horse_deer(ckpt: Path, pictures: Path = DOCS) -> dict:
    from lightning_gen.metrics.feature_nets import load_feature_network
    from lightning_gen.metrics.image_metrics import ImageMetrics

    model = load_model(ckpt)
    dm = CIFAR10DomainsDataModule(str(prepare_cifar10()))
    horses, horse_labels = dm.domain("a", "test")
    deer, deer_labels = dm.domain("b", "test")
    _pictures(model, horses, deer, pictures / "cyclegan_horse_deer.png")
    classifier = load_feature_network("cifar10", output="logits")
    out: dict = {"test_images_per_domain": int(horses.shape[0]), "feature_network": classifier.name}
    for direction, source, target, target_label in (
        ("a2b", horses, deer, int(deer_labels[0])),
        ("b2a", deer, horses, int(horse_labels[0])),
    ):
        translated = model.translate(source, direction)
        for name, images in (("untranslated", source), ("translated", translated)):
            out[f"{direction}/target_class_rate_{name}"] = (
                (classifier(images).argmax(1) == target_label).float().mean().item()
            )
            fid = ImageMetrics(["fid"], feature_net="cifar10")
            fid.update_real(target)
            fid.update_fake(images)
            out[f"{direction}/fid_to_target_{name}"] = fid.compute()["fid"]
    out["picture"] = "docs/cyclegan_horse_deer.png"
    return out


EVALUATE = {"digits": evaluate_digits, "horse_deer": evaluate_horse_deer}


def _markdown(results: ResultFile) -> str:
    text = "# CycleGAN on real unpaired data\n\n"
    units = results.units
    digits, hd = units.get("eval/digits"), units.get("eval/horse_deer")
    train = {t: units.get(f"train/{t}") for t in TASKS}
    budget = {
        t: (
            f"{u['iterations']} iterations x batch {u['batch_size']} ({u['epochs']} epochs, LR decayed linearly to 0 "
            f"over the second half), {u['wall_seconds_this_run']:.0f} s on {u['environment']['hardware']}"
        )
        if u
        else "not trained"
        for t, u in train.items()
    }
    text += f"## sklearn digits (A) <-> MNIST (B)\n\nBudget: {budget['digits']}.\n\n"
    if digits:
        text += markdown_table(
            ["MNIST classifier on held-out sklearn digits", "accuracy", "images"],
            [
                [
                    "untranslated (upsampled 8x8)",
                    digits["mnist_classifier_accuracy_untranslated"],
                    digits["test_digits"],
                ],
                ["translated A -> B", digits["mnist_classifier_accuracy_translated"], digits["test_digits"]],
            ],
        )
    else:
        text += "Not measured yet (see the benchmark's output).\n"
    text += f"\n## CIFAR-10 horse (A) <-> deer (B)\n\nBudget: {budget['horse_deer']}.\n\n"
    if hd:
        rows = []
        for direction, label in (("a2b", "horse -> deer"), ("b2a", "deer -> horse")):
            for name in ("untranslated", "translated"):
                rows.append(
                    [
                        f"{label}, {name}",
                        hd[f"{direction}/target_class_rate_{name}"],
                        hd[f"{direction}/fid_to_target_{name}"],
                    ]
                )
        text += markdown_table(
            ["test images (1,000 per domain)", "target-class rate", "FID to target test set"], rows
        )
        text += (
            f"\nFeature network: {hd['feature_network']} (FID on its penultimate features, 1,000 vs 1,000 images; "
            "not comparable to Inception FIDs). The untranslated rows compare the source test images with the "
            "target test images. A high target-class rate with a worse FID means the classifier is fooled by "
            "images that are not yet realistic: look at the picture.\n"
        )
    else:
        text += "Not measured yet (see the benchmark's output).\n"
    return text


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks cyclegan", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs of 3 batches per task (a smoke run)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs (the LR decays over the second half)")
    parser.add_argument("--batches-per-epoch", type=int, default=80)
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    args = parser.parse_args(argv)
    epochs, batches = (2, 3) if args.quick else (args.epochs, args.batches_per_epoch)
    config = {"epochs": epochs, "batches_per_epoch": batches, "seed": 0, "configs": TASKS}
    results = ResultFile("cyclegan", config, quick=args.quick)
    work = WORK_DIR / ("cyclegan_quick" if args.quick else "cyclegan")
    for task in args.tasks:
        if not results.done(f"train/{task}"):
            pl.seed_everything(0)
            results.add(f"train/{task}", train_task(task, epochs, batches, work / task))
        if not results.done(f"eval/{task}"):
            try:
                results.add(
                    f"eval/{task}", EVALUATE[task](REPO / results.unit(f"train/{task}")["checkpoint"],
                                   pictures=work if args.quick else DOCS)
                )
            except FileNotFoundError as err:  # the project's feature networks are not trained yet
                print(f"cyclegan: {task} not evaluated: {err}")
    text = _markdown(results)
    results.set_summary({}, text)
    print(text)
    return 0
