"""The `lightning-gen` command as a user types it: configs, overrides, sampling, bad input, DDP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from lightning_gen.cli import main
from tests.conftest import REPO_ROOT

CONFIGS = REPO_ROOT / "configs"
FOUNDATION = ["ae_mnist", "dcgan_ae_mnist", "gan_toy", "gan_mnist", "dcgan_mnist", "dcgan_cifar10",
              "dcgan_celeba", "cgan_mnist", "dcgan_digits"]


@pytest.fixture
def data_args(request):
    """`--data.root` for the configs whose data lives in ../shared/data (real data)."""

    def args(name: str) -> list[str]:
        if "mnist" in name:
            return ["--data.init_args.root", str(request.getfixturevalue("mnist_root"))]
        if "cifar10" in name:
            return ["--data.init_args.root", str(request.getfixturevalue("cifar_root"))]
        if "celeba" in name:
            return ["--data.init_args.root", str(request.getfixturevalue("shared_data") / "celeba")]
        return []

    return args


def small(name: str) -> list[str]:
    return [] if name == "gan_toy" else ["--data.init_args.batch_size", "8"]


@pytest.mark.parametrize("name", FOUNDATION)
def test_fast_dev_run_on_real_data(name, data_args, tmp_path):
    main(["fit", "--config", str(CONFIGS / f"{name}.yaml"), "--trainer.fast_dev_run", "true",
          "--trainer.default_root_dir", str(tmp_path), *data_args(name), *small(name)])


@pytest.mark.parametrize("name", FOUNDATION)
def test_short_real_run_then_sample_from_checkpoint_alone(name, data_args, tmp_path, capsys):
    main(["fit", "--config", str(CONFIGS / f"{name}.yaml"), "--trainer.max_steps", "4",
          "--trainer.limit_val_batches", "2", "--trainer.num_sanity_val_steps", "0",
          "--trainer.default_root_dir", str(tmp_path), *data_args(name), *small(name)])
    out = capsys.readouterr().out
    ckpt = Path(out.split("Checkpoint: ")[1].split()[0])
    assert ckpt.is_file()
    if name == "gan_toy":
        from lightning_gen.sampling import load_model

        points = load_model(ckpt).sample(100, seed=0)
        assert points.shape == (100, 2)
        return
    grid = tmp_path / "grid.png"
    assert main(["sample", "--ckpt", str(ckpt), "--num", "9", "--out", str(grid), "--seed", "3"]) == 0
    again = tmp_path / "again.png"
    assert main(["sample", "--ckpt", str(ckpt), "--num", "9", "--out", str(again), "--seed", "3"]) == 0
    assert grid.read_bytes() == again.read_bytes()  # same seed, same images
    assert Image.open(grid).size[0] > 0


def test_sample_options_folder_label_and_no_ema(data_args, tmp_path, capsys):
    main(["fit", "--config", str(CONFIGS / "cgan_mnist.yaml"), "--trainer.max_steps", "2",
          "--trainer.limit_val_batches", "2", "--trainer.default_root_dir", str(tmp_path),
          *data_args("cgan_mnist"), *small("cgan")])
    ckpt = capsys.readouterr().out.split("Checkpoint: ")[1].split()[0]
    out_dir = tmp_path / "samples"
    assert main(["sample", "--ckpt", ckpt, "--num", "5", "--out", str(out_dir), "--label", "7"]) == 0
    files = sorted(out_dir.glob("*.png"))
    assert len(files) == 5 and Image.open(files[0]).size == (32, 32)
    a, b = tmp_path / "ema.png", tmp_path / "raw.png"
    main(["sample", "--ckpt", ckpt, "--num", "4", "--out", str(a)])
    main(["sample", "--ckpt", ckpt, "--num", "4", "--out", str(b), "--no-ema"])
    assert a.read_bytes() != b.read_bytes()
    # an option that does not apply to this model is named
    assert main(["sample", "--ckpt", ckpt, "--num", "4", "--out", str(a), "--sampler", "ddim"]) == 2
    assert "--sampler does not apply to a ConditionalGAN checkpoint" in capsys.readouterr().err


def test_reconstruct_autoencoder(data_args, tmp_path, capsys):
    root = str(data_args("ae_mnist")[1])
    main(["fit", "--config", str(CONFIGS / "dcgan_ae_mnist.yaml"), "--trainer.max_steps", "3",
          "--trainer.limit_val_batches", "2", "--trainer.default_root_dir", str(tmp_path),
          "--data.init_args.root", root, *small("ae")])
    ckpt = capsys.readouterr().out.split("Checkpoint: ")[1].split()[0]
    out = tmp_path / "recon.png"
    assert main(["reconstruct", "--ckpt", ckpt, "--data", f"mnist:{root}", "--num", "8", "--out", str(out)]) == 0
    assert Image.open(out).size == (2 + 8 * 34, 2 + 2 * 34)  # 1 row of originals + 1 of reconstructions
    # a GAN checkpoint cannot reconstruct
    main(["fit", "--config", str(CONFIGS / "dcgan_digits.yaml"), "--trainer.max_steps", "2",
          "--trainer.limit_val_batches", "2", "--trainer.default_root_dir", str(tmp_path / "gan")])
    gan_ckpt = capsys.readouterr().out.split("Checkpoint: ")[1].split()[0]
    assert main(["reconstruct", "--ckpt", gan_ckpt, "--data", "digits", "--out", str(out)]) == 2
    assert "reconstruct needs an AutoEncoder" in capsys.readouterr().err


def test_print_config_and_overrides(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(CONFIGS / "dcgan_digits.yaml"), "--model.init_args.lr_g", "0.001",
              "--trainer.max_epochs", "3", "--print_config"])
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    assert "lr_g: 0.001" in printed and "max_epochs: 3" in printed
    assert "class_path: lightning_gen.nn.DCGANGenerator" in printed


@pytest.mark.parametrize(
    "override, message",
    [
        (["--model.init_args.lr_gen", "0.1"], "lr_gen"),  # a typo is reported, never swallowed
        (["--model.init_args.loss", "wgan"], "wgan"),
        (["--trainer.max_epoch", "3"], "max_epoch"),
        (["--data.init_args.img_size", "32"], "img_size"),
    ],
)
def test_wrong_config_keys_are_errors(override, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(CONFIGS / "dcgan_digits.yaml"), *override])
    assert exit_info.value.code != 0
    assert message in capsys.readouterr().err


def test_unsupported_image_size_is_named(tmp_path, capsys):
    with pytest.raises((SystemExit, ValueError)) as info:
        main(["fit", "--config", str(CONFIGS / "dcgan_digits.yaml"), "--trainer.fast_dev_run", "true",
              "--model.init_args.generator.init_args.image_size", "28",
              "--trainer.default_root_dir", str(tmp_path)])
    text = str(info.value) + capsys.readouterr().err
    assert "image_size=28 is not supported" in text


def test_missing_data_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"(?s)train-images-idx3-ubyte.*download=True"):
        main(["fit", "--config", str(CONFIGS / "dcgan_mnist.yaml"), "--trainer.fast_dev_run", "true",
              "--data.init_args.root", str(tmp_path / "nowhere"), "--trainer.default_root_dir", str(tmp_path)])


def test_sample_bad_input(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["sample", "--ckpt", "x.ckpt", "--num", "0", "--out", str(tmp_path / "a.png")])
    assert info.value.code == 2 and "must be >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sample", "--ckpt", "x.ckpt", "--num", "-3", "--out", str(tmp_path / "a.png")])
    assert main(["sample", "--ckpt", str(tmp_path / "missing.ckpt"), "--out", str(tmp_path / "a.png")]) == 2
    assert "Checkpoint not found" in capsys.readouterr().err
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"\x00" * 100)
    assert main(["sample", "--ckpt", str(junk), "--out", str(tmp_path / "a.png")]) == 2
    assert "not a readable PyTorch checkpoint" in capsys.readouterr().err
    other = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "epoch": 3}, other)
    assert main(["sample", "--ckpt", str(other), "--out", str(tmp_path / "a.png")]) == 2
    assert "not a lightning-gen checkpoint" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("name", ["dcgan_digits", "cgan_mnist"])
def test_ddp_two_processes(name, data_args, tmp_path):
    """`--trainer.strategy ddp --trainer.devices 2` with the real launcher (2 processes, gloo on CPU)."""
    dump = tmp_path / "weights"
    cmd = [sys.executable, "-m", "lightning_gen", "fit", "--config", str(CONFIGS / f"{name}.yaml"),
           "--trainer.strategy", "ddp_find_unused_parameters_true", "--trainer.devices", "2", "--trainer.accelerator", "cpu",
           "--trainer.max_steps", "6", "--trainer.limit_val_batches", "2", "--trainer.num_sanity_val_steps", "0",
           "--trainer.default_root_dir", str(tmp_path), "--trainer.enable_progress_bar", "false",
           "--trainer.callbacks+=tests.helpers.DumpWeights", f"--trainer.callbacks.dirpath={dump}",
           *data_args(name), *small(name)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "not recommended to provide both args" not in proc.stderr  # the CLI reads sys.argv once
    assert "expected to have finished reduction" not in proc.stderr.lower()  # DDP was told about the phases
    r0, r1 = torch.load(dump / "rank0.pt"), torch.load(dump / "rank1.pt")
    assert torch.equal(r0, r1)  # gradients were all-reduced: both ranks hold the same G, D and EMA


def test_resume_with_ckpt_path_last(tmp_path, capsys):
    base = ["fit", "--config", str(CONFIGS / "dcgan_digits.yaml"), "--trainer.default_root_dir", str(tmp_path),
            "--trainer.limit_train_batches", "3", "--trainer.limit_val_batches", "2",
            "--data.init_args.batch_size", "8", "--trainer.enable_progress_bar", "false"]
    main([*base, "--trainer.max_epochs", "1"])
    first = capsys.readouterr().out.split("Checkpoint: ")[1].split()[0]
    main([*base, "--trainer.max_epochs", "2", "--ckpt_path", "last"])
    out = capsys.readouterr().out
    assert f"Resuming from {first}" in out
    resumed = out.split("Checkpoint: ")[1].split()[0]
    assert torch.load(resumed, weights_only=True)["global_step"] == 12  # 2 epochs x 3 batches x (D + G)


def test_resume_last_without_checkpoint_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no last.ckpt under"):
        main(["fit", "--config", str(CONFIGS / "dcgan_digits.yaml"), "--trainer.default_root_dir", str(tmp_path),
              "--ckpt_path", "last"])


def test_validate_test_predict_subcommands(tmp_path, capsys):
    base = ["--config", str(CONFIGS / "dcgan_digits.yaml"), "--trainer.default_root_dir", str(tmp_path),
            "--data.init_args.batch_size", "8", "--trainer.enable_progress_bar", "false"]
    main(["fit", *base, "--trainer.max_steps", "2", "--trainer.limit_val_batches", "2"])
    ckpt = capsys.readouterr().out.split("Checkpoint: ")[1].split()[0]
    main(["validate", *base, "--ckpt_path", ckpt, "--trainer.limit_val_batches", "2"])
    assert "val/d_real" in capsys.readouterr().out
    main(["test", *base, "--ckpt_path", ckpt, "--trainer.limit_test_batches", "2"])
    assert "test/d_fake" in capsys.readouterr().out
    main(["predict", *base, "--ckpt_path", ckpt, "--trainer.limit_predict_batches", "1"])
