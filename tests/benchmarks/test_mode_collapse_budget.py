"""mode_collapse's budget per dataset: ``--steps ring=N,grid=M`` trains each dataset for its own number of
iterations, records it, and refuses malformed budgets with a message that names the accepted forms."""

from __future__ import annotations

import json

import pytest

import benchmarks.common
from benchmarks.mode_collapse import main, parse_steps


def test_one_number_is_every_datasets_budget():
    assert parse_steps("2500") == {"ring": 2500, "grid": 2500}
    assert parse_steps("40_000") == {"ring": 40000, "grid": 40000}


def test_pairs_set_each_dataset_and_the_default_fills_the_rest():
    assert parse_steps("ring=10000,grid=40000") == {"ring": 10000, "grid": 40000}
    assert parse_steps("grid=7", "ring=10000,grid=40000") == {"ring": 10000, "grid": 7}
    assert parse_steps(" ring = 3 ", "400000") == {"ring": 3, "grid": 400000}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rng=4,grid=4", "unknown dataset 'rng'"),
        ("ring=4,grid", "dataset=number pairs"),
        ("ring=4", "no budget for grid"),
        ("ring=x,grid=4", "'x' is not a whole number"),
        ("0", "at least 1"),
    ],
)
def test_a_malformed_budget_is_refused_by_name(text, message):
    with pytest.raises(ValueError, match=message):
        parse_steps(text)


def test_the_command_line_refuses_a_malformed_budget(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--steps", "ring=5,square=5"])
    assert exit_info.value.code == 2
    assert "unknown dataset 'square'" in capsys.readouterr().err


@pytest.mark.slow
def test_each_dataset_trains_for_its_own_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(benchmarks.common, "RESULTS_DIR", tmp_path)
    argv = ["--steps", "ring=3,grid=2", "--seeds", "1", "--methods", "gan_non_saturating"]
    assert main(argv) == 0
    data = json.loads((tmp_path / "mode_collapse.json").read_text())
    assert data["config"]["steps"] == {"ring": 3, "grid": 2}
    ring, grid = data["units"]["ring/gan_non_saturating/seed0"], data["units"]["grid/gan_non_saturating/seed0"]
    # a tenth of 3 or 2 iterations rounds to an evaluation after every iteration: the curve ends at the budget
    assert [c["step"] for c in ring["curve"]] == [1, 2, 3]
    assert [c["step"] for c in grid["curve"]] == [1, 2]
    assert data["summary"]["ring/gan_non_saturating"]["iterations"] == 3
    assert data["summary"]["grid/gan_non_saturating"]["iterations"] == 2
    assert "ring 3, grid 2 iterations per run" in (tmp_path / "mode_collapse.md").read_text()
    # the same budget written the other way finds every unit done (nothing retrained, same file)
    before = (tmp_path / "mode_collapse.json").read_text()
    assert main(["--steps", "grid=2,ring=3", "--seeds", "1", "--methods", "gan_non_saturating"]) == 0
    assert json.loads((tmp_path / "mode_collapse.json").read_text())["units"] == json.loads(before)["units"]
