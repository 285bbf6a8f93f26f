"""Shared fixtures.

Real data lives in ``../shared/data`` beside the repository (CI always has it; a user's clone does not):
tests that need it take the ``shared_data`` fixture and are skipped with a reason when it is absent.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("LIGHTNING_GEN_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))

# One intra-op thread per pytest-xdist worker (`make test` runs one worker per core), two otherwise.
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real MNIST/CIFAR-10/CelebA samples); skips the test when it is absent."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"real test data not found at {SHARED_DATA} (only CI and developer machines have ../shared/data)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def mnist_root(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A torchvision-style MNIST root built from the real files in ../shared/data/mnist.

    ../shared/data has no official training images, so this root's *train* files are copies of the real
    official *test* (t10k) files: anything trained here is trained on the 10,000 real test digits.
    """
    raw_src = shared_data / "mnist" / "MNIST" / "raw"
    root = tmp_path_factory.mktemp("mnist_root")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(raw_src / name, raw / name)
    shutil.copy(raw_src / "t10k-images-idx3-ubyte.gz", raw / "train-images-idx3-ubyte.gz")
    shutil.copy(raw_src / "t10k-labels-idx1-ubyte.gz", raw / "train-labels-idx1-ubyte.gz")
    return root


def _extract_cifar_jpegs(tarball: Path, out: Path, per_class: int) -> None:
    """Extract ``<split>/<class>/NNNN.jpg`` with NNNN < per_class, streaming (no full unpack)."""
    import tarfile

    with tarfile.open(tarball, "r|gz") as archive:
        for member in archive:
            parts = member.name.split("/")
            if (
                member.isfile()
                and len(parts) == 3
                and parts[2][:4].isdigit()
                and int(parts[2][:4]) < per_class
            ):
                target = out.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                assert source is not None
                target.write_bytes(source.read())


@pytest.fixture(scope="session")
def real_cifar_jpegs(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real CIFAR-10 JPEGs from ../shared/data: the first 20 train and 10 test images of each class."""
    out = tmp_path_factory.mktemp("cifar_jpg")
    _extract_cifar_jpegs(shared_data / "cifar10" / "cifar10_train_jpg.tar.gz", out, per_class=20)
    _extract_cifar_jpegs(shared_data / "cifar10" / "cifar10_test_jpg.tar.gz", out, per_class=10)
    return out


@pytest.fixture(scope="session")
def cifar_benchmark_root(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What ``benchmarks.common.prepare_cifar10`` returns, made from a real subset (the first 60 train and 30
    test images of each class, from ../shared/data/cifar10): the benchmarks' ``--quick`` smoke runs need the
    format, not the 60,000 images that take each test worker minutes to decode."""
    from lightning_gen.data import write_cifar10_batches

    jpegs = tmp_path_factory.mktemp("cifar_benchmark_jpg")
    _extract_cifar_jpegs(shared_data / "cifar10" / "cifar10_train_jpg.tar.gz", jpegs, per_class=60)
    _extract_cifar_jpegs(shared_data / "cifar10" / "cifar10_test_jpg.tar.gz", jpegs, per_class=30)
    root = tmp_path_factory.mktemp("cifar_benchmark_root")
    write_cifar10_batches(str(jpegs), str(root))
    return root


@pytest.fixture(scope="session")
def cifar_root(real_cifar_jpegs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An official-format ``cifar-10-batches-py`` root written from real CIFAR-10 JPEGs (20 train and 10 test
    images per class, from ../shared/data/cifar10)."""
    from lightning_gen.data import write_cifar10_batches

    root = tmp_path_factory.mktemp("cifar_root")
    write_cifar10_batches(str(real_cifar_jpegs), str(root))
    return root
