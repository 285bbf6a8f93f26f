"""BigGAN vs DCGAN on real CIFAR-10 at the same wall-clock budget, and BigGAN's truncation curve.

``python -m benchmarks biggan [--quick] [--minutes M] [--eval-samples N]``

- Data: the 50,000 real CIFAR-10 training images of ``../shared/data/cifar10`` (JPEG re-encodings of the
  official images, see that folder's README), written once into official-format batches under
  ``benchmarks/work/`` with :func:`lightning_gen.data.cifar10.write_cifar10_batches`.
- Models: ``configs/biggan_cifar10.yaml`` (BigGAN, CPU width) and ``configs/dcgan_cifar10.yaml`` (DCGAN),
  both trained from seed 0 with batch 64 for the same wall-clock budget (``Trainer(max_time=...)``) on the
  same machine, one after the other; both sample from a G EMA of decay 0.99 (set for both: the configs'
  0.9999/0.999 average over more steps than a CPU budget takes).
- Metrics: Inception Score and FID with the project's CIFAR-10 feature network (:mod:`lightning_gen.metrics`)
  on ``--eval-samples`` generated images (BigGAN: classes cycled uniformly) against the 10,000 real test
  images. BigGAN is measured at truncation thresholds None (plain N(0, I)), 0.25, 0.5, 0.75 and 1.0.

Each training run and each evaluation is a unit of ``benchmarks/results/biggan.json``: a rerun skips
finished units (the checkpoints live in ``benchmarks/work/biggan/``). Pictures go to ``docs/biggan_*.png``.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import torch

from benchmarks.common import (
    DOCS,
    REPO,
    RESULTS_DIR,
    WORK_DIR,
    ResultFile,
    build_from_config,
    markdown_table,
    prepare_cifar10,
    train_for,
)
from lightning_gen.data import CIFAR10_CLASSES, read_cifar10
from lightning_gen.metrics.feature_nets import asset_info
from lightning_gen.models import GenerativeModule
from lightning_gen.sampling import load_model
from lightning_gen.utils.images import save_grid

__all__ = ["TRUNCATIONS", "main"]

TRUNCATIONS: tuple[float | None, ...] = (None, 0.25, 0.5, 0.75, 1.0)
MODELS = {"biggan": "configs/biggan_cifar10.yaml", "dcgan": "configs/dcgan_cifar10.yaml"}


def _samples(model: GenerativeModule, num: int, truncation: float | None, seed: int = 0) -> torch.Tensor:
    options = {"truncation": truncation} if truncation is not None else {}
    return model.sample(num, seed=seed, batch_size=500, **options)


def _metrics(real: torch.Tensor) -> Any:
    """FID and IS over the project's CIFAR-10 feature network, with the real test features computed once."""
    from lightning_gen.metrics import ImageMetrics

    metrics = ImageMetrics(["fid", "is"], feature_net="cifar10", keep_real=True)
    for batch in real.split(500):
        metrics.update_real(batch)
    return metrics


def _score(metrics: Any, images: torch.Tensor) -> dict[str, Any]:
    start = time.perf_counter()
    metrics.reset()
    for batch in images.split(500):
        metrics.update_fake(batch)
    scores = metrics.compute()
    net = asset_info().get("cifar10", {})  # which weights: the asset may be retrained later
    return {
        **scores,
        "feature_net": metrics.feature_net_name,
        "feature_net_sha256": net.get("sha256", "?")[:16],
        "feature_net_held_out_accuracy": net.get("held_out_accuracy"),
        "eval_seconds": round(time.perf_counter() - start, 1),
    }


def _pictures(models: dict[str, GenerativeModule]) -> None:
    biggan = models.get("biggan")
    if biggan is not None:
        save_grid(biggan.sample(100, seed=0), DOCS / "biggan_cifar10_samples.png", nrow=10)  # row = class
        rows = [
            biggan.sample(10, seed=1, labels=torch.arange(10), **({"truncation": t} if t else {}))
            for t in TRUNCATIONS
        ]
        save_grid(torch.cat(rows), DOCS / "biggan_cifar10_truncation.png", nrow=10)
    if "dcgan" in models:
        save_grid(models["dcgan"].sample(100, seed=0), DOCS / "biggan_dcgan_cifar10_samples.png", nrow=10)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks biggan", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="6-second runs, 500 samples, truncations none and 0.5 (a smoke test)")
    parser.add_argument("--minutes", type=float, default=12.0, help="wall-clock training budget per model")
    parser.add_argument("--eval-samples", type=int, default=10_000, help="generated images per IS/FID")
    parser.add_argument("--train-only", action="store_true", help="train (resumable) and stop before metrics")
    args = parser.parse_args(argv)
    minutes = 0.1 if args.quick else args.minutes
    num = 500 if args.quick else args.eval_samples
    torch.manual_seed(0)
    config = {
        "minutes_per_model": minutes,
        "batch_size": 64,
        "ema_decay": 0.99,
        "configs": MODELS,
        "data": "CIFAR-10 train (50,000 real images, JPEG q75 re-encodings, ../shared/data/cifar10)",
        "device": "cpu",
    }
    results = ResultFile("biggan", config, quick=args.quick)
    work = WORK_DIR / results.name
    root = prepare_cifar10()
    overrides = [
        "--data.root",
        str(root),
        "--data.batch_size",
        "64",
        "--data.val_fraction",
        "0.0",
        "--model.ema_decay",
        "0.99",
    ]
    for key, cfg in MODELS.items():
        if results.done(f"train/{key}"):
            continue
        model, dm = build_from_config(cfg, overrides)
        print(f"[biggan] training {key} for {minutes} min ({cfg})", flush=True)
        results.add(f"train/{key}", {"config": cfg, **train_for(model, dm, minutes, work / f"{key}.ckpt")})
    if args.train_only:
        return 0

    models = {key: load_model(REPO / results.unit(f"train/{key}")["checkpoint"]) for key in MODELS}
    real, _ = read_cifar10(root, "test")
    real = real.float() / 127.5 - 1.0
    metrics = _metrics(real)
    reference = f"eval/real_train/n={num}"  # the floor: real training images against the real test images
    if not results.done(reference):
        train_all = read_cifar10(root, "train")[0]
        train_images = train_all[torch.randperm(len(train_all), generator=torch.Generator().manual_seed(0))[:num]]
        results.add(
            reference,
            {
                "model": "real_train",
                "truncation": None,
                "samples": num,
                **_score(metrics, train_images.float() / 127.5 - 1.0),
            },
        )
    plan = [("dcgan", None)] + [("biggan", t) for t in ((None, 0.5) if args.quick else TRUNCATIONS)]
    for key, truncation in plan:
        unit = f"eval/{key}/truncation={truncation}/n={num}"
        if results.done(unit):
            continue
        print(f"[biggan] {unit}", flush=True)
        scores = _score(metrics, _samples(models[key], num, truncation))
        results.add(unit, {"model": key, "truncation": truncation, "samples": num, **scores})
    if not args.quick:
        _pictures(models)
    _summarise(results, num)
    return 0


def _summarise(results: ResultFile, num: int) -> None:
    rows, summary = [], {}
    for key, unit in results.units.items():
        if not key.startswith("eval/") or unit["samples"] != num:
            continue
        train = results.units.get(f"train/{unit['model']}", {})
        truncation = "none" if unit["truncation"] is None else unit["truncation"]
        rows.append([unit["model"], truncation, unit["is_mean"], unit["is_std"], unit["fid"],
                     train.get("seconds", "-"), train.get("cpu_seconds", "-"), train.get("g_steps", "-"), train.get("images_seen", "-")])  # fmt: skip
        summary[f"{unit['model']}/truncation={truncation}"] = {
            k: unit[k] for k in ("is_mean", "is_std", "fid")
        }
    evals = [u for k, u in results.units.items() if k.startswith("eval/") and u["samples"] == num]
    some = evals[0]
    nets = sorted({u.get("feature_net_sha256", "?") for u in evals})
    net_note = (
        f"sha256 {nets[0]}..., held-out accuracy {some.get('feature_net_held_out_accuracy')}"
        if len(nets) == 1
        else f"WARNING: rows were scored with different feature-network files {nets}; rerun them"
    )
    env = results.unit("train/biggan")["environment"]
    cpu_note = ", ".join(
        f"{k[len('train/'):]} {u['cpu_seconds'] / 60:.1f} min" for k, u in results.units.items() if k.startswith("train/")
    )
    header = [
        "model",
        "truncation",
        "IS",
        "IS std",
        "FID",
        "train s (wall)",
        "train s (CPU)",
        "G steps",
        "images seen",
    ]
    md = (
        "# BigGAN vs DCGAN on real CIFAR-10, same wall-clock budget\n\n"
        f"Budget: {results.config['minutes_per_model']} min of **wall-clock** training per model, one after the other, on "
        f"{env['hardware']} shared with other jobs (CPU time per run: {cpu_note}), {env['torch_threads']} torch thread; batch 64; G EMA 0.99. "
        f"IS and FID on {num} generated images (BigGAN: classes {', '.join(CIFAR10_CLASSES)} cycled) against the "
        f"10,000 real CIFAR-10 test images, feature network: {some['feature_net']} ({net_note}). `real_train` is {num} real "
        "training images scored the same way (the best a generator can do).\n\n"
        + markdown_table(header, rows)
    )
    baseline = _baseline_check(summary.get("dcgan/truncation=none"))
    if baseline is not None:
        summary["baseline_check"] = baseline
        md += (
            f"\nUniform noise on the same features (benchmarks/results/feature_nets.json): FID {baseline['noise_fid']:.1f}, "
            f"IS {baseline['noise_is']:.3f}. The DCGAN baseline beats noise: **{baseline['baseline_beats_noise']}**. "
            + (
                "So 'BigGAN beats DCGAN' is **not shown** at this budget: the baseline has not learnt anything the "
                "features can see; a budget at which the DCGAN beats noise is needed (a GPU run of the papers' budgets).\n"
                if not baseline["baseline_beats_noise"]
                else "\n"
            )
        )
    results.set_summary(summary, md)


def _baseline_check(dcgan: dict[str, float] | None) -> dict[str, Any] | None:
    """Whether the DCGAN baseline beats uniform noise (FID lower and IS higher than noise's) on the CIFAR-10
    features: a comparison with a baseline that does not is no evidence for the method."""
    path = RESULTS_DIR / "feature_nets.json"
    if dcgan is None or not path.is_file():
        return None
    noise = json.loads(path.read_text())["units"]["cifar10"]["noise"]
    return {
        "noise_fid": noise["fid"],
        "noise_is": noise["is_mean"],
        "baseline_beats_noise": bool(dcgan["fid"] < noise["fid"] and dcgan["is_mean"] > noise["is_mean"]),
    }


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
