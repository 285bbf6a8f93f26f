"""``python -m benchmarks memory --quick``: real training and sampling processes, each reporting its own peak RSS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import benchmarks.common
import benchmarks.memory
from benchmarks.__main__ import main
from benchmarks.memory import QUICK_FAMILIES


@pytest.fixture
def results_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(benchmarks.common, "RESULTS_DIR", tmp_path)
    # training scratch in the test's folder, never the checkout's benchmarks/work (parallel workers, reruns)
    monkeypatch.setattr(benchmarks.common, "WORK_DIR", tmp_path / "work")
    monkeypatch.setattr(benchmarks.memory, "WORK_DIR", tmp_path / "work")
    return tmp_path


def test_memory_quick_measures_training_and_sampling(results_dir: Path) -> None:
    assert main(["memory", "--quick"]) == 0
    data = json.loads((results_dir / "memory_quick.json").read_text())
    assert data["benchmark"] == "memory" and set(data["units"]) == {
        f"{mode}/{family}" for mode in ("train", "sample") for family in QUICK_FAMILIES
    }
    for family in QUICK_FAMILIES:
        train, sample = data["units"][f"train/{family}"], data["units"][f"sample/{family}"]
        assert train["config"] == sample["config"] and train["config"].startswith("configs/")
        assert train["steps"] == data["config"]["steps"]
        assert 100 < train["baseline_mib"] <= train["peak_mib"] < 8192  # torch + Lightning alone are > 100 MiB
        assert 100 < sample["baseline_mib"] <= sample["peak_mib"] and sample["shape"][0] == 16
        assert data["summary"][family]["train_peak_mib"] == train["peak_mib"]
    assert "| gan (MLP, toy) | configs/gan_toy.yaml | 100 |" in (results_dir / "memory_quick.md").read_text()
