"""unCLIP / DALL-E 2 (Ramesh et al., 2022) on captioned MNIST at 16x16: CLIP, prior, decoder, each its own run.

``python -m benchmarks unclip [--quick] [--clip-minutes M] [--prior-minutes M] [--decoder-minutes M] [--num N]``

Training (CPU, wall-clock budgets; seed 0): ``configs/unclip_clip_mnist.yaml`` (CLIP, Radford et al. 2021), then
``configs/unclip_prior_mnist.yaml`` and ``configs/unclip_decoder_mnist.yaml`` with that CLIP frozen. Data: the
10,000 real MNIST t10k digits as the training split (``../shared/data`` has no training images), 1/12 of them
held out by the datamodule's validation split; every number below is measured on those held-out digits and
their captions (seen wordings). Models are reloaded from their checkpoints alone before evaluation.

Metrics:
- prior: cosine similarity between the prior's sampled image embedding for a caption and the true CLIP image
  embedding of the image the caption describes, next to two references: the same with the captions shuffled
  among the images (a prior that ignores its text scores this) and the CLIP text embedding itself (what
  unCLIP's prior improves on: text and image embeddings are not interchangeable).
- prompt accuracy: text -> prior -> decoder (``sample_chain``), the share of images that the project's MNIST
  classifier (``load_feature_network("mnist", output="logits")``, 28x28, the 16x16 samples upsampled
  bilinearly) assigns the prompt's digit; the classifier on the held-out real digits at 16x16 -> 28 is the floor.
- variations: ``UnCLIPDecoder.vary`` of held-out real digits; the share of variations classified as the input's
  label (target >= 90%). ``docs/unclip_variations.png`` is written by ``lightning-gen vary`` (the command is in
  the results markdown).

Units of ``benchmarks/results/unclip.json`` (three trainings, three evaluations) are skipped on a rerun.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from benchmarks.common import (
    DOCS,
    REPO,
    WORK_DIR,
    ResultFile,
    build_from_config,
    markdown_table,
    t10k_as_train_root,
    train_for,
)
from lightning_gen.data.captioned_labels import CaptionedMNISTDataModule
from lightning_gen.metrics.feature_nets import load_feature_network
from lightning_gen.sampling import load_model, sample_chain
from lightning_gen.utils.images import save_grid

NAME = "unclip"
CONFIGS = {
    "clip": "configs/unclip_clip_mnist.yaml",
    "prior": "configs/unclip_prior_mnist.yaml",
    "decoder": "configs/unclip_decoder_mnist.yaml",
}
TARGET_VARIATIONS = 0.90

__all__ = ["main"]


def _overrides(root: Path, quick: bool, clip: Path | None) -> list[str]:
    extra = ["--data.init_args.root", str(root)]
    if clip is not None:
        extra += ["--model.init_args.clip", str(clip)]
    if quick:
        extra += ["--data.init_args.limit", "256"]
    return extra


def _train(stage: str, root: Path, minutes: float, work: Path, quick: bool, clip: Path | None) -> dict:
    torch.manual_seed(0)
    model, dm = build_from_config(CONFIGS[stage], _overrides(root, quick, clip))
    if stage == "clip" and not model.text_tower.tokenizer_fitted:  # the BPE merges of the training captions
        model.text_tower.fit_tokenizer([p for prompts in dm.class_prompts("seen") for p in prompts])
    return {**train_for(model, dm, minutes, work / f"{stage}.ckpt"), "config": CONFIGS[stage], "minutes": minutes}


def _held_out(root: Path, quick: bool, num: int) -> dict[str, object]:
    """The first ``num`` held-out digits (the datamodule's validation split) with their captions and labels."""
    dm = CaptionedMNISTDataModule(str(root), image_size=16, resize_mode="resize", batch_size=64, limit=256 if quick else None)
    dm.setup("fit")  # the same split as the configs' datamodule (same root, seed and validation fraction)
    images, texts, labels = [], [], []
    for batch in dm.val_dataloader():
        images.append(batch["image"])
        texts += list(batch["text"])
        labels.append(batch["label"])
        if len(texts) >= num:
            break
    return {"image": torch.cat(images)[:num], "text": texts[:num], "label": torch.cat(labels)[:num].long(), "dm": dm}


def _accuracy(classifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    up = F.interpolate(images.float(), size=28, mode="bilinear", align_corners=False).clamp(-1, 1)
    return float((classifier(up).argmax(1) == labels).float().mean())


def _cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(F.cosine_similarity(a, b, dim=-1).mean())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks {NAME}")
    parser.add_argument("--quick", action="store_true", help="256 digits, a few seconds of training per stage, 20 samples")
    parser.add_argument("--clip-minutes", type=float, default=4.0)
    parser.add_argument("--prior-minutes", type=float, default=3.0)
    parser.add_argument("--decoder-minutes", type=float, default=12.0)
    parser.add_argument("--num", type=int, default=200, help="held-out digits / prompts / variation inputs")
    parser.add_argument("--variations", type=int, default=4, help="variations per input digit")
    parser.add_argument("--steps", type=int, default=50, help="sampling steps (prior: DDIM; decoder: ancestral DDPM)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.quick:
        minutes = {"clip": 0.05, "prior": 0.05, "decoder": 0.05}
        num, steps, variations = 20, 3, 2
    else:
        minutes = {"clip": args.clip_minutes, "prior": args.prior_minutes, "decoder": args.decoder_minutes}
        num, steps, variations = args.num, args.steps, args.variations
    # the training budget is the result file's config; each evaluation unit is keyed by its own settings, so a
    # rerun with other evaluation settings reuses the trained stages
    config = {"minutes": minutes, "seed": 0, "image_size": 16}
    result = ResultFile(NAME, config, quick=args.quick)
    setting = f"n{num}_s{steps}_v{variations}"
    keys = {unit: f"{unit}_{setting}" for unit in ("prior", "prompt_accuracy", "variations")}
    work = WORK_DIR / result.name
    root = t10k_as_train_root()

    for stage in ("clip", "prior", "decoder"):
        ckpt = work / f"{stage}.ckpt"
        if not (result.done(f"train_{stage}") and ckpt.is_file()):
            clip = None if stage == "clip" else work / "clip.ckpt"
            result.add(f"train_{stage}", _train(stage, root, minutes[stage], work, args.quick, clip))
            print(stage, result.unit(f"train_{stage}"), flush=True)
    prior, decoder = load_model(work / "prior.ckpt"), load_model(work / "decoder.ckpt")
    held = _held_out(root, args.quick, num)
    images, texts, labels = held["image"], held["text"], held["label"]
    classifier = load_feature_network("mnist", output="logits")

    if not result.done(keys["prior"]):
        start = time.perf_counter()
        true = prior.embed_images(images)
        predicted = prior.sample(1, prompts=texts, seed=0, steps=steps, progress=False)
        shuffled = prior.sample(1, prompts=list(texts[1:]) + texts[:1], seed=0, steps=steps, progress=False)
        text_embedding = prior.clip.encode_text(texts)
        result.add(keys["prior"], {
            "cosine_prior": _cosine(predicted, true),
            "cosine_shuffled_text": _cosine(shuffled, true),
            "cosine_text_embedding": _cosine(text_embedding, true),
            "num": len(texts), "sampler": "ddim", "steps": steps, "wall_s": round(time.perf_counter() - start, 1),
        })  # fmt: skip
    if not result.done(keys["prompt_accuracy"]):
        start = time.perf_counter()
        class_prompts = held["dm"].class_prompts("seen")
        per_class = max(1, num // 10)
        prompts = [class_prompts[k][i % len(class_prompts[k])] for k in range(10) for i in range(per_class)]
        prompt_labels = torch.arange(10).repeat_interleave(per_class)
        generated = sample_chain([prior, decoder], 1, prompts=prompts, seed=0, sampler="ddpm", steps=steps)
        save_grid(generated[:: max(1, per_class // 8)][:80], work / "prompt_grid.png", nrow=8)
        result.add(keys["prompt_accuracy"], {
            "accuracy": _accuracy(classifier, generated, prompt_labels),
            "classifier_on_real_heldout_16px": _accuracy(classifier, images, labels),
            "num": len(prompts), "sampler": "ddpm", "steps": steps, "wall_s": round(time.perf_counter() - start, 1),
        })  # fmt: skip
    if not result.done(keys["variations"]):
        start = time.perf_counter()
        varied = decoder.vary(images, variations, seed=0, sampler="ddpm", steps=steps, progress=False)
        accuracy = _accuracy(classifier, varied, labels.repeat_interleave(variations))
        command = _picture(images[:8], work, steps, args.quick)
        result.add(keys["variations"], {
            "class_kept": accuracy, "target": TARGET_VARIATIONS, "target_met": accuracy >= TARGET_VARIATIONS,
            "inputs": len(images), "variations_per_input": variations, "sampler": "ddpm", "steps": steps,
            "picture_command": command, "wall_s": round(time.perf_counter() - start, 1),
        })  # fmt: skip

    units = {**result.units, **{unit: result.unit(key) for unit, key in keys.items()}}
    env = units["train_decoder"]["environment"]
    budget = ", ".join(f"{s} {units[f'train_{s}']['minutes']} min ({units[f'train_{s}']['batches']} batches)" for s in CONFIGS)
    rows = [
        ["prior: cosine(sampled, true image embedding)", units["prior"]["cosine_prior"]],
        ["  reference: prior with shuffled captions", units["prior"]["cosine_shuffled_text"]],
        ["  reference: CLIP text embedding itself", units["prior"]["cosine_text_embedding"]],
        ["prompt accuracy (text -> prior -> decoder)", units["prompt_accuracy"]["accuracy"]],
        ["  reference: classifier on real held-out digits (16 -> 28 px)", units["prompt_accuracy"]["classifier_on_real_heldout_16px"]],
        [f"variations keep the input's class (target >= {TARGET_VARIATIONS:.0%})", units["variations"]["class_kept"]],
    ]
    summary = {
        "cosine_prior": units["prior"]["cosine_prior"],
        "cosine_shuffled_text": units["prior"]["cosine_shuffled_text"],
        "prompt_accuracy": units["prompt_accuracy"]["accuracy"],
        "variations_class_kept": units["variations"]["class_kept"],
        "variations_target_met": units["variations"]["target_met"],
    }
    markdown = (
        f"# {NAME}\n\nunCLIP on captioned MNIST at 16x16 (configs/unclip_*_mnist.yaml). Training budget (wall clock, "
        f"CPU, one thread, shared machine): {budget}. Hardware: {env['hardware']}. {num} held-out digits "
        f"(validation split of the t10k-as-train root) and their seen-wording captions; {units['prompt_accuracy']['num']} "
        f"prompts (10 digits); {variations} variations per digit; prior sampled with DDIM, decoder with ancestral "
        f"DDPM, {steps} steps each, seed 0.\n\n"
        + markdown_table(["measure", "value"], rows)
        + f"\nVariations target ({TARGET_VARIATIONS:.0%}) met: {units['variations']['target_met']}.\n\n"
        f"Picture: `{units['variations']['picture_command']}`\n"
    )
    result.set_summary(summary, markdown)
    print(markdown)
    return 0


def _picture(images: torch.Tensor, work: Path, steps: int, quick: bool) -> str:
    """docs/unclip_variations.png through the ``lightning-gen vary`` command (8 held-out digits, 8 each)."""
    from lightning_gen.cli import main as cli

    inputs = work / "variation_inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        save_grid(image[None], inputs / f"digit{i}.png", nrow=1, padding=0)
    out = work / "variations"
    ckpt = work / "decoder.ckpt"
    argv = ["vary", "--ckpt", str(ckpt), "--input", str(inputs), "--num", "8", "--out", str(out),
            "--sampler", "ddpm", "--steps", str(steps)]  # fmt: skip
    if cli(argv) != 0:
        raise RuntimeError("lightning-gen vary failed")
    if not quick:
        shutil.copy(out / "grid.png", DOCS / "unclip_variations.png")
    return "lightning-gen " + " ".join(a if not a.startswith(str(REPO)) else str(Path(a).relative_to(REPO)) for a in argv)
