"""``python -m benchmarks overhead --quick``: real plain-loop and Trainer runs, the result file's fields,
identical final weights on both sides, and resuming without re-measuring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import benchmarks.common
from benchmarks.__main__ import main
from benchmarks.overhead import VARIANTS


@pytest.fixture
def results_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Write the quick results into a temporary folder instead of benchmarks/results/."""
    monkeypatch.setattr(benchmarks.common, "RESULTS_DIR", tmp_path)
    threads = torch.get_num_threads()
    yield tmp_path
    torch.set_num_threads(threads)  # the benchmark fixes the thread count of the process


def test_overhead_quick_writes_ratio_and_resumes(results_dir: Path) -> None:
    assert main(["overhead", "--quick"]) == 0
    path = results_dir / "overhead_quick.json"
    data = json.loads(path.read_text())

    assert data["benchmark"] == "overhead"
    config = data["config"]
    assert config["variants"] == list(VARIANTS) and config["threads"] == 1
    units = data["units"]
    assert set(units) == {f"{v}/{r}" for v in VARIANTS for r in range(config["repeats"])}
    for key, unit in units.items():
        assert unit["iterations"] == config["steps"], key
        for suffix in ("", "_cpu"):  # wall clock and process CPU time
            assert 0 < unit[f"first_iteration_end{suffix}_s"] <= unit[f"total{suffix}_s"], key
            assert unit[f"iteration{suffix}_median_ms"] > 0, key
        assert unit["environment"]["hardware"] and unit["environment"]["torch_threads"] == 1, key
        # same seeds, same data, same operations: the plain loop and the Trainer end with the same EMA weights
        assert unit["max_abs_weight_diff_vs_plain"] <= 1e-6, key

    summary = data["summary"]
    ratios = summary["ratios"]
    assert summary["ratio"] == ratios["lightning"]["cpu_median"] > 0
    assert summary["ratio_wall"] == ratios["lightning"]["wall_median"] > 0
    assert summary["target_ratio"] == 1.03 and summary["target_met"] == (summary["verdict"] == "met")
    paired = summary["paired_ratios"]
    assert len(paired) == config["repeats"] and summary["paired_ratio_min"] == min(paired)
    assert ratios["plain"]["cpu_median"] == ratios["plain"]["wall_median"] == 1.0
    for variant in VARIANTS:
        for clock in ("cpu", "wall"):
            stats = summary["variants"][variant][clock]
            assert len(stats["total_s"]) == config["repeats"]
            assert stats["total_min_s"] <= stats["total_median_s"]
            assert ratios[variant][f"{clock}_iteration"] > 0
    markdown = (results_dir / "overhead_quick.md").read_text()
    assert "| lightning |" in markdown and f"{summary['ratio']:.4f}" in markdown

    # A rerun with the same settings finds every unit done and measures nothing again.
    assert main(["overhead", "--quick"]) == 0
    assert json.loads(path.read_text())["units"] == units


def test_overhead_rejects_bad_arguments(results_dir: Path) -> None:
    with pytest.raises(SystemExit):
        main(["overhead", "--steps", "1"])
    assert not list(results_dir.iterdir())


def test_noise_verdict_reads_paired_ratios_against_their_spread() -> None:
    from benchmarks.overhead import noise_verdict

    assert noise_verdict([0.95, 1.09, 1.02], 1.03)["verdict"] == "within noise of 1.0"
    assert noise_verdict([1.01, 1.02], 1.03)["verdict"] == "met"
    assert noise_verdict([1.01, 1.02], 1.03)["target_met"] is True
    assert noise_verdict([1.05, 1.20], 1.03)["verdict"] == "missed"
    assert noise_verdict([1.01, 1.05], 1.03)["verdict"] == "inconclusive"
    assert noise_verdict([0.95, 1.09], 1.03)["target_met"] is False
