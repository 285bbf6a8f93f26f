"""Train the project's evaluation feature networks on real data and write them to ``lightning_gen/assets``.

    python -m lightning_gen.metrics.train_feature_net mnist --mnist-root ../shared/data/mnist
    python -m lightning_gen.metrics.train_feature_net cifar10 --cifar-jpeg ../shared/data/cifar10

- ``mnist``: MNIST's official training images are not available here, so the classifier trains on 8,000
  of the 10,000 real t10k digits and is tested on the other 2,000 (a seeded split,
  :func:`~lightning_gen.metrics.feature_nets.mnist_feature_split`), with random +-2 pixel shifts.
- ``cifar10``: trains on the 50,000 real training images (the JPEG tarballs of ../shared/data/cifar10 are
  unpacked and written as official-format batches under ``--work``) and is tested on the 10,000 real
  test images; random crops (4-pixel reflection padding) and horizontal flips.

AdamW with a one-cycle learning rate (Smith & Topin, 2019). The weights go to
``<out>/<name>_classifier.safetensors``; ``<out>/feature_nets.json`` records the class, its arguments,
the sha256, the accuracy, the split, the command and the wall time.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tarfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from lightning_gen.metrics.feature_nets import ASSETS, INFO_FILE, mnist_feature_split, sha256_file
from lightning_gen.nn.classifiers import CIFAR10Classifier, MNISTClassifier
from lightning_gen.nn.spec import network_spec

__all__ = ["evaluate_accuracy", "main", "prepare_cifar10", "random_shift", "train_classifier"]


def random_shift(images: torch.Tensor, max_shift: int, padding_mode: str, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by a random whole number of pixels in [-max_shift, max_shift] per axis."""
    batch, _, height, width = images.shape
    shifts = torch.randint(-max_shift, max_shift + 1, (batch, 2), generator=generator).float()
    theta = torch.zeros(batch, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = 2 * shifts[:, 0] / width
    theta[:, 1, 2] = 2 * shifts[:, 1] / height
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    if padding_mode == "black":  # MNIST background is -1: shift (x + 1) with zero padding
        return F.grid_sample(images + 1, grid, mode="nearest", padding_mode="zeros", align_corners=False) - 1
    return F.grid_sample(images, grid, mode="nearest", padding_mode=padding_mode, align_corners=False)


@torch.no_grad()
def evaluate_accuracy(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500) -> float:
    net.eval()
    correct = 0
    for start in range(0, images.shape[0], batch_size):
        x = images[start : start + batch_size].float() / 127.5 - 1.0
        correct += int((net(x).argmax(1) == labels[start : start + batch_size]).sum())
    return correct / images.shape[0]


def train_classifier(
    net: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    max_shift: int,
    padding_mode: str,
    flip: bool,
    seed: int = 0,
) -> None:
    """AdamW + one-cycle on uint8 ``images`` (N, C, H, W) with shift (and flip) augmentation."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    steps_per_epoch = images.shape[0] // batch_size
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch)
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(images.shape[0], generator=generator)
        total = 0.0
        for step in range(steps_per_epoch):
            index = order[step * batch_size : (step + 1) * batch_size]
            x = images[index].float() / 127.5 - 1.0  # (B, C, H, W) in [-1, 1]
            x = random_shift(x, max_shift, padding_mode, generator)
            if flip:
                mask = torch.rand(x.shape[0], generator=generator) < 0.5
                x = torch.where(mask[:, None, None, None], x.flip(-1), x)
            loss = F.cross_entropy(net(x), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item()
        print(f"epoch {epoch + 1}/{epochs}: train loss {total / steps_per_epoch:.4f}", flush=True)


def _mnist_data(root: str) -> dict:
    from lightning_gen.data.mnist import read_mnist

    images, labels = read_mnist(root, "test")  # the real t10k digits (the only MNIST images here)
    train, held_out = mnist_feature_split(images.shape[0])
    return {
        "train": (images[train].unsqueeze(1), labels[train]),
        "test": (images[held_out].unsqueeze(1), labels[held_out]),
        "split": "MNIST t10k (real): 8,000 train / 2,000 held-out, lightning_gen.metrics.feature_nets.mnist_feature_split()",
    }


def prepare_cifar10(jpeg: str, work: str) -> dict:
    from lightning_gen.data.cifar10 import read_cifar10, write_cifar10_batches

    work_path = Path(work)
    batches = work_path / "cifar10"
    if not (batches / "cifar-10-batches-py" / "test_batch").is_file():
        extracted = work_path / "cifar10_jpg"
        for split in ("train", "test"):
            if not (extracted / split).is_dir():
                tarball = Path(jpeg) / f"cifar10_{split}_jpg.tar.gz"
                if not tarball.is_file():
                    raise FileNotFoundError(f"{tarball} not found; pass --cifar-jpeg with the folder of the CIFAR-10 JPEG tarballs.")
                print(f"unpacking {tarball} -> {extracted}", flush=True)
                with tarfile.open(tarball) as tar:
                    tar.extractall(extracted, filter="data")
        print(f"writing official-format batches to {batches}", flush=True)
        write_cifar10_batches(str(extracted), str(batches))
    train = read_cifar10(batches, "train")
    test = read_cifar10(batches, "test")
    return {"train": train, "test": test, "split": "CIFAR-10 (real JPEG copies, q75): 50,000 train / 10,000 test"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lightning_gen.metrics.train_feature_net", description=__doc__.split("\n")[0])
    parser.add_argument("name", choices=["mnist", "cifar10"])
    parser.add_argument("--mnist-root", default="../shared/data/mnist", help="folder holding MNIST/raw/")
    parser.add_argument("--cifar-jpeg", default="../shared/data/cifar10", help="folder of cifar10_{train,test}_jpg.tar.gz")
    parser.add_argument("--work", default="benchmarks/work", help="scratch folder for the unpacked CIFAR-10")
    parser.add_argument("--epochs", type=int, default=None, help="default: mnist 8, cifar10 4")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ASSETS), help="assets folder to write the weights and the JSON entry")
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    if args.name == "mnist":
        data, net = _mnist_data(args.mnist_root), MNISTClassifier()
        epochs, aug = args.epochs or 8, {"max_shift": 2, "padding_mode": "black", "flip": False}
    else:
        data, net = prepare_cifar10(args.cifar_jpeg, args.work), CIFAR10Classifier()
        epochs, aug = args.epochs or 4, {"max_shift": 4, "padding_mode": "reflection", "flip": True}
    start = time.perf_counter()
    train_classifier(net, *data["train"], epochs=epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed, **aug)
    wall = time.perf_counter() - start
    accuracy = evaluate_accuracy(net, *data["test"])
    print(f"{args.name}: held-out accuracy {accuracy:.4f} on {data['test'][0].shape[0]} real images ({wall:.0f} s)")

    from safetensors.torch import save_file

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    file = f"{args.name}_classifier.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(out / file))
    (out / file).chmod(0o644)  # safetensors writes 0600; the asset ships with the package
    spec = network_spec(net)
    info_path = out / INFO_FILE
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    info[args.name] = {
        "file": file,
        "sha256": sha256_file(out / file),
        "class_path": spec["class_path"],
        "init_args": spec["init_args"],
        "held_out_accuracy": accuracy,
        "held_out_images": int(data["test"][0].shape[0]),
        "train_images": int(data["train"][0].shape[0]),
        "data": data["split"],
        "epochs": epochs,
        "augmentation": aug,
        "wall_s": round(wall, 1),
        "hardware": f"CPU, {torch.get_num_threads()} thread(s)" if not torch.cuda.is_available() else torch.cuda.get_device_name(0),
        "command": "python -m lightning_gen.metrics.train_feature_net " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d"),
    }
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    print(f"wrote {out / file} and {info_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
