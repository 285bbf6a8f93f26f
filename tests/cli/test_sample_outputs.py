"""Defect 14: `lightning-gen sample` writes any model's samples: a scatter plot of 2-D points with the data's
modes, and raw values (.pt, .npy, .csv)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lightning_gen.cli import main
from lightning_gen.data.toy import ring_modes
from lightning_gen.sampling import data_modes, load_model
from tests.conftest import REPO_ROOT

CONFIGS = REPO_ROOT / "configs"


def _fit(config: str, root: Path, *extra: str) -> Path:
    main(["fit", "--config", str(CONFIGS / f"{config}.yaml"), "--trainer.max_steps", "2",
          "--trainer.limit_val_batches", "0", "--trainer.num_sanity_val_steps", "0", "--trainer.logger", "false",
          "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(root), *extra])
    return next(root.rglob("last.ckpt"))


@pytest.fixture(scope="module")
def toy_ckpt(tmp_path_factory) -> Path:
    return _fit("gan_toy", tmp_path_factory.mktemp("toy"), "--data.init_args.num_samples", "400",
                "--data.init_args.val_samples", "100")


def test_the_checkpoint_records_the_toy_modes(toy_ckpt):
    assert torch.allclose(data_modes(toy_ckpt).double(), ring_modes().double())


def test_scatter_plot_of_vector_samples_marks_the_modes(toy_ckpt, tmp_path):
    assert main(["sample", "--ckpt", str(toy_ckpt), "--num", "300", "--out", str(tmp_path / "toy.png")]) == 0
    pixels = np.asarray(Image.open(tmp_path / "toy.png").convert("RGB")).astype(int)
    assert pixels.shape == (512, 512, 3)
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 80) & (pixels[..., 2] < 80)
    blue = (pixels[..., 2] > 150) & (pixels[..., 0] < 80)
    assert red.sum() > 8 * 10 and blue.sum() > 50  # 8 mode crosses and the samples


@pytest.mark.parametrize("suffix", [".pt", ".npy", ".csv"])
def test_raw_samples_equal_model_sample(suffix, toy_ckpt, tmp_path):
    out = tmp_path / f"samples{suffix}"
    assert main(["sample", "--ckpt", str(toy_ckpt), "--num", "50", "--seed", "3", "--out", str(out)]) == 0
    expected = load_model(toy_ckpt).sample(50, seed=3)
    if suffix == ".pt":
        written = torch.load(out, weights_only=True)
    elif suffix == ".npy":
        written = torch.from_numpy(np.load(out))
    else:
        assert out.read_text().splitlines()[0] == "x0,x1"
        written = torch.from_numpy(np.loadtxt(out, delimiter=",", skiprows=1)).float()
    assert written.shape == (50, 2)
    torch.testing.assert_close(written, expected, atol=1e-6, rtol=1e-6)


def test_image_models_write_raw_arrays_too(tmp_path):
    ckpt = _fit("dcgan_digits", tmp_path / "run")
    assert main(["sample", "--ckpt", str(ckpt), "--num", "4", "--out", str(tmp_path / "x.npy")]) == 0
    assert np.load(tmp_path / "x.npy").shape == (4, 1, 32, 32)


def test_vectors_to_a_folder_say_what_works(toy_ckpt, tmp_path, capsys):
    assert main(["sample", "--ckpt", str(toy_ckpt), "--num", "5", "--out", str(tmp_path / "folder")]) == 2
    assert "FILE.png (a scatter plot of 2-D points) or FILE.pt / .npy / .csv" in capsys.readouterr().err
