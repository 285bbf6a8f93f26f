"""The --quick variants of the evaluation benchmarks run end to end (results go to a temporary folder)."""

from __future__ import annotations

import pytest

import benchmarks.common
import benchmarks.mnist_quality
from benchmarks.__main__ import main
from tests.helpers import load_quick_result


@pytest.fixture
def results(tmp_path, monkeypatch, shared_data):
    monkeypatch.setattr(benchmarks.common, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(benchmarks.common, "SHARED_DATA", shared_data)
    for module in (benchmarks.common, benchmarks.mnist_quality):  # common: t10k_as_train_root's work folder
        monkeypatch.setattr(module, "WORK_DIR", tmp_path / "work")
    return tmp_path / "results"


@pytest.mark.slow
def test_mode_collapse_quick(results):
    assert main(["mode_collapse", "--quick"]) == 0
    data = load_quick_result(results, "mode_collapse")
    assert len(data["units"]) == 12  # 6 methods x 2 datasets x 1 seed
    unit = data["units"]["grid/pacgan4/seed0"]
    assert 0 <= unit["modes"] <= 25 and unit["curve"] and unit["wall_s"] > 0
    assert data["summary"]["ring/unrolled_k5"]["seeds"] == 1
    assert main(["mode_collapse", "--quick"]) == 0  # a rerun skips the finished units


@pytest.mark.slow
def test_stacked_mnist_quick(results):
    assert main(["stacked_mnist", "--quick"]) == 0
    data = load_quick_result(results, "stacked_mnist")
    assert set(data["units"]) == {"real", "dcgan", "unrolled", "pacdcgan2"}
    assert data["units"]["real"]["modes"] > 300  # 520 real stacks over 1,000 modes


@pytest.mark.slow
def test_mnist_quality_quick(results):
    assert main(["mnist_quality", "--quick"]) == 0
    data = load_quick_result(results, "mnist_quality")
    refs = data["units"]["references"]
    assert refs["real_halves"]["fid"] < refs["noise"]["fid"]  # floor below ceiling
    assert refs["real_held_out_is"]["is_mean"] > 9.0
    for name in ("gan_mnist", "dcgan_mnist"):
        assert data["units"][name]["feature_net"] == "lightning-gen mnist classifier"


@pytest.mark.slow
def test_feature_nets_quick(results):
    assert main(["feature_nets", "--quick"]) == 0
    unit = load_quick_result(results, "feature_nets")["units"]["mnist"]
    assert unit["accuracy"] > 0.95 and unit["real_halves"]["fid"] < unit["noise"]["fid"]
