"""text_to_image's per-variant training budgets: ``--steps-for`` and resuming one variant at a larger budget."""

from __future__ import annotations

import json

import pytest

import benchmarks.common
from benchmarks.__main__ import main
from benchmarks.common import ResultFile
from benchmarks.text_to_image import (
    PICTURES,
    _wordings,
    evaluated_seen_pairs,
    parse_steps_for,
    picture_command,
    reconcile_budget,
)


def test_parse_steps_for_defaults_and_overrides():
    steps = parse_steps_for(["two_digits_minilm=3000"], 800)
    assert steps == {"mnist_minilm": 800, "mnist_tower": 800, "two_digits_minilm": 3000}
    for bad in ("two_digits=3000", "two_digits_minilm=0", "two_digits_minilm", "mnist_tower=1e3"):
        with pytest.raises(ValueError, match="--steps-for wants VARIANT=N"):
            parse_steps_for([bad], 800)


def test_bad_steps_for_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        main(["text_to_image", "--steps-for", "nope=5"])
    assert "--steps-for wants VARIANT=N" in capsys.readouterr().err


def _result(tmp_path, monkeypatch) -> ResultFile:
    monkeypatch.setattr(benchmarks.common, "RESULTS_DIR", tmp_path)
    result = ResultFile("t2i_budget_test", {"train_steps": 800})
    result.add("train/mnist_minilm", {"global_step": 800})
    result.add("eval/mnist_minilm/seen_wordings/w4/static", {"accuracy": 0.9})
    result.add("fid_floor/16px/n200", {"fid": 11.0})
    result.add("fid/mnist_minilm/w4/static/n200", {"fid": 40.0, "accuracy": 0.9})
    result.add("train/two_digits_minilm", {"global_step": 800})
    result.add("real/two_digits_minilm", {"accuracy": 0.97})
    result.add("eval/two_digits_minilm/heldout_pairs/w4/static", {"accuracy": 0.2})
    return result


def test_raising_one_budget_drops_only_that_variants_measurements(tmp_path, monkeypatch):
    result = _result(tmp_path, monkeypatch)
    reconcile_budget(result, "mnist_minilm", 800)  # same budget: nothing changes
    reconcile_budget(result, "two_digits_minilm", 2000)
    assert sorted(result.units) == [
        "eval/mnist_minilm/seen_wordings/w4/static",
        "fid/mnist_minilm/w4/static/n200",
        "fid_floor/16px/n200",
        "real/two_digits_minilm",  # the real-digit floor does not depend on training
        "train/mnist_minilm",
    ]
    on_disk = json.loads((tmp_path / "t2i_budget_test.json").read_text())  # saved, so a crash keeps it consistent
    assert sorted(on_disk["units"]) == sorted(result.units)
    reconcile_budget(result, "mnist_tower", 5)  # never trained: nothing to reconcile
    reconcile_budget(result, "mnist_minilm", 3000)  # its FID / KID cells scored the old checkpoint too
    assert sorted(result.units) == ["fid_floor/16px/n200", "real/two_digits_minilm"]


def test_lowering_a_budget_is_an_error_that_keeps_the_units(tmp_path, monkeypatch):
    result = _result(tmp_path, monkeypatch)
    with pytest.raises(ValueError, match="--steps-for two_digits_minilm=800"):
        reconcile_budget(result, "two_digits_minilm", 400)
    assert result.done("eval/two_digits_minilm/heldout_pairs/w4/static")


def test_picture_commands_name_their_picture_and_prompts():
    command = picture_command("x.ckpt", "two_digits_minilm")
    assert command.startswith("lightning-gen sample --ckpt x.ckpt ") and command.endswith("--out docs/t2i_two_digits.png")
    assert command.count("--prompt ") == len(PICTURES["two_digits_minilm"].prompts)
    assert '--prompt "a 3 on the left and a 7 on the right"' in command  # a held-out pair of the config


def test_evaluated_seen_pairs_are_the_mirrors_then_a_spread_of_trained_pairs():
    heldout = [(0, 6), (3, 7), (5, 2), (8, 1), (9, 4)]
    seen = [(a, b) for a in range(10) for b in range(10) if (a, b) not in heldout]
    pairs = evaluated_seen_pairs(seen, heldout)
    assert pairs[:5] == [(6, 0), (7, 3), (2, 5), (1, 8), (4, 9)]  # each held-out pair's trained mirror
    assert len(set(pairs)) == 10 and set(pairs) <= set(seen)
    assert len({a for a, _ in pairs[5:]}) > 1  # not the first trained pairs (all 0 on the left)
    assert evaluated_seen_pairs(seen[:3], []) == seen[:3]  # fewer trained pairs than asked: all of them


def test_the_wording_gap_is_seen_minus_held_out_over_the_cells_both_measured():
    summary = {
        "mnist_tower/seen_wordings/w1/static": 0.9, "mnist_tower/heldout_wordings/w1/static": 0.7,
        "mnist_tower/seen_wordings/w1/dynamic": 0.8, "mnist_tower/heldout_wordings/w1/dynamic": 0.8,
        "mnist_tower/seen_wordings/w4/static": 1.0,  # no held-out cell at w4: left out of the mean
        "mnist_minilm/seen_wordings/w1/static": 0.5, "mnist_minilm/heldout_wordings/w1/static": 0.6,
        "two_digits_minilm/heldout_pairs/w1/static": 0.1,
    }  # fmt: skip
    markdown = _wordings(summary)
    assert summary["wording_gap/mnist_tower"] == {"mean_gap": pytest.approx(0.1), "cells": 2}
    assert summary["wording_gap/mnist_minilm"] == {"mean_gap": pytest.approx(-0.1), "cells": 1}
    assert "two_digits_minilm" not in markdown and "| mnist_tower | 1 | 90.0% | 70.0% | +20.0 |" in markdown
