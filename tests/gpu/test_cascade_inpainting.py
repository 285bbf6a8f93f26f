"""The cascade and inpainting commands on CUDA with seeds (issue 12, defect 4): ``lightning-gen sample --ckpt
base --ckpt sr --seed``, ``superres --seed`` and ``inpaint --seed`` raised or drew on the wrong device before.
Checkpoints come from a real one-step GPU fit of tiny models on made-up 8x8 images."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from lightning_gen.cli import main
from tests.helpers import image_loader, trainer
from tests.models.diffusion_helpers import tiny_ddpm, tiny_sr


def _fit_on_gpu(model, folder: Path) -> str:
    t = trainer(folder, accelerator="gpu", max_steps=1, limit_val_batches=0)
    t.fit(model, image_loader(n=32, size=8, batch_size=8))
    path = folder / "model.ckpt"
    t.save_checkpoint(path)
    return str(path)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("gpu_ckpts")
    return {"base": _fit_on_gpu(tiny_ddpm(size=4), root / "base"), "sr": _fit_on_gpu(tiny_sr(size=8, low=4), root / "sr"),
            "ddpm8": _fit_on_gpu(tiny_ddpm(size=8), root / "ddpm8")}  # fmt: skip


@pytest.fixture(scope="module")
def pngs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    gen = torch.Generator().manual_seed(0)
    for i in range(3):
        pixels = torch.randint(0, 256, (8, 8), generator=gen, dtype=torch.uint8).numpy()
        Image.fromarray(pixels, mode="L").save(folder / f"in{i}.png")
    return folder


def _pixels(folder: Path) -> list[bytes]:
    return [Image.open(p).tobytes() for p in sorted(folder.glob("*.png"))]


def _twice_and_other_seed(tmp_path: Path, args: list[str], out_flag_is_file: bool = False) -> None:
    runs = []
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        out = tmp_path / name
        target = out / "grid.png" if out_flag_is_file else out
        out.mkdir()
        assert main([*args, "--out", str(target), "--seed", str(seed), "--device", "cuda"]) == 0
        runs.append(_pixels(out))
    assert runs[0] and runs[0] == runs[1], "the same seed gave different images on CUDA"
    assert runs[0] != runs[2], "seeds 0 and 1 gave the same images"


def test_cascade_sample_with_seed_on_cuda(checkpoints, tmp_path):
    _twice_and_other_seed(tmp_path, ["sample", "--ckpt", checkpoints["base"], "--ckpt", checkpoints["sr"],
                                     "--num", "4", "--steps", "3"], out_flag_is_file=True)  # fmt: skip


def test_superres_with_seed_on_cuda(checkpoints, pngs, tmp_path):
    _twice_and_other_seed(tmp_path, ["superres", "--ckpt", checkpoints["sr"], "--input", str(pngs), "--steps", "3"])


def test_inpaint_with_seed_on_cuda(checkpoints, pngs, tmp_path):
    _twice_and_other_seed(tmp_path, ["inpaint", "--ckpt", checkpoints["ddpm8"], "--input", str(pngs), "--mask",
                                     "random", "--steps", "4", "--jumps", "2", "--resample", "2"])  # fmt: skip


def test_sr_validation_grid_is_seeded_on_cuda(tmp_path, cuda):
    """The SR stage's validation grid (seeded with val_seed) raised on CUDA before defect 4's fix."""
    torch.manual_seed(0)
    model = tiny_sr(size=8, low=4, val_steps=2)
    loader = image_loader(n=32, size=8, batch_size=8)
    trainer(tmp_path, accelerator="gpu", max_epochs=1, limit_train_batches=1, limit_val_batches=1).fit(model, loader, loader)
    model.to(cuda)  # Lightning moves the module back to the CPU at the end of fit
    grid = model.validation_samples()
    assert grid.device.type == "cuda" and grid.shape == (3 * model.num_grid_images, 1, 8, 8)
    torch.testing.assert_close(grid, model.validation_samples(), rtol=1e-4, atol=1e-6)
