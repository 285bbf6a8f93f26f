"""Every diffusion config runs ``lightning-gen fit --trainer.fast_dev_run=true`` on real data."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightning_gen.cli import main

REPO = Path(__file__).resolve().parents[2]

FEW = ["--model.init_args.num_val_samples", "2"]  # the validation image grid samples 2 images, not 16-80
CONFIGS = {  # config -> (data fixture, extra overrides)
    "ddpm_mnist": ("mnist_root", FEW),
    "ddpm_cond_mnist": ("mnist_root", FEW),
    "cascade_base_mnist": ("mnist_root", FEW),
    "cascade_sr_mnist": ("mnist_root", []),
    "colorize_cifar10": ("cifar_root", []),
    "cascade_sr_cifar10": ("cifar_root", []),
    "ddpm_cifar10": ("cifar_root", FEW),
    "cascade_base_cifar10": ("cifar_train_folder", FEW),
    "ddpm_celeba": ("celeba_root", FEW),
}


@pytest.fixture(scope="module")
def cifar_train_folder(real_cifar_jpegs: Path) -> Path:
    return real_cifar_jpegs / "train"


@pytest.fixture(scope="module")
def celeba_root(shared_data: Path) -> Path:
    return shared_data / "celeba"


@pytest.mark.slow
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_config_fast_dev_run(config, request, tmp_path):
    fixture, extra = CONFIGS[config]
    root = request.getfixturevalue(fixture)
    main(["fit", "--config", str(REPO / "configs" / f"{config}.yaml"), "--data.init_args.root", str(root),
          "--data.init_args.batch_size", "2", "--trainer.fast_dev_run", "true", "--trainer.accelerator", "cpu",
          "--model.init_args.val_steps", "2", f"--trainer.default_root_dir={tmp_path}", *extra])  # fmt: skip
