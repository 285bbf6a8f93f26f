"""``python -m benchmarks ddp_scaling --quick``: real 1- and 2-process fits of DCGAN on MNIST, the same global
batch, throughput timed on rank 0 and the speed-up in the summary. One model only: the timing and summary
code is the same for both, each model costs two full-size process launches, and DDPM under 2-process DDP has
its own tests (tests/models/test_ddpm_ddp.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import benchmarks.common
import benchmarks.ddp_scaling
from benchmarks.__main__ import main

MODELS = ("dcgan_mnist",)


@pytest.fixture
def results_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(benchmarks.common, "RESULTS_DIR", tmp_path)
    # training scratch in the test's folder, never the checkout's benchmarks/work (parallel workers, reruns)
    monkeypatch.setattr(benchmarks.common, "WORK_DIR", tmp_path / "work")
    monkeypatch.setattr(benchmarks.ddp_scaling, "WORK_DIR", tmp_path / "work")
    return tmp_path


@pytest.mark.slow
def test_ddp_scaling_quick_times_both_sizes_with_the_same_global_batch(results_dir: Path, shared_data: Path) -> None:
    assert main(["ddp_scaling", "--quick", "--models", *MODELS]) == 0
    data = json.loads((results_dir / "ddp_scaling_quick.json").read_text())
    config = data["config"]
    assert set(data["units"]) == {f"{m}/p{p}/r0" for m in MODELS for p in (1, 2)}
    for key, unit in data["units"].items():
        assert unit["global_batch"] == config["global_batch"], key  # 16 x 1 or 8 x 2
        assert unit["batches"] == config["batches"] and unit["seconds"] > 0, key
        assert unit["images_per_s"] == pytest.approx(unit["batches"] * unit["global_batch"] / unit["seconds"])
    for model in MODELS:
        s = data["summary"][model]
        assert s["speedup"] == pytest.approx(s["images_per_s_2"] / s["images_per_s_1"])
        assert s["target_met"] == (s["speedup"] >= 1.6)
