"""CycleGAN (Zhu et al., 2017): which networks each loss reaches, the LR schedule, translation from the
checkpoint alone, the configs through the CLI, and 2-process DDP."""

import copy
import tarfile
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from lightning_gen.cli import main
from lightning_gen.data.cifar10 import write_cifar10_batches
from lightning_gen.models import CycleGAN
from lightning_gen.models.cyclegan import LinearDecay
from lightning_gen.sampling import load_model
from tests.helpers import run_ddp_script, trainer
from tests.models.cycle_helpers import pair_loader, tiny_cyclegan
from tests.models.ddp_reference import assert_matches, doubled_loader

REPO = Path(__file__).resolve().parents[2]
GENERATORS = ("generator_ab", "generator_ba")
DISCRIMINATORS = ("discriminator_a", "discriminator_b")


def _reached(model, names):
    return {
        n: any(p.grad is not None and p.grad.abs().sum() > 0 for p in getattr(model, n).parameters())
        for n in names
    }


class PhaseProbe(CycleGAN):
    """Records which networks got gradients in each phase (gradients are cleared before each phase)."""

    def optimization_step(self, optimizer, loss, phase, *, step=True):
        for p in self.parameters():
            p.grad = None
        super().optimization_step(optimizer, loss, phase, step=step)
        self.phases.append((phase, _reached(self, GENERATORS + DISCRIMINATORS)))


def test_generator_phase_reaches_both_generators_and_no_discriminator(tmp_path):
    model = PhaseProbe(*[getattr(tiny_cyclegan(), n) for n in GENERATORS + DISCRIMINATORS])
    model.phases = []
    trainer(tmp_path, max_steps=4, max_epochs=1).fit(model, pair_loader())
    g_only = dict.fromkeys(GENERATORS, True) | dict.fromkeys(DISCRIMINATORS, False)
    d_only = dict.fromkeys(GENERATORS, False) | dict.fromkeys(DISCRIMINATORS, True)
    assert model.phases == [("generator", g_only), ("discriminator", d_only)] * 2
    assert all(p.requires_grad for p in model.parameters())  # toggling restored


class ConstantPatches(torch.nn.Module):
    """A 'discriminator' that calls every patch real, D(x) = 1 whatever x: CycleGAN's adversarial term
    (D(G(x)) - 1)^2 is then exactly 0 with no gradient, so G's gradient is that of its L1 terms alone."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(()))  # the D optimizer needs a parameter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ones(x.shape[0], 1, 4, 4) + 0 * self.unused


class GeneratorGrads(CycleGAN):
    """Records the first generator phase's loss and the gradients it left on both generators."""

    def optimization_step(self, optimizer, loss, phase, *, step=True):
        super().optimization_step(optimizer, loss, phase, step=step)
        if phase == "generator" and not hasattr(self, "g_grads"):
            self.g_loss = loss.detach()
            self.g_grads = {n: [p.grad.clone() for p in getattr(self, n).parameters()] for n in GENERATORS}


@pytest.mark.parametrize(("lambda_cycle", "lambda_identity"), [(10.0, 0.0), (0.0, 3.0), (4.0, 2.0)])
def test_module_cycle_and_identity_losses_equal_the_l1_by_hand(tmp_path, lambda_cycle, lambda_identity):
    """The module's own G objective (its training step, with the adversarial term made 0) equals
    lambda_cycle * (|G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b|) + lambda_identity * (|G_BA(a) - a| + |G_AB(b) - b|)
    by hand: same value, same logged terms, same gradients on both generators."""
    pl.seed_everything(0)
    nets = tiny_cyclegan()
    model = GeneratorGrads(
        nets.generator_ab, nets.generator_ba, ConstantPatches(), ConstantPatches(),
        lambda_cycle=lambda_cycle, lambda_identity=lambda_identity, pool_size=0,
    )  # fmt: skip
    reference = copy.deepcopy(model)  # the generators as the first step sees them
    loader = pair_loader(n=4, batch_size=4)  # one batch
    t = trainer(tmp_path, max_steps=2, max_epochs=1)
    t.fit(model, loader)
    batch = next(iter(loader))
    a, b, g_ab, g_ba = batch["a"], batch["b"], reference.generator_ab, reference.generator_ba
    cycle = (g_ba(g_ab(a)) - a).abs().mean() + (g_ab(g_ba(b)) - b).abs().mean()
    identity = (g_ba(a) - a).abs().mean() + (g_ab(b) - b).abs().mean()
    total = lambda_cycle * cycle + lambda_identity * identity
    total.backward()
    assert float(model.g_loss) == pytest.approx(float(total), rel=1e-5)
    assert float(t.callback_metrics["train/cycle"]) == pytest.approx(float(cycle), rel=1e-5)
    if lambda_identity > 0:
        assert float(t.callback_metrics["train/identity"]) == pytest.approx(float(identity), rel=1e-5)
    for name in GENERATORS:
        by_hand = [p.grad for p in getattr(reference, name).parameters()]
        assert any(g.abs().sum() > 0 for g in by_hand)  # each generator is reached
        for ours, expected in zip(model.g_grads[name], by_hand, strict=True):
            torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-7)


def test_generator_objective_by_hand(tmp_path):
    """The logged G loss equals adversarial (D - 1)^2 + 10 * cycle + 5 * identity recomputed from the nets."""
    pl.seed_everything(0)
    model = tiny_cyclegan(lr=1e-12, pool_size=0)  # (almost) no update, so the nets after = the nets used
    loader = pair_loader(n=4, batch_size=4)  # one batch
    t = trainer(tmp_path, max_steps=2, max_epochs=1)
    t.fit(model, loader)
    batch = next(iter(loader))
    a, b = batch["a"], batch["b"]
    fb, fa = model.generator_ab(a), model.generator_ba(b)
    adversarial = ((model.discriminator_b(fb) - 1) ** 2).mean() + (
        (model.discriminator_a(fa) - 1) ** 2
    ).mean()
    cycle = (model.generator_ba(fb) - a).abs().mean() + (model.generator_ab(fa) - b).abs().mean()
    identity = (model.generator_ba(a) - a).abs().mean() + (model.generator_ab(b) - b).abs().mean()
    logged = t.callback_metrics
    assert logged["train/cycle"] == pytest.approx(cycle.item(), rel=1e-4)
    assert logged["train/g_loss"] == pytest.approx((adversarial + 10 * cycle + 5 * identity).item(), rel=1e-4)


def test_identity_loss_needs_equal_channels():
    from lightning_gen.nn import PatchGANDiscriminator, ResnetGenerator

    nets = (
        ResnetGenerator(1, 3, 4, 1),
        ResnetGenerator(3, 1, 4, 1),
        PatchGANDiscriminator(1, 4, 1),
        PatchGANDiscriminator(3, 4, 1),
    )
    with pytest.raises(ValueError, match="lambda_identity=0"):
        CycleGAN(*nets)
    CycleGAN(*nets, lambda_identity=0.0)


def test_linear_decay_factors():
    decay = LinearDecay(start=3, total=6)  # 3 constant epochs, 3 decaying ones, 0 after the last
    assert [decay(e) for e in range(7)] == pytest.approx([1, 1, 1, 0.75, 0.5, 0.25, 0.0])


def test_learning_rate_is_constant_then_decays_linearly_per_epoch(tmp_path):
    class LRProbe(CycleGAN):
        def on_train_epoch_start(self):
            self.lrs.append([o.param_groups[0]["lr"] for o in self.trainer.optimizers])

    model = LRProbe(*[getattr(tiny_cyclegan(), n) for n in GENERATORS + DISCRIMINATORS], lr=1e-3)
    model.lrs = []
    t = trainer(tmp_path, max_epochs=4, limit_train_batches=1)
    t.fit(model, pair_loader())
    expected = [1e-3, 1e-3, 1e-3 * 2 / 3, 1e-3 / 3]  # second half: linear towards 0
    assert [g for g, _ in model.lrs] == pytest.approx(expected) and [
        d for _, d in model.lrs
    ] == pytest.approx(expected)
    assert t.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.0)


def test_translate_from_checkpoint_and_sample_points_to_translate(tmp_path):
    model = tiny_cyclegan()
    t = trainer(tmp_path, max_steps=2, max_epochs=1)
    t.fit(model, pair_loader())
    ckpt = tmp_path / "cyclegan.ckpt"
    t.save_checkpoint(ckpt)
    loaded = load_model(ckpt)
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    for direction in ("a2b", "b2a"):
        out = loaded.translate(x, direction)
        assert out.shape == x.shape and torch.equal(out, model.translate(x, direction))
    assert int(loaded.image_size) == 16
    with pytest.raises(ValueError, match="direction='ab' is not supported"):
        loaded.translate(x, "ab")
    with pytest.raises(ValueError, match="lightning-gen translate"):
        loaded.sample(4)
    assert main(["sample", "--ckpt", str(ckpt), "--out", str(tmp_path / "x.png")]) == 2  # the CLI reports it


@pytest.fixture(scope="module")
def cifar_jpegs(shared_data, tmp_path_factory):
    """The first 8 train / 4 test real CIFAR-10 JPEGs of every class (``<split>/<class>/NNNN.jpg``)."""
    jpeg = tmp_path_factory.mktemp("cifar_jpeg")
    for split, per_class in (("train", 8), ("test", 4)):
        with tarfile.open(shared_data / "cifar10" / f"cifar10_{split}_jpg.tar.gz", "r|gz") as archive:
            for member in archive:
                parts = member.name.split("/")
                if (
                    member.isfile()
                    and len(parts) == 3
                    and parts[2][:4].isdigit()
                    and int(parts[2][:4]) < per_class
                ):
                    target = jpeg.joinpath(*parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.extractfile(member).read())
    return jpeg


@pytest.fixture(scope="module")
def cifar_root(cifar_jpegs, tmp_path_factory):
    """Official-format CIFAR-10 batches written from those JPEGs."""
    jpeg = cifar_jpegs
    out = tmp_path_factory.mktemp("cifar_batches")
    write_cifar10_batches(str(jpeg), str(out))
    return out


def test_trains_on_unpaired_image_folders(tmp_path, cifar_jpegs):
    """CycleGAN's own layout (trainA/, trainB/, testA/, testB/) through UnpairedImageDataModule."""
    from lightning_gen.data import UnpairedImageDataModule

    for split, folder in (("train", "train"), ("test", "test")):
        (tmp_path / f"{split}A").symlink_to(cifar_jpegs / folder / "horse")
        (tmp_path / f"{split}B").symlink_to(cifar_jpegs / folder / "deer")
    dm = UnpairedImageDataModule(str(tmp_path), image_size=16, channels=3, batch_size=4)
    model = tiny_cyclegan(channels=3)
    before = torch.cat([p.detach().flatten() for p in model.generator_ab.parameters()])
    trainer(tmp_path, max_epochs=1, limit_train_batches=2, limit_val_batches=1).fit(model, dm)
    assert not torch.equal(before, torch.cat([p.detach().flatten() for p in model.generator_ab.parameters()]))
    assert model.validation_samples().shape == (6 * 4, 3, 16, 16)  # 6 rows of the 4 validation images


@pytest.mark.parametrize("config", ["digits_mnist", "horse_deer"])
def test_config_fast_dev_run(tmp_path, request, shared_data, config):
    if config == "digits_mnist":
        data = [
            "--data.init_args.mnist_root",
            str(shared_data / "mnist"),
            "--data.init_args.mnist_train_split",
            "test",
        ]
    else:
        data = ["--data.init_args.root", str(request.getfixturevalue("cifar_root"))]
    main(
        ["fit", "--config", str(REPO / f"configs/cyclegan_{config}.yaml"), *data, "--trainer.fast_dev_run", "true",
         "--trainer.accelerator", "cpu", "--trainer.default_root_dir", str(tmp_path)]
    )  # fmt: skip


DDP_SCRIPT = """
import json, torch, lightning.pytorch as pl
from tests.models.cycle_helpers import pair_loader, tiny_cyclegan
from tests.models.ddp_reference import fit_state
pl.seed_everything(0)
model = tiny_cyclegan(pool_size=0)
trainer = pl.Trainer(accelerator="cpu", devices=2, strategy="ddp_find_unused_parameters_true", max_epochs=2, limit_train_batches=2, logger=False,
                     enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
trainer.fit(model, pair_loader(n=32))
lrs = [o.param_groups[0]["lr"] for o in trainer.optimizers]
json.dump({"state": fit_state(model), "step": trainer.global_step, "lrs": lrs},
          open(OUT + f"/rank{trainer.global_rank}.json", "w"))
"""


@pytest.mark.slow
def test_ddp_two_processes_match_one_process_on_the_doubled_batch(tmp_path):
    """2 processes x 4 pairs for 2 epochs of 2 batches end with the weights, last gradients and learning rates
    of 1 process x 8 pairs on the same data (tests/models/ddp_reference.py), not only with equal ranks. The
    networks use InstanceNorm (per sample), so the equivalence is exact up to summation order; the image pool
    is off (pool_size=0) because each rank keeps its own history, which one process cannot reproduce."""
    pl.seed_everything(0)
    initial = torch.cat([p.detach().flatten() for p in tiny_cyclegan().parameters()])
    ranks = run_ddp_script(DDP_SCRIPT, tmp_path)
    assert ranks[0]["step"] == ranks[1]["step"] == 8  # 2 epochs x 2 batches x (G step + D step)
    assert ranks[0]["lrs"] == ranks[1]["lrs"] == [0.0, 0.0]  # the schedule ran on both ranks
    assert ranks[0]["state"] == ranks[1]["state"]
    pl.seed_everything(0)
    reference = tiny_cyclegan(pool_size=0)
    t = trainer(tmp_path / "one", max_epochs=2, limit_train_batches=2)
    t.fit(reference, doubled_loader(pair_loader(n=32).dataset, 4))
    assert [o.param_groups[0]["lr"] for o in t.optimizers] == ranks[0]["lrs"]
    # the convolutions' biases before InstanceNorm are dead (their gradient is round-off): see assert_matches
    assert_matches(ranks[0]["state"], reference, "CycleGAN 2 x 4 vs 1 x 8", dead_below=1e-5)
    assert not torch.equal(torch.cat([p.detach().flatten() for p in reference.parameters()]), initial)


def test_digits_mnist_domains(shared_data):
    from lightning_gen.data import DigitsMNISTDataModule

    dm = DigitsMNISTDataModule(str(shared_data / "mnist"), mnist_train_split="test", batch_size=8)
    train_a, test_a = dm.domain("a", "train")[0], dm.domain("a", "test")[0]
    assert train_a.shape[1:] == test_a.shape[1:] == (1, 32, 32) and train_a.shape[0] + test_a.shape[0] == 1797
    held_out = {x.numpy().tobytes() for x in test_a}
    assert not any(x.numpy().tobytes() in held_out for x in train_a)  # the label-preservation set is unseen
    batch = next(iter(dm.train_dataloader()))
    assert batch["a"].shape == batch["b"].shape == (8, 1, 32, 32)


def test_cifar_domains_keep_the_two_classes(cifar_root):
    from lightning_gen.data import CIFAR10DomainsDataModule

    dm = CIFAR10DomainsDataModule(str(cifar_root), domain_a="horse", domain_b="deer")
    (a, la), (b, lb) = dm.domain("a", "train"), dm.domain("b", "train")
    assert a.shape == b.shape == (8, 3, 32, 32)
    assert set(la.tolist()) == {7} and set(lb.tolist()) == {4}  # official CIFAR-10 label ids
    with pytest.raises(ValueError, match="different classes"):
        CIFAR10DomainsDataModule(str(cifar_root), domain_a="deer", domain_b="deer")
