"""CLIP (Radford et al. 2021) on captioned MNIST and CIFAR-10: zero-shot accuracy with seen and held-out
wordings, retrieval R@1, next to a linear probe and the project's supervised classifiers.

Networks and options are those of ``configs/clip_mnist.yaml`` / ``configs/clip_cifar10.yaml`` (built through
the CLI's parser; ``positives: labels``), with the benchmark's step budget as the cosine horizon. Caption
templates 8 and 9 are held out of training; "held-out wordings" are zero-shot prompts made only from them.

- **MNIST**: ../shared/data has only the official t10k images, so training uses the 8,000 t10k digits of
  ``mnist_feature_split`` (the same split the MNIST feature network was trained on) and **every number is
  measured on the other 2,000**, which neither the CLIP nor the supervised classifier saw.
- **CIFAR-10**: trained on the official training images (45,000 after the datamodule's 10% val split), tested
  on the 10,000 official test images (JPEG copies, see ../shared/data/README.md).

The linear probe (logistic regression on the frozen image-tower features) is fitted on (up to 10,000)
training images and scored on the same test images; the supervised classifier is the project's feature
network (lightning_gen/assets). Retrieval R@1 uses one caption per test image (a template of the split, drawn
per image); an identical caption counts as a hit (label captions repeat). An image does not determine which
of its class's wordings captions it, so caption R@1 is bounded by about 1 / (wordings per class): 1/8 for the
seen, 1/2 for the held-out split; the class-level R@1 (a retrieved item of the query's class) is given too.

Each dataset is a resumable unit: training checkpoints to benchmarks/work/clip_zero_shot/<dataset>/ every 100
steps and a rerun continues from last.ckpt; a finished unit is skipped.

    python -m benchmarks clip_zero_shot [--quick] [--datasets mnist,cifar10] [--mnist-steps N] [--cifar10-steps N] [--ablation]

``--ablation`` adds MNIST with ``positives: captions`` (only identical captions are positives; other wordings of
the same digit are negatives), to measure what the label positives of the configs buy.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from torch.utils.data import Subset

from benchmarks import common
from benchmarks.common import ResultFile, build_from_config, markdown_table
from lightning_gen.data import CaptionedCIFAR10DataModule, CaptionedMNISTDataModule
from lightning_gen.metrics.clip_eval import (
    embed_images,
    embed_texts,
    image_features,
    linear_probe_accuracy,
    retrieval_recall,
    zero_shot_accuracy,
)
from lightning_gen.metrics.feature_nets import load_feature_network, mnist_feature_split
from lightning_gen.models.clip import CLIP

NAME = "clip_zero_shot"
HELDOUT_TEMPLATES = [8, 9]
TARGETS = {"mnist": {"seen": 0.97, "heldout": 0.90}, "cifar10": {"seen": 0.60}}
CONFIGS = {"mnist": "configs/clip_mnist.yaml", "cifar10": "configs/clip_cifar10.yaml"}
#: ``--ablation`` units: (dataset, config overrides); no target
ABLATIONS = {"mnist_positives_captions": ("mnist", ["--model.init_args.positives=captions"])}


class HeldOutMNIST(CaptionedMNISTDataModule):
    """Captioned MNIST whose fit split is ``mnist_feature_split`` of the t10k digits: train on its 8,000,
    validate (and test, in this benchmark) on its 2,000 held-out digits."""

    def build_fit_datasets(self):
        full = self._dataset("train")  # the root's train files are copies of t10k
        train, held_out = mnist_feature_split(len(full))
        return Subset(full, train.tolist()), Subset(full, held_out.tolist())


def datamodule(dataset: str, quick: bool) -> pl.LightningDataModule:
    options: dict[str, Any] = {"batch_size": 32 if quick else 128, "heldout_templates": HELDOUT_TEMPLATES, "limit": 256 if quick else None}
    if dataset == "mnist":
        return HeldOutMNIST(root=str(common.t10k_as_train_root()), image_size=28, **options)
    return CaptionedCIFAR10DataModule(root=str(common.prepare_cifar10(common.WORK_DIR)), **options)


def stacked(dataset: Any, limit: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(images, labels) of the first ``limit`` items of an ``(image, label)`` dataset."""
    count = min(limit, len(dataset))
    items = [dataset[i] for i in range(count)]
    return torch.stack([x for x, _ in items]), torch.tensor([int(y) for _, y in items])


def train(
    dataset: str, steps: int, quick: bool, work: Path, extra: list[str] | None = None
) -> tuple[CLIP, pl.LightningDataModule, dict[str, Any]]:
    """Train (or resume) the unit's CLIP to ``steps`` optimiser steps; returns the model and what it cost."""
    overrides = [f"--model.init_args.cosine_steps={steps}", *(extra or [])]
    if quick:
        overrides.append("--model.init_args.warmup_steps=1")
    model, _ = build_from_config(CONFIGS[dataset], overrides)
    dm = datamodule(dataset, quick)
    work.mkdir(parents=True, exist_ok=True)
    progress_file = work / "progress.json"
    progress = json.loads(progress_file.read_text()) if progress_file.is_file() else {"wall_s": 0.0, "cpu_s": 0.0, "runs": 0}
    last = work / "last.ckpt"
    trainer = pl.Trainer(
        accelerator="cpu",
        max_steps=steps,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[pl.callbacks.ModelCheckpoint(dirpath=work, save_last=True, every_n_train_steps=100 if not quick else 1)],
    )
    start, cpu = time.perf_counter(), time.process_time()
    trainer.fit(model, datamodule=dm, ckpt_path=str(last) if last.is_file() else None)
    trainer.save_checkpoint(last)
    progress = {
        "wall_s": round(progress["wall_s"] + time.perf_counter() - start, 1),
        "cpu_s": round(progress["cpu_s"] + time.process_time() - cpu, 1),
        "runs": progress["runs"] + 1,
    }
    progress_file.write_text(json.dumps(progress))
    dm.setup("test")
    return model.eval(), dm, {**progress, "steps": int(trainer.global_step), "batch_size": dm.batch_size, "checkpoint": str(last)}


def test_split(dataset: str, dm: Any, limit: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The evaluation images: MNIST's 2,000 held-out t10k digits (the val split here), CIFAR-10's test set."""
    split = dm.val_set if dataset == "mnist" else dm.test_set
    return stacked(split.images, limit)


@torch.no_grad()
def evaluate(dataset: str, model: CLIP, dm: Any, quick: bool) -> dict[str, Any]:
    images, labels = test_split(dataset, dm, 200 if quick else 10_000)
    train_images, train_labels = stacked(dm.train_set.images, 256 if quick else 10_000)
    result: dict[str, Any] = {"test_images": len(labels), "probe_train_images": len(train_labels)}
    image_embeddings = embed_images(model, images)
    for split in ("seen", "heldout"):
        result[f"zeroshot_{split}"] = zero_shot_accuracy(model, images, labels, dm.class_prompts(split))
        texts = [dm.captions.choose(int(y), split, 0, 0, i) for i, y in enumerate(labels.tolist())]
        result[f"retrieval_{split}"] = retrieval_recall(image_embeddings, embed_texts(model, texts), texts, labels=labels)
    result["linear_probe"] = linear_probe_accuracy(
        image_features(model, train_images), train_labels, image_features(model, images), labels
    )
    classifier = load_feature_network(dataset).with_output("logits")
    logits = torch.cat([classifier(images[i : i + 500]) for i in range(0, len(images), 500)])
    result["supervised_classifier"] = float((logits.argmax(1) == labels).float().mean())
    return result


def summarize(result: ResultFile) -> None:
    rows, summary = [], {}
    for key, unit in result.units.items():
        targets = TARGETS.get(key, {})
        met = {split: unit[f"zeroshot_{split}"]["top1"] >= t for split, t in targets.items()}
        summary[key] = {"targets": targets, "met": met}
        target_text = ", ".join(f"{s} >= {t:.0%}: {'met' if met[s] else 'MISSED'}" for s, t in targets.items())
        rows.append((
            key, unit["budget"]["steps"], unit["budget"]["batch_size"], round(unit["budget"]["wall_s"] / 60, 1),
            round(unit["budget"]["cpu_s"] / 60, 1) if "cpu_s" in unit["budget"] else "",
            unit["zeroshot_seen"]["top1"], unit["zeroshot_heldout"]["top1"],
            unit["retrieval_seen"]["image_to_text_R@1"], unit["retrieval_seen"]["text_to_image_R@1"],
            unit["retrieval_heldout"]["image_to_text_R@1"], unit["retrieval_seen"]["text_to_image_class_R@1"],
            unit["linear_probe"], unit["supervised_classifier"],
            unit["test_images"], target_text or "ablation (no target)",
        ))  # fmt: skip
    header = ("data", "steps", "batch", "train min (wall)", "train CPU min", "zero-shot seen", "zero-shot held-out", "R@1 i->t seen",
              "R@1 t->i seen", "R@1 i->t held-out", "class R@1 t->i seen", "linear probe", "supervised classifier", "test images", "targets")  # fmt: skip
    environment = next(iter(result.units.values()))["environment"] if result.units else {}
    markdown = (
        f"# {NAME}\n\nCLIP trained on captioned MNIST / CIFAR-10 (templates {HELDOUT_TEMPLATES} held out of training), "
        "evaluated on images it never saw: MNIST's 2,000 held-out t10k digits (training used the other 8,000: "
        "../shared/data has no official MNIST training images), CIFAR-10's 10,000 test images. Top-1 accuracies; "
        f"hardware: {environment.get('hardware', '?')}, torch threads {environment.get('torch_threads', '?')}, shared "
        "machine (train minutes: the wall clock, and the CPU time the training process got). Networks: "
        "configs/clip_*.yaml (`positives: labels`: other wordings of a class are positives too), trained for the "
        "steps shown with the cosine schedule ending there.\n\n" + markdown_table(header, rows) + "\n"
        "Caption R@1 is bounded by about 1 / (wordings per class), since an image does not determine which of its "
        "class's wordings captions it: 1/8 for the seen, 1/2 for the held-out wordings (image -> text ranks the "
        "distinct captions). Class R@1: the retrieved image is of the caption's class. Linear probe: logistic "
        "regression on the frozen image-tower features of up to 10,000 training images. Supervised classifier: "
        "the project's feature network (lightning_gen/assets) on the same test images.\n"
    )
    if any(key in ABLATIONS for key in result.units):
        markdown += (
            "\nmnist_positives_captions: the MNIST run with `positives: captions` (only identical captions are "
            "positives; other wordings of the digit are negatives), same steps and seed. One seed each.\n"
        )
    result.set_summary(summary, markdown)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks {NAME}")
    parser.add_argument("--quick", action="store_true", help="3 steps on 256 images, 200 test images")
    parser.add_argument("--datasets", default="mnist,cifar10", help="comma list of mnist, cifar10")
    parser.add_argument("--mnist-steps", type=int, default=800)
    parser.add_argument("--cifar10-steps", type=int, default=900)
    parser.add_argument("--ablation", action="store_true", help="also MNIST with positives=captions (plain InfoNCE up to exact duplicates)")
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", 1)))
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    bad = [d for d in datasets if d not in CONFIGS]
    if bad:
        parser.error(f"unknown dataset(s) {bad}; choose from {', '.join(CONFIGS)}")
    steps = {"mnist": 3 if args.quick else args.mnist_steps, "cifar10": 3 if args.quick else args.cifar10_steps}
    config = {"steps": steps, "heldout_templates": HELDOUT_TEMPLATES, "configs": CONFIGS}
    result = ResultFile(NAME, config, quick=args.quick)
    units = [(d, d, []) for d in datasets]
    if args.ablation:
        units += [(key, d, extra) for key, (d, extra) in ABLATIONS.items() if d in datasets]
    for key, dataset, extra in units:
        if result.done(key):
            continue
        work = common.WORK_DIR / (NAME + ("_quick" if args.quick else "")) / key
        pl.seed_everything(0)
        model, dm, budget = train(dataset, steps[dataset], args.quick, work, extra)
        start = time.perf_counter()
        unit = evaluate(dataset, model, dm, args.quick)
        result.add(key, {**unit, "budget": budget, "overrides": extra, "eval_wall_s": round(time.perf_counter() - start, 1)})
        print(f"{key}: zero-shot seen {unit['zeroshot_seen']['top1']:.4f}, held-out {unit['zeroshot_heldout']['top1']:.4f}")
    summarize(result)
    print(result.md_path.read_text())
    return 0
