"""Imagen-style text-to-image on MNIST (Saharia et al., 2022): prompt accuracy against guidance and thresholding,
frozen pretrained MiniLM vs a text tower trained only on the captions, seen vs held-out wordings and pairs.

Prompt accuracy is the share of samples that the project's MNIST classifier (lightning_gen/metrics/feature_nets.py,
98.5% on held-out real digits at 28x28) assigns the class the prompt names. Samples are upsampled to 28x28
(bilinear; the base models work at 16x16); two-digit canvases are cut into their two 16x16 digit boxes
(:func:`~lightning_gen.data.two_digit.digit_halves`), each classified, and a sample counts when both digits
are right and in the stated places. The same resampling of *real* test digits gives each measure's floor.

Variants (each trained here from its config, resumable: checkpoints under benchmarks/work/text_to_image/):
- ``mnist_minilm``: configs/t2i_mnist.yaml (frozen all-MiniLM-L6-v2); wordings 3 and 8 held out of training;
- ``mnist_tower``: configs/t2i_mnist_tower.yaml (BPE tokenizer + transformer trained jointly, captions only);
- ``two_digits_minilm``: configs/t2i_two_digits.yaml (32x32 two-digit canvases; 5 ordered pairs held out).

Each (prompt set, guidance w, thresholding) cell draws ``--per-class`` samples per class (two digits: per pair,
for 10 seen pairs and the 5 held-out ones), prompts cycling over the set's wordings, ancestral sampling with 50
steps (``--sampler``), seed 0. Targets
(issue 11): MNIST >= 95% on seen prompts, >= 90% on held-out wordings with MiniLM, >= 80% on held-out pairs.

Every variant trains ``--train-steps`` optimizer steps unless ``--steps-for VARIANT=N`` gives it a budget of its
own (the 32x32 two-digit model needs more than the 16x16 ones). Raising a variant's budget later resumes its
checkpoint and re-measures only that variant's cells; a budget below the trained one is an error.

    python -m benchmarks text_to_image [--quick] [--variants mnist_minilm,...] [--train-steps N]
        [--steps-for two_digits_minilm=N] [--per-class K]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
import torch.nn.functional as F

import benchmarks.common as common
from benchmarks.common import ResultFile, build_from_config, markdown_table, t10k_as_train_root
from benchmarks.diffusion_nfe import real_digits, score
from lightning_gen.data.mnist import read_mnist
from lightning_gen.data.transforms import resize, uint8_to_float
from lightning_gen.data.two_digit import digit_halves, shrink_digits
from lightning_gen.metrics import load_feature_network
from lightning_gen.sampling import load_model

NAME = "text_to_image"
VARIANTS = {
    "mnist_minilm": "configs/t2i_mnist.yaml",
    "mnist_tower": "configs/t2i_mnist_tower.yaml",
    "two_digits_minilm": "configs/t2i_two_digits.yaml",
}
#: how docs/t2i_mnist_prompts.png is made from the trained mnist_minilm checkpoint (rows 4, 5, 7, 8: held-out wordings)
PICTURE_PROMPTS = ["a handwritten digit seven", "the number 3", "a picture of an 8", "an image of the digit two",
                   "a scan of the numeral 5", "a handwritten nine", "an image of the digit zero", "a scan of the numeral 4"]  # fmt: skip


#: how docs/t2i_two_digits.png is made from the two_digits_minilm checkpoint: rows 1, 3, 5, 7 and 9 are the
#: held-out pairs of configs/t2i_two_digits.yaml, each next to its trained mirror image (7 3 after 3 7, ...)
TWO_DIGIT_PICTURE_PROMPTS = [
    "a 3 on the left and a 7 on the right", "a 7 on the left and a 3 on the right", "2 to the right of 5",
    "5 to the right of 2", "eight followed by one", "one followed by eight", "the digits 0 and 6, from left to right",
    "the digits 6 and 0, from left to right", "a 4 with a 9 to its left", "a 9 with a 4 to its left",
]  # fmt: skip
@dataclass(frozen=True)
class Picture:
    """A variant's picture: its prompts (one row each), where it goes, the sampling steps (the two-digit one
    at its measured cells' steps) and the caption the results page gives it."""

    prompts: list[str]
    path: str
    steps: int
    caption: str


PICTURES = {
    "mnist_minilm": Picture(PICTURE_PROMPTS, "docs/t2i_mnist_prompts.png", 50,
                            "rows 4, 5, 7 and 8 are held-out wordings"),
    "two_digits_minilm": Picture(TWO_DIGIT_PICTURE_PROMPTS, "docs/t2i_two_digits.png", 25,
                                 "rows 1, 3, 5, 7 and 9 are held-out pairs, each followed by its trained mirror"),
}  # fmt: skip


def default_checkpoint(variant: str) -> str:
    """Where the benchmark leaves ``variant``'s last checkpoint."""
    return f"benchmarks/work/{NAME}/{variant}/last.ckpt"


def picture_command(ckpt: str = default_checkpoint("mnist_minilm"), variant: str = "mnist_minilm") -> str:
    """The command that draws ``variant``'s picture (:data:`PICTURES`) from its checkpoint ``ckpt``."""
    picture = PICTURES[variant]
    flags = " ".join(f'--prompt "{p}"' for p in picture.prompts)
    return (f"lightning-gen sample --ckpt {ckpt} {flags} --num 8 --guidance-scale 4 --dynamic-threshold 0.95 "
            f"--sampler ddpm --steps {picture.steps} --seed 0 --device cpu --out {picture.path}")  # fmt: skip


def parse_steps_for(entries: list[str], default: int) -> dict[str, int]:
    """Training budget per variant: ``default``, or N for each ``VARIANT=N`` of ``entries``.

    Raises:
        ValueError: an entry that is not ``VARIANT=N`` with a known variant and N >= 1.
    """
    steps = dict.fromkeys(VARIANTS, default)
    for entry in entries:
        variant, _, number = entry.partition("=")
        if variant not in VARIANTS or not number.isdigit() or int(number) < 1:
            raise ValueError(f"--steps-for wants VARIANT=N with N >= 1 and VARIANT one of {sorted(VARIANTS)}, got {entry!r}.")
        steps[variant] = int(number)
    return steps


def reconcile_budget(result: ResultFile, variant: str, steps: int) -> None:
    """Keep ``variant``'s units when they were measured at ``steps`` training steps; when ``steps`` is larger,
    drop its training, prompt-accuracy and FID / KID units (the checkpoint resumes to the new budget; the
    real-digit floors, which no training affects, stay).

    Raises:
        ValueError: ``steps`` below the budget the units were measured at (their checkpoint cannot go back).
    """
    key = f"train/{variant}"
    if not result.done(key) or (trained := result.unit(key)["global_step"]) == steps:
        return
    if steps < trained:
        raise ValueError(f"{variant} was trained and measured at {trained} steps; {steps} would mix budgets: "
                         f"pass --steps-for {variant}={trained} (or more), or delete its units and checkpoint.")  # fmt: skip
    for stale in [k for k in result.units if k == key or k.startswith((f"eval/{variant}/", f"fid/{variant}/"))]:
        del result.units[stale]
    result.save()


#: trained pairs evaluated for the two-digit variant (:func:`evaluated_seen_pairs`)
NUM_SEEN_PAIRS = 10
QUICK_OVERRIDES = [  # tiny networks and data: the plumbing, not the numbers
    "--model.init_args.denoiser.init_args.widths=[8, 16]", "--model.init_args.denoiser.init_args.norm_groups=4",
    "--model.init_args.denoiser.init_args.heads=2", "--model.init_args.denoiser.init_args.cross_attention_dim=16",
    "--data.init_args.batch_size=8",
]  # fmt: skip


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks {NAME}")
    parser.add_argument("--quick", action="store_true", help="tiny networks, 2 training steps, 1 sample per class")
    parser.add_argument("--variants", default="mnist_minilm,mnist_tower,two_digits_minilm")
    parser.add_argument("--train-steps", type=int, default=1200, help="optimizer steps per variant (resumes)")
    parser.add_argument("--steps-for", action="append", default=[], metavar="VARIANT=N",
                        help="a budget of its own for one variant (repeat); raising it later resumes that variant")
    parser.add_argument("--per-class", type=int, default=5, help="samples per class (pair) and cell")
    parser.add_argument("--guidance", default="1,2,4,8")
    parser.add_argument("--sampler", default="ddpm", choices=("ddpm", "ddim", "dpmpp"),
                        help="ancestral by default: at CPU training budgets DDIM leaves visible noise (see diffusion_nfe)")
    parser.add_argument("--sampling-steps", type=int, default=50)
    parser.add_argument("--dynamic-threshold", type=float, default=0.95, help="percentile of the thresholded cells")
    parser.add_argument("--fid-samples", type=int, default=500,
                        help="samples per guidance scale and thresholding for FID / KID (single-digit variants; 0: none)")
    parser.add_argument("--fid-guidance", default=None,
                        help="the guidance scales of the FID / KID cells (default: --guidance); resumable on its own")
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants {unknown}; choose from {sorted(VARIANTS)}")
    guidance = [float(w) for w in args.guidance.split(",")]
    fid_guidance = [float(w) for w in args.fid_guidance.split(",")] if args.fid_guidance else guidance
    steps, per_class, sampling_steps = args.train_steps, args.per_class, args.sampling_steps
    try:
        budgets = parse_steps_for(args.steps_for, steps)
    except ValueError as error:
        parser.error(str(error))
    fid_samples = args.fid_samples
    if args.quick:
        steps, per_class, sampling_steps, guidance, fid_samples = 2, 1, 2, [1.0, 4.0], 20
        fid_guidance = guidance
        budgets = dict.fromkeys(VARIANTS, steps)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", 1)))
    config = {"train_steps": steps, "per_class": per_class, "guidance": guidance, "sampler": args.sampler,
              "sampling_steps": sampling_steps, "dynamic_threshold": args.dynamic_threshold, "seed": 0,
              "network_overrides": QUICK_OVERRIDES if args.quick else []}  # fmt: skip
    result = ResultFile(NAME, config, quick=args.quick)
    classifier = load_feature_network("mnist", output="logits")
    reference: FidReference | None = None  # built on first use, again for a variant of another image size
    root = t10k_as_train_root()
    work = common.WORK_DIR / (NAME + ("_quick" if args.quick else ""))
    for variant in variants:
        overrides = [*QUICK_OVERRIDES, "--data.init_args.limit=64"] if args.quick else []
        if args.quick and variant.startswith("two_digits"):
            overrides += ["--data.init_args.num_samples=64", "--data.init_args.val_samples=16",
                          "--model.init_args.denoiser.init_args.attention_resolutions=[16]"]
        key = f"train/{variant}"
        reconcile_budget(result, variant, budgets[variant])
        if not result.done(key):
            result.add(key, train(VARIANTS[variant], overrides, root, budgets[variant], work / variant))
        model = load_model(common.REPO / result.unit(key)["checkpoint"]).eval()
        _, datamodule = build_from_config(VARIANTS[variant], overrides + [f"--data.init_args.root={root}"])
        two_digits = variant.startswith("two_digits")
        if not result.done(f"real/{variant}"):
            result.add(f"real/{variant}", real_floor(classifier, root, two_digits, model.image_shape[-1]))
        options = {"sampler": args.sampler, "steps": sampling_steps, "batch_size": 256, "progress": False}
        for split, prompts, targets in prompt_sets(datamodule, two_digits, per_class):
            measure_cells(result, f"eval/{variant}/{split}/w{{w}}/{{t}}", guidance, args.dynamic_threshold,
                          partial(accuracy_cell, model, classifier, prompts, targets, two_digits, options))
        if fid_samples and not two_digits:  # the MNIST feature network scores whole digits, not two-digit canvases
            if reference is None or reference.size != model.image_shape[-1]:  # resampled at this variant's size
                reference = FidReference.build(model.image_shape[-1], fid_samples)
            if not result.done(reference.floor_key):
                result.add(reference.floor_key, reference.floor())
            prompts, targets = _cycle(datamodule.class_prompts("seen"), list(range(10)), -(-fid_samples // 10))
            measure_cells(result, f"fid/{variant}/w{{w}}/{{t}}/n{fid_samples}", fid_guidance, args.dynamic_threshold,
                          partial(fid_cell, model, classifier, reference, prompts[:fid_samples], targets[:fid_samples], options))
    summary, markdown = summarize(result, args.dynamic_threshold)
    result.set_summary(summary, markdown)
    print(markdown)
    return 0


def measure_cells(
    result: ResultFile, name: str, guidance: list[float], dynamic: float, measure: Any
) -> None:
    """One unit per guidance scale and thresholding (static, then dynamic at percentile ``dynamic``), keyed
    ``name.format(w=scale, t="static" | "dynamic")``: ``measure(w, threshold)`` returns it, timed here;
    finished units are skipped (the run resumes)."""
    for w in guidance:
        for threshold in (None, dynamic):
            cell = name.format(w=f"{w:g}", t="dynamic" if threshold else "static")
            if result.done(cell):
                continue
            start = time.perf_counter()
            unit = measure(w, threshold)
            result.add(cell, {**unit, "wall_s": round(time.perf_counter() - start, 1)})
            print(f"{cell}: " + ", ".join(f"{k} {unit[k]:.3f}" for k in ("accuracy", "fid") if k in unit), flush=True)


def accuracy_cell(
    model: Any, classifier: Any, prompts: list[str], targets: torch.Tensor, two_digits: bool, options: dict[str, Any],
    w: float, threshold: float | None,
) -> dict[str, Any]:
    """Prompt accuracy of one sample per prompt (seed 0) at guidance ``w`` and ``threshold``."""
    images = model.sample(1, prompts=prompts, seed=0, guidance_scale=w, dynamic_threshold=threshold, **options)
    return {"accuracy": prompt_accuracy(classifier, images, targets, two_digits), "samples": len(prompts)}


def fid_cell(
    model: Any, classifier: Any, reference: FidReference, prompts: list[str], targets: torch.Tensor,
    options: dict[str, Any], w: float, threshold: float | None,
) -> dict[str, Any]:
    """FID / KID against ``reference`` and prompt accuracy of one sample per prompt (seed 1)."""
    images = model.sample(1, prompts=prompts, seed=1, guidance_scale=w, dynamic_threshold=threshold, **options)
    return {**reference.score(images), "accuracy": prompt_accuracy(classifier, images, targets, False),
            "samples": len(prompts)}  # fmt: skip


# ---------------------------------------------------------------------------------------------- training
def train(config: str, overrides: list[str], root: Path, steps: int, work: Path) -> dict[str, Any]:
    """Fit ``config`` to ``steps`` optimizer steps, resuming from ``work/last.ckpt``; wall time accumulates."""
    model, datamodule = build_from_config(config, overrides + [f"--data.init_args.root={root}"])
    last = work / "last.ckpt"
    trainer = pl.Trainer(
        accelerator="auto", devices=1, max_steps=steps, max_epochs=-1, limit_val_batches=0, num_sanity_val_steps=0,
        logger=False, enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(work),
        callbacks=[pl.callbacks.ModelCheckpoint(dirpath=str(work), save_last=True, every_n_train_steps=max(1, min(100, steps)))],
    )
    start, cpu = time.perf_counter(), time.process_time()
    trainer.fit(model, datamodule=datamodule, ckpt_path=str(last) if last.is_file() else None)
    trainer.save_checkpoint(last)
    ledger = work / "wall.json"  # wall and CPU seconds of every run that trained this checkpoint
    runs = json.loads(ledger.read_text()) if ledger.is_file() else []
    runs.append({"until_step": int(trainer.global_step), "wall_s": round(time.perf_counter() - start, 1),
                 "cpu_s": round(time.process_time() - cpu, 1), "load_average": round(os.getloadavg()[0], 2)})  # fmt: skip
    ledger.write_text(json.dumps(runs, indent=1))
    batch_size = datamodule.batch_size
    return {
        "config": config, "overrides": overrides, "global_step": int(trainer.global_step),
        "images_seen": int(trainer.global_step) * batch_size, "batch_size": batch_size,
        "training_wall_s": round(sum(r["wall_s"] for r in runs), 1), "training_cpu_s": round(sum(r["cpu_s"] or 0 for r in runs), 1),  # interrupted runs: unknown
        "runs": runs, "checkpoint": common.repo_path(last),
        "parameters_trained": sum(p.numel() for p in model.trainable_parameters()),
    }  # fmt: skip


# ---------------------------------------------------------------------------------------------- prompts
def prompt_sets(datamodule: Any, two_digits: bool, per_class: int) -> list[tuple[str, list[str], torch.Tensor]]:
    """``(name, prompts, target labels)``: per class (pair), ``per_class`` prompts cycling over the wordings."""
    sets = []
    if two_digits:
        heldout = [10 * a + b for a, b in datamodule.pairs("heldout")]
        seen = [10 * a + b for a, b in evaluated_seen_pairs(datamodule.pairs("seen"), datamodule.pairs("heldout"))]
        groups = {"heldout_pairs": heldout, "seen_pairs": seen}  # the composition test first
        for name, labels in groups.items():
            prompts = [datamodule.prompts_for(label, "seen") for label in labels]
            sets.append((name, *_cycle(prompts, labels, per_class)))
        return sets
    for split in ("seen", "heldout"):
        class_prompts = datamodule.class_prompts(split)
        sets.append((f"{split}_wordings", *_cycle(class_prompts, list(range(len(class_prompts))), per_class)))
    return sets


def evaluated_seen_pairs(
    seen: list[tuple[int, int]], heldout: list[tuple[int, int]], num: int = NUM_SEEN_PAIRS
) -> list[tuple[int, int]]:
    """``num`` trained pairs to score next to the held-out ones: first the trained mirror of each held-out pair
    (7 3 for a held-out 3 7: same digits, trained order, the closest contrast), then other trained pairs drawn
    with seed 0 (not the first ``num``, which would all have a 0 on the left)."""
    mirrors = [(b, a) for a, b in heldout if (b, a) in seen][:num]
    rest = [p for p in seen if p not in mirrors]
    draw = torch.randperm(len(rest), generator=torch.Generator().manual_seed(0))[: num - len(mirrors)]
    return mirrors + [rest[i] for i in sorted(draw.tolist())]


def _cycle(prompts: list[list[str]], labels: list[int], per_class: int) -> tuple[list[str], torch.Tensor]:
    texts = [prompts[c][i % len(prompts[c])] for c in range(len(labels)) for i in range(per_class)]
    return texts, torch.tensor([label for label in labels for _ in range(per_class)])


# ---------------------------------------------------------------------------------------------- scoring
def digit_logits(classifier: Any, boxes: torch.Tensor, two_digits: bool) -> torch.Tensor:
    """Classifier logits for [-1, 1] digits: whole 16x16 MNIST images (resized to 28x28), or two-digit boxes
    (a 24x24 MNIST centre resized to 16x16: back to 24x24 and padded by 2, as the digits were cut)."""
    if two_digits:
        boxes = F.pad(F.interpolate(boxes.float(), size=24, mode="bilinear", align_corners=False), (2, 2, 2, 2), value=-1.0)
    else:
        boxes = F.interpolate(boxes.float(), size=28, mode="bilinear", align_corners=False)
    return classifier(boxes.clamp(-1, 1))


def prompt_accuracy(classifier: Any, images: torch.Tensor, targets: torch.Tensor, two_digits: bool) -> float:
    """Share of images classified as the prompt's class (two digits: both halves, in their places)."""
    if not two_digits:
        return (digit_logits(classifier, images, False).argmax(1).cpu() == targets).float().mean().item()
    left, right = digit_halves(images)
    correct = (digit_logits(classifier, left, True).argmax(1).cpu() == targets // 10) & (
        digit_logits(classifier, right, True).argmax(1).cpu() == targets % 10
    )
    return correct.float().mean().item()


def real_floor(classifier: Any, root: Path, two_digits: bool, size: int, num: int = 2000) -> dict[str, Any]:
    """The classifier on the last ``num`` real t10k digits put through the same resampling as the samples."""
    images, labels = read_mnist(str(root), "test")
    images, labels = images[-num:], labels[-num:].long()
    if two_digits:
        boxes = uint8_to_float(shrink_digits(images))
        accuracy = (digit_logits(classifier, boxes, True).argmax(1) == labels).float().mean().item()
    else:
        small = resize(uint8_to_float(images.unsqueeze(1)), size)
        accuracy = (digit_logits(classifier, small, False).argmax(1) == labels).float().mean().item()
    return {"accuracy": accuracy, "images": num, "what": "real t10k digits, same resampling as the samples"}


@dataclass
class FidReference:
    """FID / KID of text-conditional samples (Ho & Salimans, 2022: guidance trades sample diversity, hence FID,
    for fidelity to the condition; Saharia et al., 2022, figure 4: the FID vs CLIP-score curve over the
    guidance weight) with the project's MNIST feature network, against the 2,000 real t10k digits it never saw.
    Samples and real digits go through the same resampling (the real ones 28 -> ``size`` -> 28), so the score
    measures the generator, not the resolution."""

    held_out: torch.Tensor  # (2000, 1, 28, 28) in [-1, 1], resampled
    others: torch.Tensor  # real digits for the floor, resampled
    size: int
    num: int
    features: Any

    NAMES = ("fid", "kid")

    @classmethod
    def build(cls, size: int, num: int) -> FidReference:
        held_out, others = real_digits()
        return cls(cls._resample(held_out, size), cls._resample(others[:num], size), size, num,
                   load_feature_network("mnist"))  # fmt: skip

    @staticmethod
    def _resample(images: torch.Tensor, size: int) -> torch.Tensor:
        return F.interpolate(resize(images, size).float(), size=28, mode="bilinear", align_corners=False).clamp(-1, 1)

    @property
    def floor_key(self) -> str:
        return f"fid_floor/{self.size}px/n{self.num}"

    def floor(self) -> dict[str, Any]:
        """The same scores for ``num`` *other* real digits: what a perfect generator would get."""
        return {**score(self.held_out, self.others, self.features, self.NAMES), "samples": self.num}

    def score(self, images: torch.Tensor) -> dict[str, float]:
        up = F.interpolate(images.float().cpu(), size=28, mode="bilinear", align_corners=False).clamp(-1, 1)
        return score(self.held_out, up, self.features, self.NAMES)


def summarize(result: ResultFile, dynamic: float) -> tuple[dict[str, Any], str]:
    units = result.units
    summary: dict[str, Any] = {}
    rows = []
    for key, unit in units.items():
        if not key.startswith("eval/"):
            continue
        _, variant, split, w, threshold = key.split("/")
        summary[key[5:]] = unit["accuracy"]
        rows.append((variant, split, w[1:], threshold, f"{100 * unit['accuracy']:.1f}%", unit["samples"]))
    targets = {("mnist_minilm", "seen_wordings"): 0.95, ("mnist_minilm", "heldout_wordings"): 0.90,
               ("two_digits_minilm", "heldout_pairs"): 0.80}  # fmt: skip
    verdicts = []
    for (variant, split), target in targets.items():
        cells = {k: v for k, v in summary.items() if k.startswith(f"{variant}/{split}/")}
        if not cells:
            verdicts.append(f"- {variant} {split}: target {target:.0%}: not run")
            continue
        best_key = max(cells, key=cells.get)
        met = "met" if cells[best_key] >= target else "missed"
        verdicts.append(f"- {variant} {split}: target {target:.0%}: best {cells[best_key]:.1%} ({best_key}) -> {met}")
        summary[f"target/{variant}/{split}"] = {"target": target, "best": cells[best_key], "cell": best_key, "met": met == "met"}
    budget = [f"- {key[6:]}: {u['global_step']} steps x batch {u['batch_size']}, {u['training_wall_s']} s wall "
              f"({u['training_cpu_s']} CPU s), {u['environment']['hardware']}; {u['parameters_trained']:,} parameters "
              f"trained; config {u['config']} with overrides {u['overrides'] or 'none'}" + (f" ({u['note']})" if "note" in u else "")
              for key, u in units.items() if key.startswith("train/")]  # fmt: skip
    pictures = [f"- {PICTURES[variant].path} ({PICTURES[variant].caption}):\n\n      "
                + picture_command(units.get(f"train/{variant}", {}).get("checkpoint", default_checkpoint(variant)), variant)
                for variant in PICTURES if variant == "mnist_minilm" or f"train/{variant}" in units]  # fmt: skip
    floors = [f"- {key[5:]}: {100 * u['accuracy']:.1f}% ({u['images']} real digits)" for key, u in units.items()
              if key.startswith("real/")]  # fmt: skip
    tradeoff = _wordings(summary) + _tradeoff(units, summary)
    markdown = (
        f"# {NAME}\n\nPrompt accuracy (project MNIST classifier) of samples; dynamic = Imagen's dynamic thresholding "
        f"at p = {dynamic}, static = clipping to [-1, 1]; sampler {result.config['sampler']}, {result.config['sampling_steps']} steps, seed 0.\n\n"
        "Data: the configs' captioned datamodules on an MNIST root whose train files are the real t10k files "
        "(../shared/data has no MNIST training images), 95% train / 5% val; MNIST wordings 3 and 8 "
        "(\"an image of the digit {word}\", \"a scan of the numeral {numeral}\") are never trained on. Two digits: "
        "20,000 training canvases composed from those digits, none of them one of the held-out ordered pairs "
        "(3 7, 5 2, 8 1, 0 6, 9 4); every pair wording is trained; seen_pairs are the trained mirrors of the held-out pairs (7 3, 2 5, ...) and five other trained pairs drawn with seed 0.\n\n"
        "Training budgets:\n" + "\n".join(budget) + "\n\nClassifier on real digits, same resampling (floor):\n"
        + "\n".join(floors) + "\n\nTargets:\n" + "\n".join(verdicts) + "\n\n"
        + markdown_table(["variant", "prompts", "guidance", "thresholding", "accuracy", "samples"], rows)
        + tradeoff
        + "\nPictures (one row per prompt, from the checkpoint alone):\n\n" + "\n".join(pictures) + "\n"
    )
    return summary, markdown


def _wordings(summary: dict[str, Any]) -> str:
    """The Imagen comparison (Saharia et al., 2022, section 4.4: frozen pretrained text encoders generalise): per
    single-digit variant and guidance scale, accuracy on the trained wordings, on the held-out ones, and the gap;
    ``summary["wording_gap/<variant>"]`` keeps the mean gap over every (guidance, thresholding) cell."""
    rows = []
    variants = sorted({key.split("/")[0] for key in summary if "/seen_wordings/" in key})
    for variant in variants:
        seen_cells = {k.split("/", 2)[2]: v for k, v in summary.items() if k.startswith(f"{variant}/seen_wordings/")}
        cells = [(cell, seen, summary[f"{variant}/heldout_wordings/{cell}"]) for cell, seen in seen_cells.items()
                 if f"{variant}/heldout_wordings/{cell}" in summary]  # fmt: skip
        if not cells:
            continue
        gap = sum(seen - held for _, seen, held in cells) / len(cells)
        summary[f"wording_gap/{variant}"] = {"mean_gap": gap, "cells": len(cells)}
        for cell, seen, held in cells:
            if cell.endswith("/static"):
                rows.append((variant, cell.split("/")[0][1:], f"{100 * seen:.1f}%", f"{100 * held:.1f}%", f"{100 * (seen - held):+.1f}"))
        rows.append((variant, "mean of all cells", "", "", f"{100 * gap:+.1f}"))
    if not rows:
        return ""
    return ("\n## Seen vs held-out wordings: does the text encoder generalise? (Imagen, section 4.4)\n\n"
            "Accuracy on the trained wordings minus accuracy on the two wordings no caption used (static clipping; the "
            "mean runs over both thresholdings). Each cell is 50 samples, so one cell's standard error is 2-7 points.\n\n"
            + markdown_table(["variant", "guidance", "seen wordings", "held-out wordings", "gap (points)"], rows))


def _tradeoff(units: dict[str, Any], summary: dict[str, Any]) -> str:
    """The guidance trade-off section: FID / KID next to prompt accuracy per guidance scale (``fid/`` units)."""
    rows = []
    for key, u in units.items():
        if key.startswith("fid/"):
            _, variant, w, threshold, n = key.split("/")
            summary[key] = {k: u[k] for k in ("fid", "kid_mean", "kid_std", "accuracy")}
            rows.append((variant, w[1:], threshold, f"{100 * u['accuracy']:.1f}%", u["fid"],
                         f"{u['kid_mean']:.2f} +- {u['kid_std']:.2f}", u["samples"]))  # fmt: skip
    if not rows:
        return ""
    floors = [f"{key.split('/')[1]}: FID {u['fid']:.1f}, KID {u['kid_mean']:.2f} +- {u['kid_std']:.2f} "
              f"({u['samples']} other real digits)" for key, u in units.items() if key.startswith("fid_floor/")]  # fmt: skip
    return ("\n## Guidance trade-off: fidelity to the prompt vs FID\n\nSeen wordings, every class equally often, seed 1; "
            "FID and KID (mean +- std over subsets, in the feature network's own units) with the project's MNIST feature network against the 2,000 "
            "real t10k digits it never saw (the generators trained on them: their root is t10k), samples and real "
            "digits resampled alike (28 -> image size -> 28). "
            "Real floor: " + "; ".join(floors) + ". FID from a few hundred samples is biased upward: compare rows, "
            "not papers; KID is unbiased.\n\n"
            + markdown_table(["variant", "guidance", "thresholding", "accuracy", "FID", "KID", "samples"], rows))
