"""Hyper-parameters (issue 12, defect 12): saved explicitly per family, a checkpoint keeps exactly the arguments
its class's constructor takes (so it loads from the checkpoint alone, also when LightningCLI built the model),
subclasses state only what they add or change, and one label rule serves the GANs and DDPM."""

from __future__ import annotations

import inspect

import pytest
import torch
from jsonargparse import ArgumentParser
from lightning.pytorch.core.mixins.hparams_mixin import _given_hyperparameters_context

from lightning_gen.models import DDPM, GAN, BigBiGAN, BigGAN, ConditionalGAN, UnrolledGAN
from lightning_gen.models import base as base_module
from lightning_gen.models.base import CHECKPOINT_KEY, constructor_arguments
from lightning_gen.models.labels import sampling_labels
from lightning_gen.nn import BigBiGANDiscriminator, BigBiGANEncoder, BigGANDiscriminator, BigGANGenerator
from tests.helpers import image_loader, tiny_dcgan, trainer
from tests.models.diffusion_helpers import tiny_unet


def bigbigan(**options) -> BigBiGAN:
    return BigBiGAN(BigGANGenerator(latent_dim=16, num_classes=0, channels=1, width=4),
                    BigBiGANEncoder(channels=1, latent_dim=16, width=4, hidden_dim=16),
                    BigBiGANDiscriminator(channels=1, latent_dim=16, width=4, hidden_dim=16), **options)


def biggan(**options) -> BigGAN:
    return BigGAN(BigGANGenerator(latent_dim=16, num_classes=10, channels=1, width=4, shared_dim=8),
                  BigGANDiscriminator(num_classes=10, channels=1, width=4), **options)


def fit_and_save(model, tmp_path, loader=None) -> str:
    t = trainer(tmp_path, max_steps=2, limit_val_batches=0, enable_checkpointing=False)
    t.fit(model, loader or image_loader(16, batch_size=8))
    path = str(tmp_path / "model.ckpt")
    t.save_checkpoint(path)
    return path


CASES = {
    "cgan": (lambda: ConditionalGAN(*tiny_dcgan(num_classes=10), samples_per_class=1, lr_d=1e-3),
             ConditionalGAN, {"samples_per_class": 1, "lr_d": 1e-3}),
    "unrolled": (lambda: UnrolledGAN(*tiny_dcgan(norm="none"), unroll_steps=1, unroll_optimizer="sgd", lr_g=3e-4),
                 UnrolledGAN, {"unroll_steps": 1, "unroll_optimizer": "sgd", "lr_g": 3e-4}),
    "biggan": (lambda: biggan(ortho_beta=1e-3, samples_per_class=1, ema_decay=0.5, gradient_clip_val=2.0),
               BigGAN, {"ortho_beta": 1e-3, "samples_per_class": 1, "ema_decay": 0.5, "gradient_clip_val": 2.0}),
    "bigbigan": (lambda: bigbigan(lr_e=1e-3, d_steps_per_g_step=1, num_val_samples=4),
                 BigBiGAN, {"lr_e": 1e-3, "d_steps_per_g_step": 1, "num_val_samples": 4}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_subclass_checkpoint_holds_exactly_its_constructor_arguments_and_loads_alone(name, tmp_path):
    build, cls, chosen = CASES[name]
    torch.manual_seed(0)
    loader = image_loader(16, size=32 if "big" in name else 16, batch_size=8)
    path = fit_and_save(build(), tmp_path, loader)
    saved = torch.load(path, weights_only=True)["hyper_parameters"]
    # the old _save_hparams added _class_path and the parent's own options (BigBiGAN: loss, real_label_range)
    assert set(saved) <= constructor_arguments(cls), set(saved) - constructor_arguments(cls)
    assert "_class_path" not in saved and "_instantiator" not in saved
    assert {k: saved[k] for k in chosen} == chosen
    loaded = cls.load_from_checkpoint(path)  # from the checkpoint alone: networks and options
    assert type(loaded) is cls and {k: loaded.hparams[k] for k in chosen} == chosen


def test_a_bigbigan_built_by_lightningcli_loads_from_its_checkpoint(tmp_path):
    """LightningCLI hands the model its configured arguments; BigBiGAN's checkpoint used to carry GAN's
    ``loss`` and ``real_label_range`` as well, and loading failed: BigBiGAN.__init__() got an unexpected
    keyword argument 'loss' (issue 12, defect 7's first failure)."""
    configured = {"_class_path": "lightning_gen.models.BigBiGAN", "d_steps_per_g_step": 1, "lr_e": 1e-3}
    with _given_hyperparameters_context(hparams=configured, instantiator="lightning.pytorch.cli.instantiate_module"):
        model = bigbigan(d_steps_per_g_step=1, lr_e=1e-3)
    assert model.hparams.loss == "hinge"  # the parent's loop still reads the option BigBiGAN fixes
    path = fit_and_save(model, tmp_path, image_loader(16, size=32, batch_size=8))
    saved = torch.load(path, weights_only=True)["hyper_parameters"]
    assert "loss" not in saved and "real_label_range" not in saved and "_class_path" not in saved
    assert BigBiGAN.load_from_checkpoint(path).hparams.lr_e == 1e-3


def test_a_checkpoint_of_the_earlier_format_still_loads(tmp_path):
    """Earlier checkpoints carried _class_path and the options a subclass fixes (ConditionalGAN's
    num_val_samples); a class forwarding **options would pass them on, so loading drops them."""
    torch.manual_seed(0)
    path = fit_and_save(ConditionalGAN(*tiny_dcgan(num_classes=10), samples_per_class=1), tmp_path)
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["hyper_parameters"].update(_class_path="lightning_gen.models.ConditionalGAN", num_val_samples=10)
    torch.save(checkpoint, path)
    loaded = ConditionalGAN.load_from_checkpoint(path)
    assert loaded.fixed_noise.shape[0] == 10 and loaded.hparams.samples_per_class == 1


def test_subclasses_state_only_what_they_add_or_change():
    gan = set(inspect.signature(GAN.__init__).parameters)
    own = {
        ConditionalGAN: {"num_classes", "samples_per_class"},
        UnrolledGAN: {"unroll_steps", "unroll_optimizer"},
        BigGAN: {"num_classes", "ortho_beta", "loss", "d_steps_per_g_step", "betas_g", "betas_d", "ema_decay"},
        BigBiGAN: {"encoder", "lr_e", "d_steps_per_g_step", "betas_g", "betas_d"},
    }
    for cls, added in own.items():
        named = set(inspect.signature(cls.__init__).parameters) - {"self", "generator", "discriminator", "options"}
        assert named == added, cls.__name__
        assert named & gan <= {"loss", "d_steps_per_g_step", "betas_g", "betas_d", "ema_decay"}  # changed defaults
    # the command line still offers every option, with the subclass's defaults, and not the fixed ones
    parser = ArgumentParser()
    parser.add_class_arguments(BigGAN, "model")
    defaults = parser.get_defaults().model
    assert defaults.loss == "hinge" and defaults.lr_g == 2e-4 and defaults.samples_per_class == 8
    assert defaults.gradient_clip_val is None and "num_val_samples" not in defaults
    parser = ArgumentParser()
    parser.add_class_arguments(BigBiGAN, "model")
    assert "loss" not in parser.get_defaults().model and "real_label_range" not in parser.get_defaults().model
    with pytest.raises(ValueError, match="ConditionalGAN sets num_val_samples itself"):
        ConditionalGAN(*tiny_dcgan(num_classes=10), num_val_samples=3)


def test_no_stack_frame_introspection_is_left_in_the_base_module():
    source = inspect.getsource(base_module)
    assert "_caller_frame" not in source and "co_varnames" not in source and "f_back" not in source


def test_one_label_rule_for_the_gans_and_ddpm():
    cgan = ConditionalGAN(*tiny_dcgan(num_classes=10))
    ddpm = DDPM(tiny_unet(8, num_classes=10), ema_decay=None, val_steps=2, num_val_samples=4)
    for labels in (None, 3, torch.tensor([9, 0, 4, 4, 1, 2, 3])):
        expected = sampling_labels(7, labels, 10, "cpu")
        assert torch.equal(cgan.sample_labels(7, labels), expected)
        assert torch.equal(ddpm.sample_labels(7, labels), expected)
    assert sampling_labels(12, None, 10, "cpu").tolist() == [i % 10 for i in range(12)]
    for model in (cgan, ddpm):
        with pytest.raises(ValueError, match=r"Labels must lie in \[0, 9\], got min 0 max 10"):
            model.sample_labels(2, torch.tensor([0, 10]))
        with pytest.raises(ValueError, match="Got 3 labels for 2 samples"):
            model.sample_labels(2, torch.tensor([0, 1, 2]))
    for model in (GAN(*tiny_dcgan()), DDPM(tiny_unet(8), ema_decay=None, val_steps=2, num_val_samples=4)):
        assert model.sample_labels(3, None) is None
        with pytest.raises(ValueError, match="unconditional"):
            model.sample_labels(3, 1)


def test_the_checkpoint_names_the_model_class_for_the_cli(tmp_path):
    torch.manual_seed(0)
    path = fit_and_save(UnrolledGAN(*tiny_dcgan(norm="none"), unroll_steps=1), tmp_path)
    assert torch.load(path, weights_only=True)[CHECKPOINT_KEY]["model"] == "lightning_gen.models.unrolled_gan.UnrolledGAN"


def test_cli_validate_and_test_from_the_checkpoint_of_a_forwarding_subclass(tmp_path, capsys):
    """``lightning-gen validate|test --ckpt_path`` merge the checkpoint's hyper-parameters into the config:
    they must be arguments the class (here UnrolledGAN, whose GAN options arrive through ``**options``) takes."""
    import glob
    from pathlib import Path

    from lightning_gen.cli import main

    config = str(Path(__file__).resolve().parents[2] / "configs" / "unrolled_gan_toy.yaml")
    small = ["--config", config, "--data.num_samples", "400", "--data.val_samples", "64", "--trainer.logger=false",
             f"--trainer.default_root_dir={tmp_path}", "--trainer.enable_progress_bar=false"]
    main(["fit", *small, "--model.unroll_steps", "1", "--model.lr_d", "1e-3", "--trainer.max_steps=4",
          "--trainer.limit_val_batches=0"])
    (ckpt,) = glob.glob(str(tmp_path / "**" / "last.ckpt"), recursive=True)
    assert torch.load(ckpt, weights_only=True)["hyper_parameters"]["lr_d"] == 1e-3
    capsys.readouterr()
    main(["validate", *small, "--ckpt_path", ckpt, "--trainer.limit_val_batches=1"])
    assert "val/d_real" in capsys.readouterr().out
    main(["test", *small, "--ckpt_path", ckpt, "--trainer.limit_test_batches=1"])
    assert "test/d_fake" in capsys.readouterr().out
    # a checkpoint of the earlier format: _class_path and a key the class no longer takes
    checkpoint = torch.load(ckpt, weights_only=True)
    checkpoint["hyper_parameters"].update(_class_path="lightning_gen.models.UnrolledGAN", obsolete_option=1)
    torch.save(checkpoint, tmp_path / "old.ckpt")
    main(["validate", *small, "--ckpt_path", str(tmp_path / "old.ckpt"), "--trainer.limit_val_batches=1"])
    assert "val/d_real" in capsys.readouterr().out


def test_an_exported_subclass_loads_with_its_constructor_arguments(tmp_path):
    """``lightning-gen export`` writes the hyper-parameters the class takes (in memory, ConditionalGAN also
    holds GAN's num_val_samples, which it sets itself and refuses as an argument)."""
    from lightning_gen.cli import main
    from lightning_gen.sampling import load_model

    torch.manual_seed(0)
    path = fit_and_save(ConditionalGAN(*tiny_dcgan(num_classes=10), samples_per_class=1), tmp_path)
    assert main(["export", "--ckpt", path, "--out", str(tmp_path / "export")]) == 0
    exported = load_model(tmp_path / "export")
    assert isinstance(exported, ConditionalGAN) and exported.hparams.samples_per_class == 1
    torch.testing.assert_close(exported.sample(10, seed=1), load_model(path).sample(10, seed=1))
