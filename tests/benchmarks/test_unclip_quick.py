"""``python -m benchmarks unclip --quick``: CLIP, prior and decoder trained for seconds on real MNIST, evaluated
from their checkpoints alone; a rerun skips every finished unit."""

from __future__ import annotations

import json

import pytest

import benchmarks.common
import benchmarks.unclip
from benchmarks.__main__ import main


@pytest.mark.slow
def test_unclip_quick(tmp_path, monkeypatch, shared_data):
    monkeypatch.setattr(benchmarks.common, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(benchmarks.common, "SHARED_DATA", shared_data)
    for module in (benchmarks.common, benchmarks.unclip):
        monkeypatch.setattr(module, "WORK_DIR", tmp_path / "work")
    assert main(["unclip", "--quick"]) == 0
    data = json.loads((tmp_path / "results" / "unclip_quick.json").read_text())
    units = data["units"]
    assert {"train_clip", "train_prior", "train_decoder"} <= set(units)
    prior = units["prior_n20_s3_v2"]
    assert -1 <= prior["cosine_shuffled_text"] <= 1 and -1 <= prior["cosine_prior"] <= 1
    assert 0 <= units["prompt_accuracy_n20_s3_v2"]["accuracy"] <= 1
    variations = units["variations_n20_s3_v2"]
    assert variations["inputs"] == 20 and variations["variations_per_input"] == 2 and "lightning-gen vary" in variations["picture_command"]
    assert (tmp_path / "work" / "unclip_quick" / "variations" / "grid.png").is_file()
    dates = {k: u["environment"]["date"] for k, u in units.items()}
    assert main(["unclip", "--quick"]) == 0  # a rerun measures nothing again
    again = json.loads((tmp_path / "results" / "unclip_quick.json").read_text())["units"]
    assert {k: u["environment"]["date"] for k, u in again.items()} == dates
