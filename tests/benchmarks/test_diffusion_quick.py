"""The --quick variants of the diffusion benchmarks run end to end from a clean clone (issue 14, item 13):
each trains the tiny checkpoints it needs (benchmarks.diffusion_runs, through ``lightning-gen fit`` of the
committed configs) into a temporary work folder, then samples and scores; results go to a temporary folder."""

from __future__ import annotations

import json

import pytest
import torch

import benchmarks.common
import benchmarks.diffusion_runs as runs
from benchmarks.__main__ import main


@pytest.fixture
def work(tmp_path, monkeypatch, shared_data):
    monkeypatch.setattr(benchmarks.common, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(benchmarks.common, "SHARED_DATA", shared_data)
    monkeypatch.setattr(benchmarks.common, "WORK_DIR", tmp_path / "work")
    return tmp_path


def _load(work, name):
    data = json.loads((work / "results" / f"{name}_quick.json").read_text())
    assert (work / "results" / f"{name}_quick.md").is_file()
    return data


@pytest.mark.slow
def test_diffusion_nfe_and_inpainting_quick_train_their_checkpoint(work):
    assert not (work / "work").exists()  # a clean clone: nothing trained yet
    assert main(["diffusion_nfe", "--quick"]) == 0
    data = _load(work, "diffusion_nfe")
    assert data["config"]["checkpoint"]["global_step"] == runs.QUICK_STEPS
    assert data["config"]["timestep_spacing"] == "trailing" and data["config"]["training_wall_s"] > 0
    assert {"real_floor", "ddpm-40", "ddim-20", "dpmpp-20"} <= set(data["units"])
    assert data["summary"]["best_20_step"] in ("ddim-20", "dpmpp-20")
    assert main(["inpainting", "--quick"]) == 0  # reuses the checkpoint: trained once
    assert (work / "work" / "runs" / "times.txt").read_text().count("ddpm_mnist_quick") == 1
    assert set(_load(work, "inpainting")["units"]) == {"center/repaint", "center/blur_fill", "random/repaint", "random/blur_fill"}


@pytest.mark.slow
def test_cascade_quick_trains_its_four_runs(work):
    assert main(["cascade", "--quick"]) == 0
    data = _load(work, "cascade")
    assert {b["global_step"] for b in data["config"]["budget"].values()} == {runs.QUICK_STEPS}
    assert "cascade_noaug" in data["units"] and "real_lowres_sr_aug" in data["units"]


@pytest.mark.slow
def test_an_interrupted_run_resumes_from_its_last_checkpoint(work, monkeypatch):
    first = runs.ensure_checkpoint("cascade_base_mnist", quick=True)
    assert torch.load(first, weights_only=True)["global_step"] == runs.QUICK_STEPS
    monkeypatch.setattr(runs, "QUICK_STEPS", runs.QUICK_STEPS + 2)  # a larger budget: continue, do not restart
    second = runs.ensure_checkpoint("cascade_base_mnist", quick=True)
    checkpoint = torch.load(second, weights_only=True)
    assert checkpoint["global_step"] == runs.QUICK_STEPS and second != first
    assert runs.training_wall_s("cascade_base_mnist_quick") > 0
    with pytest.raises(KeyError, match="known: ddpm_mnist"):
        runs.ensure_checkpoint("ddpm_cifar", quick=True)
