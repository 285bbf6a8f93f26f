"""``benchmarks.common.prepare_cifar10``: writes where ``WORK_DIR`` points at call time (a test that moves it
must never write into the checkout), and two processes preparing at once both end with one complete root."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

import benchmarks.common as common
from lightning_gen.data import read_cifar10


@pytest.fixture
def shared(tmp_path: Path, real_cifar_jpegs: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ../shared/data stand-in whose CIFAR-10 tarballs hold the real 20 train / 10 test images per class."""
    folder = tmp_path / "shared" / "cifar10"
    folder.mkdir(parents=True)
    for split in ("train", "test"):
        with tarfile.open(folder / f"cifar10_{split}_jpg.tar.gz", "w:gz") as tar:
            tar.add(real_cifar_jpegs / split, arcname=split)
    monkeypatch.setattr(common, "SHARED_DATA", tmp_path / "shared")
    return tmp_path


def test_default_work_folder_is_read_at_call_time(shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "WORK_DIR", shared / "work")
    root = common.prepare_cifar10()
    assert root == shared / "work" / "cifar10_batches"
    assert read_cifar10(root, "train")[0].shape == (200, 3, 32, 32)
    assert read_cifar10(root, "test")[0].shape == (100, 3, 32, 32)
    assert sorted(p.name for p in (shared / "work").iterdir()) == ["cifar10_batches"]  # no scratch left behind
    assert common.prepare_cifar10() == root  # the second call reuses it


def test_a_root_finished_meanwhile_by_another_process_is_kept(shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = shared / "work"
    real_write = common.write_cifar10_batches

    def other_process_finishes_first(jpeg_root: str, out_root: str):
        real_write(jpeg_root, str(work / "cifar10_batches"))  # the other process renamed its root into place
        return real_write(jpeg_root, out_root)

    monkeypatch.setattr(common, "write_cifar10_batches", other_process_finishes_first)
    root = common.prepare_cifar10(work)
    assert read_cifar10(root, "train")[0].shape == (200, 3, 32, 32)
    assert sorted(p.name for p in work.iterdir()) == ["cifar10_batches"]
