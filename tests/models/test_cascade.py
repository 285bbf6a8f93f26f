"""Cascaded diffusion (Ho et al., 2021): the SR stage's conditioning augmentation and the chained sampler."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lightning_gen.cli import main
from lightning_gen.data.transforms import resize
from tests.helpers import trainer
from tests.models.diffusion_helpers import mnist_dm, tiny_ddpm, tiny_sr


def record_denoiser_inputs(model) -> list[dict]:
    calls: list[dict] = []
    model.denoiser.register_forward_pre_hook(lambda m, args, kwargs: calls.append(kwargs), with_kwargs=True)
    model.ema.shadow.register_forward_pre_hook(lambda m, args, kwargs: calls.append(kwargs), with_kwargs=True)
    return calls


@pytest.mark.parametrize("augmentation", [True, False])
def test_the_augmentation_level_reaches_the_sr_model_in_training(mnist_root, tmp_path, augmentation):
    torch.manual_seed(0)
    model = tiny_sr(conditioning_augmentation=augmentation, max_augmentation_level=300)
    calls = record_denoiser_inputs(model)
    dm = mnist_dm(mnist_root, size=8)
    trainer(tmp_path, max_steps=3, limit_val_batches=0, enable_checkpointing=False).fit(model, dm)
    levels = torch.cat([c["cond_level"] for c in calls])
    assert len(calls) == 3 and levels.shape == (48,)
    if augmentation:  # s ~ U{0..300}, one per sample
        assert levels.min() >= 0 and levels.max() <= 300 and levels.unique().numel() > 20
    else:  # the ablation: clean conditioning, level 0
        assert torch.equal(levels, torch.zeros(48))
    # the conditioning image is the (augmented) low-resolution image upsampled to 8x8
    cond = calls[0]["cond"]
    assert cond.shape == (16, 1, 8, 8)
    clean = F.interpolate(resize(next(iter(dm.train_dataloader()))[0], 4), size=8, mode="bilinear")
    assert torch.allclose(cond, clean, atol=1e-5) is (not augmentation)


def test_the_sampling_level_reaches_the_sr_model_and_changes_its_output():
    torch.manual_seed(0)
    model = tiny_sr(sampling_augmentation_level=50).eval()
    calls = record_denoiser_inputs(model)
    low = torch.rand(2, 1, 4, 4) * 2 - 1
    a = model.upsample(low, seed=0, steps=2, progress=False)
    assert a.shape == (2, 1, 8, 8)
    assert all(torch.equal(c["cond_level"], torch.full((2,), 50.0)) for c in calls)
    calls.clear()
    b = model.upsample(low, seed=0, steps=2, augmentation_level=0, progress=False)
    assert all(torch.equal(c["cond_level"], torch.zeros(2)) for c in calls)
    assert (a - b).abs().max() > 1e-4  # the level is an input the U-Net uses (diffusers' timestep-type embedding)
    with torch.no_grad():
        x, t, cond = torch.randn(2, 1, 8, 8), torch.tensor([10, 10]), torch.randn(2, 1, 8, 8)
        out0 = model.denoiser(x, t, cond, cond_level=torch.zeros(2))
        out1 = model.denoiser(x, t, cond, cond_level=torch.full((2,), 200.0))
    assert (out0 - out1).abs().max() > 1e-4


def test_sr_stage_errors():
    model = tiny_sr()
    with pytest.raises(ValueError, match="generates from a condition image.*--ckpt base.ckpt --ckpt sr.ckpt"):
        model.sample(2)
    with pytest.raises(ValueError, match=r"takes 1x4x4 inputs, got \(1, 8, 8\)"):
        model.upsample(torch.zeros(1, 1, 8, 8), progress=False)
    with pytest.raises(ValueError, match="cond_channels=1, cond_level_input=true"):
        from lightning_gen.models import SuperResolutionDDPM

        SuperResolutionDDPM(tiny_ddpm().denoiser, low_res_size=4)


@pytest.mark.slow
def test_cli_chains_base_and_sr_checkpoints(mnist_root, tmp_path, capsys):
    torch.manual_seed(0)
    base = tiny_ddpm(size=4, num_classes=10, label_dropout=0.1)  # a 4x4 class-conditional base ...
    sr = tiny_sr(size=8, low=4)  # ... and a 4 -> 8 super-resolution stage, each its own run and checkpoint
    paths = []
    for name, model, size in (("base", base, 4), ("sr", sr, 8)):
        t = trainer(tmp_path / name, max_steps=2, limit_val_batches=1)
        t.fit(model, mnist_dm(mnist_root, size=size))
        paths.append(str(tmp_path / f"{name}.ckpt"))
        t.save_checkpoint(paths[-1])
    out = tmp_path / "cascade.png"
    args = ["sample", "--ckpt", paths[0], "--ckpt", paths[1], "--num", "4", "--label", "7", "--steps", "3", "--out"]
    assert main([*args, str(out)]) == 0 and out.is_file()
    folder = tmp_path / "each"
    assert main([*args, str(folder)]) == 0
    from PIL import Image

    assert Image.open(folder / "000000.png").size == (8, 8)
    capsys.readouterr()
    assert main(["sample", "--ckpt", paths[1], "--ckpt", paths[0], "--num", "2", "--out", str(out)]) == 2
    assert "SuperResolutionDDPM generates from a condition image" in capsys.readouterr().err
    assert main(["sample", "--ckpt", paths[0], "--ckpt", paths[0], "--num", "2", "--out", str(out)]) == 2
    assert "Cascade stage 2 is a DDPM, which cannot upsample" in capsys.readouterr().err
