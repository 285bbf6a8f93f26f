"""``python -m benchmarks clip_zero_shot --quick`` runs end to end on the real MNIST digits (results go to a
temporary folder); the CIFAR-10 unit takes the same code path with another datamodule (not run here: unpacking
the 60,000 JPEGs alone takes minutes on the test machine)."""

from __future__ import annotations

import json

import pytest

import benchmarks.common
from benchmarks.__main__ import main


@pytest.mark.slow
def test_clip_zero_shot_quick(tmp_path, monkeypatch, shared_data) -> None:
    monkeypatch.setattr(benchmarks.common, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(benchmarks.common, "SHARED_DATA", shared_data)
    monkeypatch.setattr(benchmarks.common, "WORK_DIR", tmp_path / "work")
    assert main(["clip_zero_shot", "--quick", "--datasets", "mnist"]) == 0
    data = json.loads((tmp_path / "results" / "clip_zero_shot_quick.json").read_text())
    unit = data["units"]["mnist"]
    assert unit["budget"]["steps"] == 3 and unit["test_images"] == 200
    for key in ("zeroshot_seen", "zeroshot_heldout"):
        assert 0 <= unit[key]["top1"] <= unit[key]["top5"] <= 1
    assert 0 <= unit["retrieval_heldout"]["text_to_image_R@1"] <= 1 and 0 <= unit["linear_probe"] <= 1
    assert unit["supervised_classifier"] > 0.9  # the project's MNIST classifier on the held-out digits
    assert "zero-shot held-out" in (tmp_path / "results" / "clip_zero_shot_quick.md").read_text()
    assert main(["clip_zero_shot", "--quick", "--datasets", "mnist"]) == 0  # a rerun skips the finished unit
