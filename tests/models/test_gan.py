"""GAN / ConditionalGAN training mechanics on data the tests make (real Trainer runs on CPU)."""

import glob
import math

import lightning.pytorch as pl
import pytest
import torch

from lightning_gen.data import DigitsDataModule
from lightning_gen.models import GAN, AutoEncoder, ConditionalGAN, NonFiniteLossError
from tests.helpers import image_loader, state_vector, tiny_dcgan, trainer


def _grads(module):
    return [None if p.grad is None else p.grad.clone() for p in module.parameters()]


def _same(a, b):
    return all((x is None and y is None) or (x is not None and y is not None and torch.equal(x, y)) for x, y in zip(a, b, strict=True))


class PhaseProbe(GAN):
    """Records, for every phase, whether new gradients reached G and D."""

    def optimization_step(self, optimizer, loss, phase, *, step=True):
        g_before, d_before = _grads(self.generator), _grads(self.discriminator)
        super().optimization_step(optimizer, loss, phase, step=step)
        g_after, d_after = _grads(self.generator), _grads(self.discriminator)
        self.phases.append((phase, not _same(g_before, g_after), not _same(d_before, d_after)))


@pytest.mark.parametrize("loss", ["minimax", "non_saturating"])
def test_each_phase_updates_only_its_own_network(tmp_path, loss):
    pl.seed_everything(0)
    g, d = tiny_dcgan()
    model = PhaseProbe(g, d, loss=loss)
    model.phases = []
    g0, d0 = state_vector(g), state_vector(d)
    trainer(tmp_path, max_steps=4).fit(model, image_loader())
    assert model.phases == [
        ("discriminator", False, True),
        ("generator", True, False),
        ("discriminator", False, True),
        ("generator", True, False),
    ]
    assert not torch.equal(g0, state_vector(g)) and not torch.equal(d0, state_vector(d))
    # toggling restored requires_grad everywhere
    assert all(p.requires_grad for p in model.generator.parameters())
    assert all(p.requires_grad for p in model.discriminator.parameters())


def test_d_steps_per_g_step_and_step_counting(tmp_path):
    model = PhaseProbe(*tiny_dcgan(), d_steps_per_g_step=2)
    model.phases = []
    t = trainer(tmp_path, max_epochs=1)
    t.fit(model, image_loader(n=64, batch_size=16))  # 4 batches
    names = [p[0] for p in model.phases]
    assert names == ["discriminator", "discriminator", "generator"] * 2
    assert t.global_step == 6  # Lightning counts every optimizer step (docs/architecture.md)


class ConfidentD(torch.nn.Module):
    """A discriminator that says 'real' with logit ~5 for everything (bias 5)."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(16 * 16, 1)
        torch.nn.init.zeros_(self.lin.weight)
        torch.nn.init.constant_(self.lin.bias, 5.0)

    def forward(self, x):
        return self.lin(x.flatten(1)).view(-1)


def test_one_sided_label_smoothing_changes_the_real_term(tmp_path):
    losses = {}
    for smoothing in (None, (0.7, 0.9)):
        pl.seed_everything(0)
        g, _ = tiny_dcgan()
        model = GAN(g, ConfidentD(), real_label_range=smoothing)
        t = trainer(tmp_path, max_steps=1, log_every_n_steps=1)
        t.fit(model, image_loader())
        losses[smoothing] = t.callback_metrics["train/d_loss"].item()
    # hard targets: -log sigmoid(5) + softplus(5) ~ 5.0; smoothed: + (1-t)*5 in expectation ~ +1.0
    assert 0.7 < losses[(0.7, 0.9)] - losses[None] < 1.3


def test_option_validation_lists_allowed_values():
    g, d = tiny_dcgan()
    with pytest.raises(ValueError, match=r"loss='wasserstein'.*'minimax', 'non_saturating'"):
        GAN(g, d, loss="wasserstein")
    with pytest.raises(ValueError, match="real_label_range"):
        GAN(g, d, real_label_range=(0.9, 0.7))
    with pytest.raises(ValueError, match="d_steps_per_g_step"):
        GAN(g, d, d_steps_per_g_step=0)
    with pytest.raises(ValueError, match="gradient_clip_algorithm"):
        GAN(g, d, gradient_clip_algorithm="max")
    with pytest.raises(TypeError):
        GAN(g, d, lr_gen=1e-3)  # a typo is an error, never swallowed


def test_ema_is_updated_saved_and_used_for_sampling(tmp_path):
    pl.seed_everything(0)
    model = GAN(*tiny_dcgan(), ema_decay=0.9)
    t = trainer(tmp_path, max_epochs=1, enable_checkpointing=True)
    t.fit(model, image_loader(n=64, batch_size=16))
    assert int(model.ema.num_updates) == 4
    assert not torch.equal(state_vector(model.ema.shadow), state_vector(model.generator))
    assert not torch.equal(model.sample(4, seed=0), model.sample(4, seed=0, use_ema=False))
    ckpt = glob.glob(f"{tmp_path}/**/*.ckpt", recursive=True)[0]
    loaded = GAN.load_from_checkpoint(ckpt)
    assert torch.equal(state_vector(loaded.ema.shadow), state_vector(model.ema.shadow))
    assert torch.allclose(loaded.sample(4, seed=3), model.sample(4, seed=3))


def test_sample_shape_range_determinism(tmp_path):
    model = GAN(*tiny_dcgan(size=32, channels=3))
    trainer(tmp_path, max_steps=2).fit(model, image_loader(size=32, channels=3))
    a = model.sample(16, seed=7)
    assert a.shape == (16, 3, 32, 32) and a.min() >= -1 and a.max() <= 1
    assert torch.equal(a, model.sample(16, seed=7))
    assert not torch.equal(a, model.sample(16, seed=8))
    with pytest.raises(ValueError, match=">= 1"):
        model.sample(0)
    with pytest.raises(ValueError, match="unconditional"):
        model.sample(2, labels=1)
    assert model.training  # sampling restored train mode


@pytest.mark.parametrize("threshold", [0.5, 1.0, 2.0])
def test_truncated_noise_is_the_truncated_normal_not_a_clamp(threshold):
    """Brock et al. (2019) resample |z| > t: the result is N(0, 1) truncated to [-t, t]. A clamp would put
    mass 2 * (1 - Phi(t)) exactly on +-t and a larger variance; resampling leaves no atom at the bound, keeps
    the entries already inside untouched, and has the truncated normal's variance
    1 - 2 t phi(t) / (2 Phi(t) - 1) (a hand computation here, scipy's truncnorm in the KS test)."""
    from scipy import stats

    from lightning_gen.models import truncated_noise

    z0 = torch.randn(40_000, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    z = truncated_noise(z0, threshold, torch.Generator().manual_seed(2))
    assert z.shape == z0.shape and z.dtype == z0.dtype and z.abs().max() <= threshold
    inside = z0.abs() <= threshold
    assert torch.equal(z[inside], z0[inside])  # kept, not redrawn
    # no atom at the bound: the share within 1e-3 of +-t is the density's, ~2e-3 * pdf(t) / Z, not ~32%
    normaliser = math.erf(threshold / math.sqrt(2))  # 2 Phi(t) - 1
    pdf = math.exp(-(threshold**2) / 2) / math.sqrt(2 * math.pi)
    near_bound = float((z.abs() > threshold - 1e-3).double().mean())
    assert near_bound < 3 * (2e-3 * pdf / normaliser) + 1e-3
    variance = 1 - 2 * threshold * pdf / normaliser
    standard_error = variance * math.sqrt(2 / z.numel()) * 2  # generous: the 4th moment is below Gaussian's
    assert float(z.var()) == pytest.approx(variance, abs=4 * standard_error)
    assert abs(float(z.mean())) < 4 * math.sqrt(variance / z.numel())
    assert stats.kstest(z.numpy(), stats.truncnorm(-threshold, threshold).cdf).pvalue > 1e-3


def test_conditional_gan_trains_and_samples_per_class(tmp_path):
    pl.seed_everything(0)
    g, d = tiny_dcgan(num_classes=10)
    model = ConditionalGAN(g, d, num_classes=10, samples_per_class=2, ema_decay=0.9)
    t = trainer(tmp_path, max_steps=4, enable_checkpointing=True)
    t.fit(model, image_loader())
    grid = model.validation_samples()
    assert grid.shape == (20, 1, 16, 16)
    assert model.validation_labels().tolist() == [c for c in range(10) for _ in range(2)]
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model.ema.shadow.eval()(z, torch.full((3,), 4))
    assert torch.allclose(model.sample(3, labels=4, seed=1), expected, atol=1e-6)
    assert not torch.equal(model.sample(3, labels=4, seed=1), model.sample(3, labels=5, seed=1))
    with pytest.raises(ValueError, match=r"Labels must lie in \[0, 9\]"):
        model.sample(2, labels=12)


def test_conditional_gan_checks_num_classes_and_batches():
    g, d = tiny_dcgan(num_classes=10)
    with pytest.raises(ValueError, match=r"num_classes=5\) but its generator was built with num_classes=10"):
        ConditionalGAN(g, d, num_classes=5)
    model = ConditionalGAN(g, d, num_classes=10)
    with pytest.raises(ValueError, match=r"\(images, labels\) batches"):
        model.split_batch(torch.zeros(2, 1, 16, 16))


def test_nan_loss_stops_with_phase_and_step_and_keeps_checkpoint(tmp_path):
    pl.seed_everything(0)
    model = GAN(*tiny_dcgan())
    t = trainer(tmp_path, max_epochs=1, enable_checkpointing=True)
    t.fit(model, image_loader())
    good = glob.glob(f"{tmp_path}/**/*.ckpt", recursive=True)
    assert len(good) == 1
    before = open(good[0], "rb").read()

    loader = image_loader()
    x, y = loader.dataset.tensors
    x = x.clone()
    x[20:] = float("nan")  # the second batch goes bad
    bad = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    model2 = GAN.load_from_checkpoint(good[0])
    t2 = trainer(tmp_path / "second", max_epochs=1, enable_checkpointing=True)
    with pytest.raises(NonFiniteLossError, match=r"discriminator loss is nan at global step 2 .*untouched"):
        t2.fit(model2, bad)
    assert open(good[0], "rb").read() == before
    assert all(torch.isfinite(p).all() for p in model2.parameters())  # the bad update never happened


class GradNormRecorder(pl.Callback):
    """The gradient norm each optimiser step applied (read by a step post-hook: the model clips in its
    on_before_optimizer_step, which runs inside step() and after the callbacks' own hook)."""

    def __init__(self):
        self.norms = []

    def on_train_start(self, trainer, pl_module):
        for optimizer in trainer.optimizers:
            optimizer.register_step_post_hook(self.record)

    def record(self, optimizer, args, kwargs):
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        self.norms.append(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])).item())


@pytest.mark.parametrize("clip", [None, 1e-3])
def test_gradient_clipping_is_a_model_option(tmp_path, clip):
    pl.seed_everything(0)
    rec = GradNormRecorder()
    model = GAN(*tiny_dcgan(), gradient_clip_val=clip)
    trainer(tmp_path, max_steps=4, callbacks=[rec]).fit(model, image_loader())
    assert len(rec.norms) == 4
    if clip is None:
        assert max(rec.norms) > 1e-2
    else:
        assert max(rec.norms) <= clip * (1 + 1e-4)


def test_bf16_mixed_precision_on_cpu(tmp_path):
    pl.seed_everything(0)
    model = GAN(*tiny_dcgan(), ema_decay=0.9)
    g0 = state_vector(model.generator)
    t = trainer(tmp_path, max_steps=6, precision="bf16-mixed", log_every_n_steps=1)
    t.fit(model, image_loader())
    assert torch.isfinite(t.callback_metrics["train/d_loss"]) and torch.isfinite(t.callback_metrics["train/g_loss"])
    assert not torch.equal(g0, state_vector(model.generator))
    assert model.generator.net[0].weight.dtype == torch.float32  # weights stay fp32 under mixed precision


def _fit(tmp_path, epochs, ckpt_path=None):
    pl.seed_everything(0)
    model = GAN(*tiny_dcgan(), ema_decay=0.9, real_label_range=(0.7, 0.9))
    t = trainer(tmp_path, max_epochs=epochs, enable_checkpointing=True, num_sanity_val_steps=2,
                limit_val_batches=1)
    # real bundled digits, shuffled differently every epoch, with a validation loop
    t.fit(model, DigitsDataModule(image_size=16, batch_size=16, limit=64), ckpt_path=ckpt_path)
    return model, t


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    straight, _ = _fit(tmp_path / "a", 2)
    _, first = _fit(tmp_path / "b", 1)
    ckpt = first.checkpoint_callback.best_model_path or glob.glob(f"{tmp_path}/b/**/*.ckpt", recursive=True)[0]
    resumed, t = _fit(tmp_path / "c", 2, ckpt_path=ckpt)
    assert t.global_step == 16  # 2 epochs x 4 batches x (D + G)
    assert torch.equal(state_vector(straight), state_vector(resumed))  # G, D, EMA and fixed noise
    # both optimizers' states came back too
    for o1, o2 in zip(straight.trainer.optimizers, t.optimizers, strict=True):
        s1, s2 = o1.state_dict()["state"], o2.state_dict()["state"]
        assert s1.keys() == s2.keys()
        for k in s1:
            assert torch.equal(s1[k]["exp_avg"], s2[k]["exp_avg"])


def test_loading_a_checkpoint_with_the_wrong_class_is_an_error(tmp_path):
    model = GAN(*tiny_dcgan())
    t = trainer(tmp_path, max_steps=2, enable_checkpointing=True)
    t.fit(model, image_loader())
    ckpt = glob.glob(f"{tmp_path}/**/*.ckpt", recursive=True)[0]
    with pytest.raises(ValueError, match=r"holds a lightning_gen.models.gan.GAN checkpoint, not a AutoEncoder"):
        AutoEncoder.load_from_checkpoint(ckpt)
    not_ckpt = tmp_path / "notes.ckpt"
    not_ckpt.write_text("hello")
    with pytest.raises(ValueError, match="not a readable PyTorch checkpoint"):
        GAN.load_from_checkpoint(not_ckpt)
    plain = tmp_path / "plain.ckpt"
    torch.save({"state_dict": {}}, plain)
    with pytest.raises(ValueError, match="not a lightning-gen checkpoint"):
        GAN.load_from_checkpoint(plain)
    with pytest.raises(FileNotFoundError, match="Checkpoint not found"):
        GAN.load_from_checkpoint(tmp_path / "missing.ckpt")


def test_training_metrics_are_logged_every_log_every_n_steps(tmp_path):
    import csv

    from lightning.pytorch.loggers import CSVLogger

    model = GAN(*tiny_dcgan())
    logger = CSVLogger(tmp_path)
    trainer(tmp_path, max_epochs=2, logger=logger, log_every_n_steps=3).fit(model, image_loader())  # 8 batches
    rows = [r for r in csv.DictReader(open(f"{logger.log_dir}/metrics.csv")) if r.get("train/d_loss")]
    assert [int(r["step"]) for r in rows] == [2, 5]  # batches 3 and 6 (steps count batches for loggers)
    assert all(r["train/g_loss"] and r["train/d_real"] and r["train/d_fake"] for r in rows)


def test_subclass_built_by_lightningcli_keeps_the_options_its_loop_reads():
    """LightningCLI saves only the subclass's own arguments; GAN's own options must still be in hparams."""
    from lightning.pytorch.core.mixins.hparams_mixin import _given_hyperparameters_context

    class FixedSmoothing(GAN):
        def __init__(self, generator, discriminator, lr: float = 1e-3):
            super().__init__(generator, discriminator, lr_g=lr, lr_d=lr, real_label_range=(0.7, 0.9))

    with _given_hyperparameters_context(hparams={"lr": 1e-3}, instantiator="lightning.pytorch.cli.instantiate_module"):
        model = FixedSmoothing(*tiny_dcgan())
    assert model.hparams.lr == 1e-3
    assert tuple(model.hparams.real_label_range) == (0.7, 0.9) and model.hparams.lr_g == 1e-3
    assert "_instantiator" not in model.hparams
