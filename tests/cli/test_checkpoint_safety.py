"""Defect 15: a checkpoint is never unpickled beyond tensors and plain values, on any loading path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lightning_gen.cli import main
from lightning_gen.sampling import read_checkpoint_safely
from tests.conftest import REPO_ROOT


class _CreatesFile:
    """Unpickling it opens (creates) ``path``: the stand-in for a payload that runs code."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture(scope="module")
def evil_checkpoint(tmp_path_factory) -> tuple[Path, Path]:
    """A real dcgan_digits checkpoint (2 steps) plus one extra pickled object whose ``__reduce__`` would
    create the returned marker file."""
    root = tmp_path_factory.mktemp("evil")
    main(["fit", "--config", str(REPO_ROOT / "configs" / "dcgan_digits.yaml"), "--trainer.max_steps", "2",
          "--trainer.limit_val_batches", "0", "--trainer.num_sanity_val_steps", "0", "--trainer.logger", "false",
          "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(root / "run")])
    good = next((root / "run").rglob("last.ckpt"))
    checkpoint = torch.load(good, weights_only=True)
    marker = root / "marker"
    checkpoint["extra"] = _CreatesFile(marker)
    evil = root / "evil.ckpt"
    torch.save(checkpoint, evil)
    assert not marker.exists()
    return evil, marker


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "lightning_gen", *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=300)


def test_fit_with_evil_ckpt_path_runs_nothing_and_says_why(evil_checkpoint, tmp_path):
    evil, marker = evil_checkpoint
    result = _cli("fit", "--config", str(REPO_ROOT / "configs" / "dcgan_digits.yaml"), "--ckpt_path", str(evil),
                  "--trainer.default_root_dir", str(tmp_path), cwd=tmp_path)
    assert not marker.exists(), "the checkpoint's pickled payload ran"
    assert result.returncode != 0
    assert f"Refusing to load checkpoint {evil}" in result.stderr
    assert "weights_only=True" in result.stderr and "a reference to io.open" in result.stderr


@pytest.mark.parametrize("subcommand", ["validate", "test"])
def test_other_subcommands_refuse_it_too(subcommand, evil_checkpoint, tmp_path):
    evil, marker = evil_checkpoint
    with pytest.raises(SystemExit):
        main([subcommand, "--config", str(REPO_ROOT / "configs" / "dcgan_digits.yaml"), "--ckpt_path", str(evil),
              "--trainer.default_root_dir", str(tmp_path)])
    assert not marker.exists()


def test_python_loaders_refuse_it(evil_checkpoint):
    from lightning_gen.sampling import load_model

    evil, marker = evil_checkpoint
    for load in (read_checkpoint_safely, load_model):
        with pytest.raises(ValueError, match="not a readable PyTorch checkpoint|Refusing to load"):
            load(evil)
    assert not marker.exists()


def test_the_good_checkpoint_still_resumes(evil_checkpoint, tmp_path):
    """The same file without the extra object loads weights-only and resumes (weights_only=True is passed)."""
    evil, _ = evil_checkpoint
    checkpoint = torch.load(evil, weights_only=False)  # the test itself trusts the file; it removes the payload
    marker = Path(checkpoint.pop("extra").name)
    marker.unlink()
    good = tmp_path / "good.ckpt"
    torch.save(checkpoint, good)
    main(["fit", "--config", str(REPO_ROOT / "configs" / "dcgan_digits.yaml"), "--ckpt_path", str(good),
          "--trainer.max_steps", "4", "--trainer.limit_val_batches", "0", "--trainer.logger", "false",
          "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(tmp_path / "run")])
    assert torch.load(next((tmp_path / "run").rglob("last.ckpt")), weights_only=True)["global_step"] == 4
