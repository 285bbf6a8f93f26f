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

torch.set_num_threads(min(2, torch.get_num_threads()))


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
