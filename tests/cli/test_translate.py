"""``lightning-gen translate``: a CycleGAN checkpoint, a file or folder of images in, one PNG per image out."""

from pathlib import Path

import pytest
import torch
from PIL import Image

from lightning_gen.cli import main
from lightning_gen.utils.images import load_image, save_grid
from tests.helpers import trainer
from tests.models.cycle_helpers import pair_loader, tiny_cogan, tiny_cyclegan


@pytest.fixture(scope="module")
def cyclegan_ckpt(tmp_path_factory) -> Path:
    """A tiny CycleGAN trained 2 steps on 16x16 grayscale images."""
    tmp = tmp_path_factory.mktemp("cyclegan")
    t = trainer(tmp, max_steps=2, max_epochs=1)
    t.fit(tiny_cyclegan(), pair_loader(size=16))
    t.save_checkpoint(tmp / "cyclegan.ckpt")
    return tmp / "cyclegan.ckpt"


def _write_inputs(folder: Path) -> list[Path]:
    gen = torch.Generator().manual_seed(0)
    paths = [folder / "one.png", folder / "sub" / "two.jpg", folder / "three.png"]
    for i, path in enumerate(paths):
        save_grid(
            torch.rand(1, 3, 20 + 4 * i, 24, generator=gen) * 2 - 1, path, nrow=1, padding=0
        )  # RGB, odd sizes
    (folder / "notes.txt").write_text("not an image")
    return paths


def test_translates_a_folder_at_the_training_size(tmp_path, cyclegan_ckpt):
    inputs = _write_inputs(tmp_path / "in")
    grid = tmp_path / "grid.png"
    code = main(
        ["translate", "--ckpt", str(cyclegan_ckpt), "--direction", "a2b", "--input", str(tmp_path / "in"),
         "--out", str(tmp_path / "out"), "--grid", str(grid)]
    )  # fmt: skip
    assert code == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(f"{p.stem}.png" for p in inputs)
    for name in written:
        assert Image.open(tmp_path / "out" / name).size == (16, 16)  # resized to the recorded training size
    assert grid.is_file()


def test_output_is_the_model_translation(tmp_path, cyclegan_ckpt):
    from lightning_gen.data.transforms import center_crop_resize
    from lightning_gen.sampling import load_model

    path = _write_inputs(tmp_path / "in")[0]
    assert main(["translate", "--ckpt", str(cyclegan_ckpt), "--direction", "b2a", "--input", str(path),
                 "--out", str(tmp_path / "out"), "--size", "8"]) == 0  # fmt: skip
    model = load_model(cyclegan_ckpt)
    expected = model.translate(center_crop_resize(load_image(path, "L"), 8)[None], "b2a")
    got = load_image(tmp_path / "out" / "one.png", "L")
    assert got.shape == (1, 8, 8)
    assert (got - expected[0]).abs().max() <= 1 / 127.5 + 1e-6  # up to 8-bit rounding


def test_errors_name_the_problem(tmp_path, cyclegan_ckpt, capsys):
    out = str(tmp_path / "out")
    assert (
        main(
            [
                "translate",
                "--ckpt",
                str(cyclegan_ckpt),
                "--direction",
                "a2b",
                "--input",
                str(tmp_path / "nope"),
                "--out",
                out,
            ]
        )
        == 2
    )
    assert "no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert (
        main(
            [
                "translate",
                "--ckpt",
                str(cyclegan_ckpt),
                "--direction",
                "a2b",
                "--input",
                str(tmp_path / "empty"),
                "--out",
                out,
            ]
        )
        == 2
    )
    assert "No images" in capsys.readouterr().err
    t = trainer(tmp_path, max_steps=2)
    t.fit(tiny_cogan(), pair_loader())
    t.save_checkpoint(tmp_path / "cogan.ckpt")
    _write_inputs(tmp_path / "in")
    assert (
        main(
            [
                "translate",
                "--ckpt",
                str(tmp_path / "cogan.ckpt"),
                "--direction",
                "a2b",
                "--input",
                str(tmp_path / "in"),
                "--out",
                out,
            ]
        )
        == 2
    )
    assert "translate needs a CycleGAN" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: --direction is closed
        main(
            [
                "translate",
                "--ckpt",
                str(cyclegan_ckpt),
                "--direction",
                "ab",
                "--input",
                str(tmp_path / "in"),
                "--out",
                out,
            ]
        )
