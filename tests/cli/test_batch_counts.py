"""Defect 13: an integral batch limit is a number of batches on lightning-gen's command line and in YAML."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import yaml

from lightning_gen.cli import BATCH_COUNT_OPTIONS, LightningGenCLI, batch_counts, main
from tests.conftest import REPO_ROOT

CONFIGS = REPO_ROOT / "configs"
WITH_LIMITS = sorted(
    path for path in CONFIGS.glob("*.yaml")
    if any(key in (yaml.safe_load(path.read_text()).get("trainer") or {}) for key in BATCH_COUNT_OPTIONS)
)


def test_integral_values_become_counts_and_fractions_stay():
    trainer = {"limit_train_batches": 80.0, "limit_val_batches": 1.0, "limit_test_batches": 0.25,
               "overfit_batches": 0.0, "val_check_interval": "0:00:10", "max_epochs": 3}
    batch_counts(trainer)
    assert trainer == {"limit_train_batches": 80, "limit_val_batches": 1, "limit_test_batches": 0.25,
                       "overfit_batches": 0, "val_check_interval": "0:00:10", "max_epochs": 3}
    assert type(trainer["limit_val_batches"]) is int


@pytest.fixture(scope="module")
def cli() -> LightningGenCLI:
    return LightningGenCLI(args=["--config", str(CONFIGS / "dcgan_digits.yaml"), "--trainer.logger", "false"], run=False)


@pytest.mark.parametrize("path", WITH_LIMITS, ids=lambda p: p.stem)
def test_configs_integral_limits_reach_the_trainer_as_counts(path, cli):
    """Each config as LightningGenCLI parses it (its models are not built: some need artifacts of other runs),
    then a Trainer with the parsed limits."""
    written = yaml.safe_load(path.read_text())["trainer"]
    cli.parse_arguments(cli.parser, ["--config", str(path)])
    parsed = {key: cli.config["trainer"][key] for key in BATCH_COUNT_OPTIONS}
    trainer = pl.Trainer(logger=False, enable_checkpointing=False, **parsed)
    for key in BATCH_COUNT_OPTIONS:
        value = written.get(key)
        if isinstance(value, int | float) and float(value).is_integer():
            assert type(parsed[key]) is int and parsed[key] == value, key
            assert type(getattr(trainer, key)) is int and getattr(trainer, key) == value, key


def test_print_config_shows_counts(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--config", str(CONFIGS / "cyclegan_horse_deer.yaml"), "--trainer.limit_val_batches=1",
              "--trainer.val_check_interval", "5", "--print_config"])
    trainer = yaml.safe_load(capsys.readouterr().out)["trainer"]
    assert (trainer["limit_train_batches"], trainer["limit_val_batches"], trainer["val_check_interval"]) == (80, 1, 5)
    assert all(type(trainer[k]) is int for k in ("limit_train_batches", "limit_val_batches", "val_check_interval"))


@pytest.mark.parametrize("written", ["1", "1.0"])
def test_a_real_run_validates_exactly_one_batch(written, tmp_path):
    """``1.0`` is what the float-first parse made of ``1``: Lightning alone would run every validation batch."""
    cli = LightningGenCLI(args=[
        "fit", "--config", str(CONFIGS / "dcgan_digits.yaml"), "--data.init_args.batch_size", "8",
        "--trainer.max_steps", "2", f"--trainer.limit_val_batches={written}", "--trainer.limit_train_batches=1",
        "--trainer.num_sanity_val_steps", "0", "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
        "--trainer.default_root_dir", str(tmp_path)])
    assert len(cli.datamodule.val_dataloader()) > 1
    assert cli.trainer.num_val_batches == [1]
