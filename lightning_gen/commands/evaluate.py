"""``lightning-gen evaluate``: IS / FID / KID / precision-recall of a checkpoint against real data.

Real data (``--data``), always the split the generator did not train on where there is one:

- ``mnist:ROOT``: the MNIST t10k split under ``ROOT/MNIST/raw`` (28x28, or padded to 32x32 when the model
  samples 32x32);
- ``cifar10:ROOT``: the CIFAR-10 ``test_batch`` under ``ROOT/cifar-10-batches-py``;
- ``digits``: scikit-learn's digits (the bundled demo data), its test split;
- ``folder:PATH``: every image under PATH, resized to the samples' size.

The feature network defaults to ``mnist`` for mnist/digits and ``cifar10`` for cifar10; ``folder`` needs
``--feature-net``. Results name the feature network: numbers from different ones are not comparable, and
none of the project's own networks gives FIDs comparable to published (Inception) FIDs.

A CLIP checkpoint is evaluated by ``--metrics zeroshot,retrieval,linear_probe`` instead (the default for
it; :mod:`lightning_gen.metrics.clip_eval`) on ``mnist:ROOT`` or ``cifar10:ROOT``'s test split, captioned
with the captioned datamodule's templates; the held-out wordings recorded in the checkpoint's datamodule
hyper-parameters (``heldout_templates``) are reported apart from the seen ones. The linear probe is fitted
on the first half of the evaluated images and scored on the second. Whether the CLIP trained on these
images is not known to the command: with ../shared/data's MNIST (only t10k) train on a split and evaluate
on the rest (``benchmarks/clip_zero_shot.py`` does).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from lightning_gen.commands.common import add_device_argument, positive_int, resolve_device
from lightning_gen.metrics.clip_eval import CLIP_METRIC_NAMES
from lightning_gen.metrics.image_metrics import METRIC_NAMES, ImageMetrics, parse_metric_names
from lightning_gen.sampling import load_model

DESCRIPTION = "Evaluate a checkpoint: IS / FID / KID / precision-recall against real images (prints a table, writes JSON)."

__all__ = ["DESCRIPTION", "add_arguments", "default_feature_net", "load_real_images", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ckpt", required=True, help="lightning-gen checkpoint")
    parser.add_argument("--data", required=True, help="real images: mnist:ROOT, cifar10:ROOT, digits or folder:PATH")
    parser.add_argument(
        "--metrics",
        default=None,
        help=f"comma list of {', '.join(METRIC_NAMES)} (default fid,kid,is,pr); for a CLIP checkpoint of "
        f"{', '.join(CLIP_METRIC_NAMES)} (default all three)",
    )
    parser.add_argument("--num-samples", type=positive_int, default=10_000, help="generated images (and at most as many real)")
    parser.add_argument("--feature-net", default=None, help="mnist, cifar10 or inception:PATH (default: from --data)")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--seed", type=int, default=0, help="noise seed of the generated samples")
    parser.add_argument("--no-ema", action="store_true", help="use the raw generator weights instead of the EMA ones")
    parser.add_argument("--batch-size", type=positive_int, default=250)
    add_device_argument(parser)


def default_feature_net(data: str) -> str:
    kind = data.split(":", 1)[0]
    if kind in ("mnist", "digits"):
        return "mnist"
    if kind == "cifar10":
        return "cifar10"
    raise ValueError(f"--data {data}: no default feature network; pass --feature-net mnist, cifar10 or inception:PATH.")


def load_real_images(data: str, image_size: int, channels: int, limit: int) -> torch.Tensor:
    """At most ``limit`` real images in [-1, 1] for a ``--data`` spec (see the module docstring)."""
    kind, _, arg = data.partition(":")
    if kind == "mnist":
        from lightning_gen.data import MNISTDataModule

        dm = MNISTDataModule(root=arg, image_size=image_size, batch_size=1000)
    elif kind == "cifar10":
        from lightning_gen.data import CIFAR10DataModule

        dm = CIFAR10DataModule(root=arg, batch_size=1000)
    elif kind == "digits":
        from lightning_gen.data import DigitsDataModule

        dm = DigitsDataModule(image_size=image_size, batch_size=1000)
    elif kind == "folder":
        from lightning_gen.data import ImageFolderDataset

        if not Path(arg).is_dir():
            raise FileNotFoundError(f"--data folder:{arg}: no such folder.")
        dataset = ImageFolderDataset(arg, image_size=image_size, channels=channels)  # type: ignore[arg-type]
        count = min(limit, len(dataset))
        return torch.stack([dataset[i][0] for i in range(count)])
    else:
        raise ValueError(f"--data {data!r} is not supported; use mnist:ROOT, cifar10:ROOT, digits or folder:PATH.")
    if kind != "digits" and not arg:
        raise ValueError(f"--data {kind}: needs a root folder, e.g. {kind}:/path/to/root.")
    dm.setup("test")
    images, count = [], 0
    for batch in dm.test_dataloader():
        images.append(batch[0])
        count += batch[0].shape[0]
        if count >= limit:
            break
    return torch.cat(images)[:limit]


def format_table(results: dict[str, float]) -> str:
    width = max(len(k) for k in results)
    return "\n".join(f"{k:<{width}}  {v:.4f}" for k, v in results.items())


def run(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    model = load_model(args.ckpt, map_location=device)
    if hasattr(model, "zero_shot_classifier"):
        return run_clip(args, model)
    names = parse_metric_names(args.metrics or "fid,kid,is,pr")
    feature_net = args.feature_net or default_feature_net(args.data)
    metrics = ImageMetrics(names, feature_net, seed=args.seed).to(device)
    start = time.perf_counter()
    fake = model.sample(args.num_samples, seed=args.seed, use_ema=not args.no_ema, batch_size=args.batch_size).cpu()
    if fake.dim() != 4:
        raise ValueError(f"{args.ckpt} generates {tuple(fake.shape[1:])}-shaped samples; evaluate needs images (N, C, H, W).")
    num_real = 0
    if metrics.needs_real:
        real = load_real_images(args.data, fake.shape[-1], fake.shape[1], args.num_samples)
        if real.shape[1:] != fake.shape[1:]:
            raise ValueError(
                f"Real images are {tuple(real.shape[1:])} but the model samples {tuple(fake.shape[1:])}; "
                "use --data that matches the model."
            )
        num_real = real.shape[0]
        for start_idx in range(0, num_real, args.batch_size):
            metrics.update_real(real[start_idx : start_idx + args.batch_size].to(device))
    for start_idx in range(0, fake.shape[0], args.batch_size):
        metrics.update_fake(fake[start_idx : start_idx + args.batch_size].to(device))
    values = metrics.compute()
    report = {
        "checkpoint": str(args.ckpt),
        "model": type(model).__name__,
        "data": args.data,
        "feature_net": metrics.feature_net_name,
        "num_samples": int(fake.shape[0]),
        "num_real": int(num_real),
        "seed": args.seed,
        "use_ema": not args.no_ema,
        "metrics": values,
        "wall_s": round(time.perf_counter() - start, 2),
    }
    print(f"{args.ckpt} vs {args.data} ({fake.shape[0]} samples, {num_real} real, features: {metrics.feature_net_name})")
    print(format_table(values))
    write_report(report, args.out)
    return 0


def write_report(report: dict, out: str | None) -> None:
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n")
        print(f"Wrote {path}")


def captioned_test_set(data: str, model, heldout: list[int], limit: int):
    """(images, labels, datamodule) of the test split of ``mnist:ROOT`` / ``cifar10:ROOT`` for a CLIP."""
    from lightning_gen.data import CaptionedCIFAR10DataModule, CaptionedMNISTDataModule

    kind, _, root = data.partition(":")
    if kind not in ("mnist", "cifar10") or not root:
        raise ValueError(f"--data {data!r}: a CLIP is evaluated on mnist:ROOT or cifar10:ROOT (labelled test images).")
    if kind == "mnist":
        dm = CaptionedMNISTDataModule(root=root, image_size=model.image_tower.image_size, heldout_templates=heldout, batch_size=1000)
    else:
        dm = CaptionedCIFAR10DataModule(root=root, heldout_templates=heldout, batch_size=1000)
    dm.setup("test")
    images, labels, count = [], [], 0
    for batch in dm.test_dataloader():
        images.append(batch["image"])
        labels.append(batch["label"])
        count += len(batch["label"])
        if count >= limit:
            break
    return torch.cat(images)[:limit], torch.cat(labels)[:limit], dm


def run_clip(args: argparse.Namespace, model) -> int:
    """Zero-shot accuracy, retrieval recall@1/5 and a linear probe of a CLIP checkpoint (see the module doc)."""
    from lightning_gen.metrics.clip_eval import (
        embed_images,
        embed_texts,
        image_features,
        linear_probe_accuracy,
        parse_clip_metric_names,
        retrieval_recall,
        zero_shot_accuracy,
    )

    names = parse_clip_metric_names(args.metrics or ",".join(CLIP_METRIC_NAMES))
    checkpoint = torch.load(args.ckpt, map_location="cpu", weights_only=True)
    heldout = list(checkpoint.get("datamodule_hyper_parameters", {}).get("heldout_templates") or [])
    start = time.perf_counter()
    model.eval()
    images, labels, dm = captioned_test_set(args.data, model, heldout, args.num_samples)
    splits = ("seen", "heldout") if heldout else ("all",)
    values: dict[str, float] = {}
    if "zeroshot" in names:
        for split in splits:
            for key, value in zero_shot_accuracy(model, images, labels, dm.class_prompts(split), args.batch_size).items():
                values[f"zeroshot_{split}_{key}"] = value
    if "retrieval" in names:
        image_embeddings = embed_images(model, images, args.batch_size)
        for split in splits:
            texts = [dm.captions.choose(int(y), split, args.seed, 0, i) for i, y in enumerate(labels.tolist())]
            text_embeddings = embed_texts(model, texts, args.batch_size)
            for key, value in retrieval_recall(image_embeddings, text_embeddings, texts, labels=labels).items():
                values[f"retrieval_{split}_{key}"] = value
    if "linear_probe" in names:
        features, half = image_features(model, images, args.batch_size), len(labels) // 2
        values["linear_probe"] = linear_probe_accuracy(features[:half], labels[:half], features[half:], labels[half:])
    report = {
        "checkpoint": str(args.ckpt),
        "model": type(model).__name__,
        "data": args.data,
        "num_images": len(labels),
        "heldout_templates": heldout,
        "linear_probe_protocol": "fitted on the first half of the images, scored on the second",
        "metrics": values,
        "wall_s": round(time.perf_counter() - start, 2),
    }
    print(f"{args.ckpt} on {args.data} ({len(labels)} test images; held-out templates: {heldout or 'none'})")
    print(format_table(values))
    write_report(report, args.out)
    return 0
