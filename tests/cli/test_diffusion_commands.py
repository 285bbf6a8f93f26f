"""``lightning-gen inpaint | superres | colorize`` on real images with checkpoints from real (short) runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lightning_gen.cli import main
from lightning_gen.data import CIFAR10DataModule, read_mnist
from lightning_gen.data.transforms import center_crop_resize
from lightning_gen.models import ColorizationDDPM
from lightning_gen.utils.images import load_image, save_grid, to_uint8
from tests.helpers import trainer
from tests.models.diffusion_helpers import mnist_dm, tiny_ddpm, tiny_sr, tiny_unet


def fit_and_save(model, datamodule, folder: Path) -> str:
    t = trainer(folder, max_steps=1, limit_val_batches=1)
    t.fit(model, datamodule)
    path = folder / "model.ckpt"
    t.save_checkpoint(path)
    return str(path)


@pytest.fixture(scope="module")
def digit_pngs(mnist_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five real MNIST test digits as 28x28 PNG files."""
    images, _ = read_mnist(mnist_root, "test")
    folder = tmp_path_factory.mktemp("digits")
    for i in range(5):
        Image.fromarray(images[i].numpy()).save(folder / f"digit{i}.png")
    return folder


def test_inpaint_keeps_the_known_pixels(mnist_root, digit_pngs, tmp_path, capsys):
    torch.manual_seed(0)
    ckpt = fit_and_save(tiny_ddpm(size=8), mnist_dm(mnist_root, size=8), tmp_path / "run")
    out = tmp_path / "inpainted"

    def inpaint(mask: str, folder: Path, *extra: str) -> int:
        return main(["inpaint", "--ckpt", ckpt, "--input", str(digit_pngs), "--mask", mask, "--out", str(folder),
                     "--steps", "4", "--jumps", "2", "--resample", "2", *extra])  # fmt: skip

    assert inpaint("center", out) == 0
    assert "Inpainted 5 image(s)" in capsys.readouterr().out
    results = sorted(out.glob("000*_digit*.png"))
    assert len(results) == 5 and (out / "grid.png").is_file()
    # a mask file: white = keep, black = generate; keeping everything returns the (resized) input
    mask = tmp_path / "keep_all.png"
    save_grid(torch.ones(1, 1, 8, 8), mask, nrow=1, padding=0)
    assert inpaint(str(mask), tmp_path / "kept", "--num", "1") == 0
    kept = np.asarray(Image.open(sorted((tmp_path / "kept").glob("*.png"))[0]).convert("L"), dtype=np.float32)
    original = to_uint8(center_crop_resize(load_image(digit_pngs / "digit0.png", "L"), 8))[0].numpy()
    assert np.abs(kept - original).max() <= 1  # only the [-1, 1] -> uint8 rounding
    assert inpaint("diagonal", out) == 2
    assert "not a preset (center, random, left, top)" in capsys.readouterr().err


def test_superres_upsamples_user_images(mnist_root, digit_pngs, tmp_path, capsys):
    torch.manual_seed(0)
    ckpt = fit_and_save(tiny_sr(size=8, low=4), mnist_dm(mnist_root, size=8), tmp_path / "run")
    out = tmp_path / "sr"
    assert main(["superres", "--ckpt", ckpt, "--input", str(digit_pngs / "digit1.png"), "--out", str(out),
                 "--steps", "2", "--augmentation-level", "0"]) == 0  # fmt: skip
    assert "Super-resolved 1 image(s) 4->8" in capsys.readouterr().out
    (result,) = out.glob("0000_digit1.png")
    assert Image.open(result).size == (8, 8)
    ddpm_ckpt = fit_and_save(tiny_ddpm(size=8), mnist_dm(mnist_root, size=8), tmp_path / "ddpm")
    assert main(["superres", "--ckpt", ddpm_ckpt, "--input", str(digit_pngs), "--out", str(out)]) == 2
    assert "superres needs a SuperResolutionDDPM" in capsys.readouterr().err


def test_colorize_real_cifar_images(cifar_root, real_cifar_jpegs, tmp_path, capsys):
    torch.manual_seed(0)
    model = ColorizationDDPM(tiny_unet(32, channels=3, cond_channels=1, attention_resolutions=[16]), val_steps=2)
    ckpt = fit_and_save(model, CIFAR10DataModule(str(cifar_root), batch_size=8), tmp_path / "run")
    out = tmp_path / "colour"
    assert main(["colorize", "--ckpt", ckpt, "--input", str(real_cifar_jpegs / "test" / "cat"), "--num", "3",
                 "--out", str(out), "--sampler", "dpmpp", "--steps", "2"]) == 0  # fmt: skip
    assert "Colorized 3 image(s)" in capsys.readouterr().out
    results = sorted(out.glob("*.png"))
    assert len(results) == 4 and Image.open(results[0]).mode == "RGB"
    assert main(["colorize", "--ckpt", ckpt, "--input", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    assert "no such file or folder" in capsys.readouterr().err
