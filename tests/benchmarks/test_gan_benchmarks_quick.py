"""The --quick variants of the GAN-family benchmarks and of diffusion_throughput run end to end from a clean
clone (issue 14, must-show 3): each trains what it needs into a temporary work folder, then measures; results go
to a temporary folder. The three that read CIFAR-10 get a real subset in the official format (conftest's
``cifar_benchmark_root``, 60 train / 30 test images per class) in place of ``prepare_cifar10``'s 60,000."""

from __future__ import annotations

import importlib

import pytest

import benchmarks.common
import benchmarks.diffusion_runs
from benchmarks.__main__ import main
from tests.helpers import load_quick_result

MODULES = ("cogan", "cyclegan", "biggan", "bigbigan_probe", "diffusion_throughput")


@pytest.fixture(scope="module")
def shared_work(tmp_path_factory):
    return tmp_path_factory.mktemp("benchmark_work")


@pytest.fixture
def results(tmp_path, shared_work, monkeypatch, shared_data, cifar_benchmark_root):
    monkeypatch.setattr(benchmarks.common, "RESULTS_DIR", tmp_path / "results")
    for name in ("common", *MODULES):
        module = importlib.import_module(f"benchmarks.{name}")
        for attr, value in (("WORK_DIR", shared_work), ("SHARED_DATA", shared_data),
                            ("prepare_cifar10", lambda work=None: cifar_benchmark_root)):  # fmt: skip
            if hasattr(module, attr):
                monkeypatch.setattr(module, attr, value)
    monkeypatch.setattr(benchmarks.diffusion_runs, "runs_dir", lambda: shared_work / "runs")
    return tmp_path / "results"


@pytest.mark.slow
def test_cogan_quick(results):
    assert main(["cogan", "--quick"]) == 0
    data = load_quick_result(results, "cogan")
    rows = {row[0]: row for row in data["summary"]["rows"]}
    assert set(rows) == {"digits / edges", "digits / negative"}
    assert all(0.0 <= row[1] <= 1.0 for row in rows.values())  # pixel agreement is a share


@pytest.mark.slow
def test_cyclegan_quick(results):
    assert main(["cyclegan", "--quick"]) == 0
    assert load_quick_result(results, "cyclegan")["units"]


@pytest.mark.slow
def test_biggan_quick(results):
    assert main(["biggan", "--quick"]) == 0
    data = load_quick_result(results, "biggan")
    assert {"train/biggan", "train/dcgan"} <= set(data["units"])
    assert data["summary"]["dcgan/truncation=none"]["fid"] > 0


@pytest.mark.slow
def test_bigbigan_probe_quick(results):
    assert main(["bigbigan_probe", "--quick"]) == 0
    assert load_quick_result(results, "bigbigan_probe")["units"]


@pytest.mark.slow
def test_diffusion_throughput_quick(results):
    assert main(["diffusion_throughput", "--quick"]) == 0
    data = load_quick_result(results, "diffusion_throughput")
    assert {"ddpm", "ddim"} <= set(data["units"])
