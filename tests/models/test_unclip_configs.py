"""configs/unclip_{clip,prior,decoder}_mnist.yaml run ``lightning-gen fit --trainer.fast_dev_run=true`` on real
MNIST; the prior and decoder with a CLIP checkpoint trained (one step) from configs/unclip_clip_mnist.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lightning_gen.cli import main
from lightning_gen.models import read_checkpoint_info
from lightning_gen.models.clip import clip_fingerprint, load_frozen_clip

REPO = Path(__file__).resolve().parents[2]


def fit(config: str, root: Path, folder: Path, *extra: str) -> None:
    main(["fit", "--config", str(REPO / "configs" / f"{config}.yaml"), "--data.init_args.root", str(root),
          "--data.init_args.batch_size", "4", "--data.init_args.limit", "64", "--trainer.accelerator", "cpu",
          f"--trainer.default_root_dir={folder}", *extra])  # fmt: skip


@pytest.mark.slow
def test_unclip_configs_fast_dev_run(mnist_root, tmp_path):
    torch.manual_seed(0)
    fit("unclip_clip_mnist", mnist_root, tmp_path / "clip", "--trainer.max_steps", "1", "--trainer.limit_val_batches", "0")
    clip = next((tmp_path / "clip").rglob("last.ckpt"))
    for config in ("unclip_prior_mnist", "unclip_decoder_mnist"):
        fit(config, mnist_root, tmp_path / config, "--trainer.fast_dev_run", "true", "--model.init_args.clip", str(clip),
            "--model.init_args.val_steps", "2")  # fmt: skip
    # a run records the CLIP it was trained with
    fit("unclip_prior_mnist", mnist_root, tmp_path / "prior", "--trainer.max_steps", "1", "--trainer.limit_val_batches", "0",
        "--model.init_args.clip", str(clip), "--model.init_args.statistics_batches", "2")  # fmt: skip
    record = read_checkpoint_info(next((tmp_path / "prior").rglob("last.ckpt")))["clip"]
    assert record["fingerprint"] == clip_fingerprint(load_frozen_clip(clip)) and record["source"] == str(clip)
