"""The evaluation feature networks: held-out accuracy and the sanity numbers of their metrics.

For each shipped network (``lightning_gen/assets/feature_nets.json``): its accuracy on real images it
never saw (recomputed), the Inception Score of those real images, the floor (FID / KID / precision /
recall between two disjoint halves of the real set) and the ceiling (uniform noise images against real).

- mnist: MNIST t10k; the 2,000 held-out digits for accuracy and IS; halves of all 10,000 for the floor.
- cifar10: the 10,000 real CIFAR-10 test images (JPEG copies) for accuracy, IS, and the halves.

    python -m benchmarks feature_nets [--quick]
"""

from __future__ import annotations

import argparse

import torch

from benchmarks.common import SHARED_DATA, WORK_DIR, ResultFile, markdown_table
from lightning_gen.metrics import ImageMetrics, load_feature_network, mnist_feature_split
from lightning_gen.metrics.feature_nets import asset_info

NAME = "feature_nets"
ALL = ("fid", "kid", "pr", "is")


def score(
    metrics: ImageMetrics, real: torch.Tensor | None, fake: torch.Tensor, batch: int = 500
) -> dict[str, float]:
    """Feed [-1, 1] images in batches and compute (resets afterwards)."""
    if real is not None:
        for i in range(0, real.shape[0], batch):
            metrics.update_real(real[i : i + batch])
    for i in range(0, fake.shape[0], batch):
        metrics.update_fake(fake[i : i + batch])
    values = metrics.compute()
    metrics.reset()
    return values


def sanity(name: str, real: torch.Tensor, labels: torch.Tensor, held_out: torch.Tensor) -> dict[str, object]:
    """Accuracy and IS on ``real[held_out]``; floor (halves of ``real``) and noise ceiling."""
    features = load_feature_network(name)
    logits = torch.cat(
        [features.with_output("logits")(real[held_out][i : i + 500]) for i in range(0, len(held_out), 500)]
    )
    half = real.shape[0] // 2
    noise = torch.rand(half, *real.shape[1:], generator=torch.Generator().manual_seed(0)) * 2 - 1
    return {
        "accuracy": float((logits.argmax(1) == labels[held_out]).float().mean()),
        "held_out_images": len(held_out),
        "is_real_held_out": score(ImageMetrics(("is",), features), None, real[held_out]),
        "real_halves": score(ImageMetrics(ALL, features), real[:half], real[half : 2 * half]),
        "noise": score(ImageMetrics(ALL, features), real[:half], noise),
        "num_per_side": half,
    }


def mnist_real(limit: int | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    from lightning_gen.data import read_mnist

    images, labels = read_mnist(SHARED_DATA / "mnist", "test")
    _, held_out = mnist_feature_split(images.shape[0])
    real = images.unsqueeze(1).float() / 127.5 - 1
    if limit:
        held_out = held_out[held_out < limit]
        real, labels = real[:limit], labels[:limit]
    return real, labels, held_out


def cifar_real(limit: int | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    from lightning_gen.metrics.train_feature_net import prepare_cifar10

    images, labels = prepare_cifar10(str(SHARED_DATA / "cifar10"), str(WORK_DIR))["test"]
    real = images.float() / 127.5 - 1
    if limit:
        real, labels = real[:limit], labels[:limit]
    return real, labels, torch.arange(real.shape[0])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks feature_nets", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="600 MNIST images only")
    args = parser.parse_args(argv)
    info = asset_info()
    config = {name: entry["sha256"] for name, entry in info.items()}
    result = ResultFile(NAME, config, quick=args.quick)
    loaders = {"mnist": mnist_real, "cifar10": cifar_real}
    for name in ["mnist"] if args.quick else list(info):
        if not result.done(name):
            real, labels, held_out = loaders[name](600 if args.quick else None)
            result.add(name, sanity(name, real, labels, held_out))
    rows = []
    for name, unit in result.units.items():
        entry = info[name]
        floor, noise = unit["real_halves"], unit["noise"]
        rows.append(
            [
                name,
                entry["data"],
                f"{100 * unit['accuracy']:.2f}% ({unit['held_out_images']})",
                f"{unit['is_real_held_out']['is_mean']:.3f}",
                f"{floor['fid']:.3f}",
                f"{noise['fid']:.1f}",
                f"{floor['precision']:.3f} / {floor['recall']:.3f}",
                f"`{entry['command']}`",
                f"{entry['wall_s']:.0f}",
            ]
        )
    text = (
        "# feature_nets: the project's evaluation feature networks and their sanity numbers\n\n"
        "IS uses the classifier's softmax; FID / KID / precision-recall its penultimate features. Floor: two "
        f"disjoint halves of the real set; ceiling: uniform noise against real. Hardware: "
        f"{next(iter(result.units.values()))['environment']['hardware']}.\n\n"
        + markdown_table(
            [
                "net",
                "data",
                "held-out accuracy (images)",
                "IS of real held-out",
                "FID floor",
                "FID noise",
                "P / R floor",
                "training command",
                "train wall s",
            ],
            rows,
        )
    )
    result.set_summary({}, text)
    print(text)
    return 0
