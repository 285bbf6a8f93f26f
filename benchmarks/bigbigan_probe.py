"""BigBiGAN linear probe: logistic regression on frozen encoder features, trained E vs untrained E vs pixels.

``python -m benchmarks bigbigan_probe [--quick] [--minutes-mnist M] [--minutes-cifar10 M]``

The course's BigBiGAN table (Donahue & Simonyan, 2019, section 3: a linear classifier on frozen E(x)),
on real data at a CPU budget:

- **MNIST**: the real 10,000 t10k digits (the official training images are not available here), padded to
  32x32 and split by :func:`lightning_gen.metrics.mnist_feature_split` (seeded): 8,000 for BigBiGAN training
  (labels unused) and for fitting the probe, 2,000 held out to measure it (never seen by either).
- **CIFAR-10**: BigBiGAN trained on the 50,000 real training images (labels unused); the probe is fitted on
  10,000 of them (seeded choice) and measured on the 10,000 real test images.

BigBiGAN (``configs/bigbigan_mnist.yaml`` / ``configs/bigbigan_cifar10.yaml``) is trained for a wall-clock
budget per dataset on the CPU. Features, each standardised, then scikit-learn ``LogisticRegression``
(multinomial, L2, C=1, lbfgs):

- ``trained E(x)``: the posterior mean mu(x) of the trained encoder (the latent code);
- ``trained E features``: its average-pooled residual trunk, the layer the paper probes (BN+CReLU there);
- ``untrained E(x)`` / ``untrained E features``: the same encoder at its initial weights (same seed);
- ``pixels``: the raw [-1, 1] pixels.

Target (issue 5): the trained encoder beats both baselines on both datasets. Units (training runs, probes)
are resumable; pictures go to ``docs/bigbigan_*.png``.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from benchmarks.common import (
    DOCS,
    REPO,
    SHARED_DATA,
    WORK_DIR,
    ResultFile,
    build_from_config,
    markdown_table,
    prepare_cifar10,
    train_for,
)
from lightning_gen.data import TensorImageDataset, read_cifar10, read_mnist
from lightning_gen.data.transforms import pad_to
from lightning_gen.metrics import mnist_feature_split
from lightning_gen.models import BigBiGAN
from lightning_gen.sampling import load_model
from lightning_gen.utils.images import save_grid

__all__ = ["FEATURES", "main", "probe_accuracy"]

CONFIGS = {"mnist": "configs/bigbigan_mnist.yaml", "cifar10": "configs/bigbigan_cifar10.yaml"}
FEATURES = ("trained E(x)", "trained E features", "untrained E(x)", "untrained E features", "pixels")


def probe_accuracy(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray) -> float:
    """Test accuracy of a standardised multinomial logistic regression fitted on the train features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    probe.fit(train_x, train_y)
    return float(probe.score(test_x, test_y))


def _mnist() -> dict[str, torch.Tensor]:
    images, labels = read_mnist(SHARED_DATA / "mnist", "test")
    images = pad_to(images.unsqueeze(1).float() / 127.5 - 1.0, 32)  # (N, 1, 32, 32) in [-1, 1]
    train, test = mnist_feature_split()
    return {
        "train_x": images[train],
        "train_y": labels[train],
        "test_x": images[test],
        "test_y": labels[test],
    }


def _cifar10(root: Any) -> dict[str, torch.Tensor]:
    train_x, train_y = read_cifar10(root, "train")
    test_x, test_y = read_cifar10(root, "test")
    return {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y}


def _float(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 127.5 - 1.0 if images.dtype == torch.uint8 else images


@torch.no_grad()
def _features(model: BigBiGAN, images: torch.Tensor, kind: str) -> np.ndarray:
    if kind == "pixels":
        return _float(images).flatten(1).numpy()
    out = []
    with model.eval_mode(model.encoder):
        for batch in images.split(500):
            batch = _float(batch)
            out.append(model.encoder.posterior(batch)[0] if kind == "E(x)" else model.encoder.features(batch))
    return torch.cat(out).numpy()


@torch.no_grad()
def _diagnostics(model: BigBiGAN, images: torch.Tensor) -> dict[str, Any]:
    """Does E(x) depend on x? The spread of the posterior means across images against the posterior's own
    sigma, and the reconstruction error of G(E(x)) against that of predicting the mean test image."""
    x = _float(images)
    with model.eval_mode(model.encoder):
        mu, sigma = model.encoder.posterior(x)
    recon = model.reconstruct(x)
    return {
        "images": int(x.shape[0]),
        "code_std_across_images": float(mu.std(dim=0).mean()),
        "posterior_sigma_mean": None if sigma is None else float(sigma.mean()),
        "recon_mse": float((recon - x).pow(2).mean()),
        "mean_image_mse": float((x.mean(dim=0, keepdim=True) - x).pow(2).mean()),
    }


def _pictures(name: str, model: BigBiGAN, test_x: torch.Tensor) -> None:
    save_grid(model.sample(64, seed=0), DOCS / f"bigbigan_{name}_samples.png", nrow=8)
    x = _float(test_x[:32])
    recon = model.reconstruct(x)
    rows = [t for start in range(0, 32, 8) for t in (x[start : start + 8], recon[start : start + 8])]
    save_grid(torch.cat(rows), DOCS / f"bigbigan_{name}_reconstructions.png", nrow=8)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks bigbigan_probe", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="6-second runs, probes fit on 500 and scored on 1,000 images (smoke test)",
    )
    parser.add_argument("--minutes-mnist", type=float, default=10.0, help="BigBiGAN training budget on MNIST")
    parser.add_argument(
        "--minutes-cifar10", type=float, default=10.0, help="BigBiGAN training budget on CIFAR-10"
    )
    args = parser.parse_args(argv)
    minutes = (
        {"mnist": 0.1, "cifar10": 0.1}
        if args.quick
        else {"mnist": args.minutes_mnist, "cifar10": args.minutes_cifar10}
    )
    probe_train = 500 if args.quick else 10_000
    test_limit = 1000 if args.quick else None  # --quick scores the probes on the first 1,000 test images only
    config = {
        "minutes": minutes,
        "configs": CONFIGS,
        "batch_size": 64,
        "probe": "StandardScaler + LogisticRegression(C=1, lbfgs, max_iter=1000)",
        "mnist": "real t10k: 8,000 train (BigBiGAN + probe fit) / 2,000 held out (mnist_feature_split)",
        "cifar10": f"BigBiGAN on the 50,000 real train images; probe fit on {probe_train} train, measured on {test_limit or 10_000:,} test",
        "device": "cpu",
    }
    results = ResultFile("bigbigan_probe", config, quick=args.quick)
    work = WORK_DIR / results.name
    cifar_root = prepare_cifar10()
    for name in ("mnist", "cifar10"):
        data = _mnist() if name == "mnist" else _cifar10(cifar_root)
        data["test_x"], data["test_y"] = data["test_x"][:test_limit], data["test_y"][:test_limit]
        overrides = [
            "--data.root",
            str(SHARED_DATA / "mnist" if name == "mnist" else cifar_root),
            "--data.batch_size",
            "64",
        ]
        if name == "cifar10":
            overrides += ["--data.val_fraction", "0.0"]
        if not results.done(f"train/{name}"):
            model, dm = build_from_config(CONFIGS[name], overrides)
            if name == "mnist":  # train on the 8,000-image split only (the datamodule would use all 10,000)
                dataset = TensorImageDataset(data["train_x"], data["train_y"])
                loader = DataLoader(
                    dataset,
                    batch_size=64,
                    shuffle=True,
                    drop_last=True,
                    generator=torch.Generator().manual_seed(0),
                )
            else:
                loader = dm  # the config's CIFAR10DataModule, all 50,000 training images
            print(f"[bigbigan_probe] training on {name} for {minutes[name]} min", flush=True)
            results.add(
                f"train/{name}",
                {"config": CONFIGS[name], **train_for(model, loader, minutes[name], work / f"{name}.ckpt")},
            )
        trained = load_model(REPO / results.unit(f"train/{name}")["checkpoint"])
        untrained, _ = build_from_config(
            CONFIGS[name], overrides
        )  # same seed: the trained model's initial weights
        rng = torch.Generator().manual_seed(0)
        fit_idx = (
            torch.randperm(data["train_x"].shape[0], generator=rng)[:probe_train]
            if name == "cifar10" or args.quick
            else slice(None)
        )
        for feature in FEATURES:
            unit = f"probe/{name}/{feature}"
            if results.done(unit):
                continue
            start = time.perf_counter()
            model = trained if feature.startswith("trained") else untrained
            kind = "pixels" if feature == "pixels" else ("E(x)" if feature.endswith("E(x)") else "features")
            train_f = _features(model, data["train_x"][fit_idx], kind)
            test_f = _features(model, data["test_x"], kind)
            acc = probe_accuracy(train_f, data["train_y"][fit_idx].numpy(), test_f, data["test_y"].numpy())
            print(f"[bigbigan_probe] {unit}: {acc:.4f}", flush=True)
            results.add(unit, {"accuracy": acc, "dim": int(train_f.shape[1]), "fit_images": int(train_f.shape[0]),
                               "test_images": int(test_f.shape[0]), "seconds": round(time.perf_counter() - start, 1)})  # fmt: skip
        if not results.done(f"diagnostics/{name}"):
            results.add(f"diagnostics/{name}", _diagnostics(trained, data["test_x"][:2000]))
        if not args.quick:
            _pictures(name, trained, data["test_x"])
    _summarise(results)
    return 0


def _standard_error(accuracy: float, n: int) -> float:
    """Binomial standard error of an accuracy measured on ``n`` test images."""
    return math.sqrt(accuracy * (1 - accuracy) / n)


def _summarise(results: ResultFile) -> None:
    """Table + verdict. The target counts as met only when the best trained-encoder accuracy beats the best
    baseline by more than two standard errors of the test-set accuracy (a smaller margin is noise)."""
    rows, summary = [], {}
    for name in ("mnist", "cifar10"):
        units = {f: results.units.get(f"probe/{name}/{f}") for f in FEATURES}
        if any(u is None for u in units.values()):
            continue
        for feature, unit in units.items():
            se = _standard_error(unit["accuracy"], unit["test_images"])
            rows.append(
                [
                    name,
                    feature,
                    unit["accuracy"],
                    round(se, 4),
                    unit["dim"],
                    unit["fit_images"],
                    unit["test_images"],
                ]
            )
        acc = {f: u["accuracy"] for f, u in units.items()}
        trained = max(acc["trained E(x)"], acc["trained E features"])
        baseline = max(acc["untrained E(x)"], acc["untrained E features"], acc["pixels"])
        two_se = 2 * _standard_error(trained, units["pixels"]["test_images"])
        train = results.unit(f"train/{name}")
        diagnostics = results.units.get(f"diagnostics/{name}", {})
        summary[name] = {
            "accuracy": acc,
            "margin_over_best_baseline": trained - baseline,
            "two_standard_errors": two_se,
            "target_met": trained - baseline > two_se,
            "code_margin_over_best_baseline": acc["trained E(x)"] - baseline,
            **{k: train.get(k) for k in ("seconds", "cpu_seconds", "g_steps", "images_seen")},
            "diagnostics": {k: v for k, v in diagnostics.items() if k != "environment"},
        }
    if not summary:
        return
    env = next(iter(results.units.values()))["environment"]
    lines = [
        "# BigBiGAN linear probe (logistic regression on frozen features)\n",
        f"Hardware: {env['hardware']}, shared with other jobs; {env['torch_threads']} torch thread. BigBiGAN "
        f"training budget (wall clock, minutes): {results.config['minutes']}. Probe: {results.config['probe']}.\n",
    ]
    for name, s in summary.items():
        verdict = "met" if s["target_met"] else "MISSED"
        lines.append(
            f"- **{name}**: {results.config[name]}. BigBiGAN trained {s['seconds']} s wall / {s['cpu_seconds']} s CPU, "
            f"{s['g_steps']} E/G steps, {s['images_seen']} images seen. Target (trained E beats untrained E and "
            f"pixels by more than 2 standard errors, {s['two_standard_errors']:.4f}): **{verdict}** (margin "
            f"{s['margin_over_best_baseline']:+.4f}; latent code E(x) alone: {s['code_margin_over_best_baseline']:+.4f})."
        )
        diag = s["diagnostics"]
        if diag and diag["posterior_sigma_mean"] is not None:
            lines.append(
                f"  Encoder check on {diag['images']} test images: the posterior means vary across images by "
                f"{diag['code_std_across_images']:.3f} (std per dimension) against a posterior sigma of "
                f"{diag['posterior_sigma_mean']:.3f}; reconstruction MSE of G(E(x)) {diag['recon_mse']:.3f} vs "
                f"{diag['mean_image_mse']:.3f} for the mean test image."
            )
    header = ["dataset", "features", "test accuracy", "std error", "dim", "fit images", "test images"]
    results.set_summary(summary, "\n".join(lines) + "\n\n" + markdown_table(header, rows))


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
