"""Fixtures of tests/data: small datasets written by the tests themselves (see ``writers.py``).

``shared_data`` (the real ../shared/data, skipped with a reason when absent) and ``mnist_root`` (a
temporary MNIST root whose train files are copies of the real t10k files) come from tests/conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.data.writers import write_idx, write_image


@pytest.fixture
def class_folder(tmp_path: Path) -> Path:
    """``cats/`` (6 jpg, one uppercase .JPG) and ``dogs/`` (4 png, one in a nested folder), varied sizes."""
    root = tmp_path / "pets"
    for i in range(6):
        write_image(root / "cats" / (f"{i}.JPG" if i == 0 else f"{i}.jpg"), (50 + 3 * i, 40), seed=i)
    for i in range(3):
        write_image(root / "dogs" / f"{i}.png", (30, 60), seed=10 + i)
    write_image(root / "dogs" / "nested" / "3.png", (32, 32), seed=20)
    (root / "dogs" / "notes.txt").write_text("not an image")
    return root


@pytest.fixture
def synthetic_cifar_jpegs(tmp_path: Path) -> Path:
    """A CIFAR-10 JPEG tree (``train/<class>/NNNN.jpg``: 3 per class, ``test/``: 2 per class)."""
    from lightning_gen.data.cifar10 import CIFAR10_CLASSES

    root = tmp_path / "cifar_jpg"
    for split, count in (("train", 3), ("test", 2)):
        for label, name in enumerate(CIFAR10_CLASSES):
            for i in range(count):
                write_image(root / split / name / f"{i:04d}.jpg", (32, 32), seed=100 * label + i)
    return root


@pytest.fixture
def synthetic_mnist(tmp_path: Path) -> Path:
    """A torchvision-style MNIST root: 120 train (gzip'd) and 30 test (uncompressed) random digits."""
    rng = np.random.default_rng(0)
    raw = tmp_path / "mnist" / "MNIST" / "raw"
    for prefix, count, suffix in (("train", 120, ".gz"), ("t10k", 30, "")):
        write_idx(raw / f"{prefix}-images-idx3-ubyte{suffix}", rng.integers(0, 256, (count, 28, 28)), 0x803)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte{suffix}", np.arange(count) % 10, 0x801)
    return tmp_path / "mnist"


@pytest.fixture
def synthetic_celeba(tmp_path: Path) -> Path:
    """A CelebA root in the official layout: 6 random 178x218 JPEGs, CRLF attribute file, 4/1/1 split."""
    from lightning_gen.data import CELEBA_ATTRIBUTES

    folder = tmp_path / "celeba" / "celeba"
    rows = []
    for i in range(1, 7):
        name = f"{i:06d}.jpg"
        write_image(folder / "img_align_celeba" / name, (178, 218), seed=i)
        values = ["1" if (i + j) % 3 == 0 else "-1" for j in range(40)]
        rows.append(name + " " + " ".join(v if v.startswith("-") else " " + v for v in values))
    header = ["6", " ".join(CELEBA_ATTRIBUTES) + " "]
    (folder / "list_attr_celeba.txt").write_bytes("\r\n".join(header + rows).encode() + b"\r\n")
    partition = [f"{i:06d}.jpg {0 if i <= 4 else i - 4}" for i in range(1, 7)]
    (folder / "list_eval_partition.txt").write_text("\n".join(partition) + "\n")
    return tmp_path / "celeba"
