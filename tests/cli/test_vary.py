"""``lightning-gen vary``: image variations with an unCLIP decoder checkpoint (Ramesh et al., 2022)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from lightning_gen.cli import main
from tests.cli import test_diffusion_commands
from tests.helpers import trainer
from tests.models.unclip_helpers import captioned_mnist, tiny_clip, tiny_decoder, tiny_prior

digit_pngs = test_diffusion_commands.digit_pngs  # the fixture of five real MNIST digits as PNG files


def _fit_and_save(model, dm, folder) -> str:
    t = trainer(folder, max_steps=2, limit_val_batches=0, enable_checkpointing=False)
    t.fit(model, dm)
    t.save_checkpoint(folder / "model.ckpt")
    return str(folder / "model.ckpt")


def test_vary_writes_num_variations_per_input_and_a_grid(mnist_root, digit_pngs, tmp_path, capsys):
    torch.manual_seed(0)
    ckpt = _fit_and_save(tiny_decoder(tiny_clip()), captioned_mnist(mnist_root), tmp_path / "decoder")
    out = tmp_path / "out"
    args = ["vary", "--ckpt", ckpt, "--input", str(digit_pngs), "--max-inputs", "3", "--num", "2", "--out", str(out),
            "--steps", "2"]  # fmt: skip
    assert main(args) == 0
    assert "Wrote 2 variation(s) of each of 3 image(s)" in capsys.readouterr().out
    files = sorted(out.glob("000*_digit*_0*.png"))
    assert [f.name for f in files] == [f"{i:04d}_digit{i}_{j:02d}.png" for i in range(3) for j in range(2)]
    assert Image.open(files[0]).size == (8, 8)  # the decoder's resolution
    assert Image.open(out / "grid.png").size == (3 * 10 + 2, 3 * 10 + 2)  # 3 rows (input + 2 variations), 8 px cells, 2 px padding
    # same seed, same variations
    assert main([*args[:-4], "--out", str(tmp_path / "again"), "--steps", "2"]) == 0
    assert np.array_equal(np.asarray(Image.open(files[0])), np.asarray(Image.open(tmp_path / "again" / files[0].name)))


def test_vary_refuses_a_checkpoint_that_is_not_a_decoder(mnist_root, digit_pngs, tmp_path, capsys):
    torch.manual_seed(0)
    ckpt = _fit_and_save(tiny_prior(tiny_clip()), captioned_mnist(mnist_root), tmp_path / "prior")
    assert main(["vary", "--ckpt", ckpt, "--input", str(digit_pngs), "--out", str(tmp_path / "o")]) == 2
    assert "is a UnCLIPPrior checkpoint; vary needs an UnCLIPDecoder one" in capsys.readouterr().err
