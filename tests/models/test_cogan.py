"""CoGAN (Liu & Tuzel, 2016): training mechanics, shared weights through training, sampling from the
checkpoint, the configs through the CLI, and 2-process DDP."""

from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from lightning_gen.cli import main
from lightning_gen.data.domains import MNISTDomainsDataModule, pixel_agreement
from lightning_gen.models import CoGAN
from lightning_gen.nn import CoupledDiscriminator, CoupledGenerator
from lightning_gen.sampling import load_model
from tests.helpers import run_ddp_script, trainer
from tests.models.cycle_helpers import pair_loader, tiny_cogan
from tests.models.ddp_reference import assert_matches, doubled_loader, virtual_ranks

REPO = Path(__file__).resolve().parents[2]


def _grads(module):
    return [None if p.grad is None else p.grad.clone() for p in module.parameters()]


def _changed(before, after):
    return any(
        (x is None) != (y is None) or (x is not None and not torch.equal(x, y))
        for x, y in zip(before, after, strict=True)
    )


class PhaseProbe(CoGAN):
    def optimization_step(self, optimizer, loss, phase, *, step=True):
        g0, d0 = _grads(self.generator), _grads(self.discriminator)
        super().optimization_step(optimizer, loss, phase, step=step)
        self.phases.append(
            (phase, _changed(g0, _grads(self.generator)), _changed(d0, _grads(self.discriminator)))
        )


def test_phases_update_only_their_networks_and_shared_layers_stay_shared(tmp_path):
    model = PhaseProbe(tiny_cogan().generator, tiny_cogan().discriminator)
    model.phases = []
    g = model.generator
    shared_before = [p.detach().clone() for p in g.shared_parameters()]
    trainer(tmp_path, max_steps=4).fit(model, pair_loader())
    assert model.phases == [("discriminator", False, True), ("generator", True, False)] * 2
    assert g.branch_a.net[0].weight is g.branch_b.net[0].weight  # still one object after training
    assert any(not torch.equal(a, b) for a, b in zip(shared_before, g.shared_parameters(), strict=True))


def test_batches_must_hold_both_domains(tmp_path):
    from tests.helpers import image_loader

    with pytest.raises(ValueError, match=r"dicts \{'a': images, 'b': images\}"):
        trainer(tmp_path, max_steps=2).fit(tiny_cogan(), image_loader())


def test_sample_pairs_side_by_side_from_the_checkpoint_alone(tmp_path):
    model = tiny_cogan(ema_decay=0.9)
    t = trainer(tmp_path, max_steps=4)
    t.fit(model, pair_loader())
    ckpt = tmp_path / "cogan.ckpt"
    t.save_checkpoint(ckpt)
    loaded = load_model(ckpt)
    assert isinstance(loaded, CoGAN)
    a, b = loaded.sample_pairs(6, seed=1)
    side = loaded.sample(6, seed=1)
    assert a.shape == b.shape == (6, 1, 16, 16) and side.shape == (6, 1, 16, 32)
    assert torch.equal(side[..., :16], a) and torch.equal(side[..., 16:], b)
    assert torch.equal(side, model.sample(6, seed=1))  # same weights (EMA included) after reloading
    assert main(["sample", "--ckpt", str(ckpt), "--num", "4", "--out", str(tmp_path / "pairs.png")]) == 0
    from PIL import Image

    assert (
        Image.open(tmp_path / "pairs.png").size[0] > Image.open(tmp_path / "pairs.png").size[1]
    )  # 2 x 2 pairs


def test_pixel_agreement_by_hand():
    a = torch.full((2, 1, 4, 4), -1.0)
    a[0, 0, 1:3, 1:3] = 1.0  # a 2x2 white square
    perfect = pixel_agreement(a, -a, "negative")
    assert perfect == {"agreement": 1.0, "foreground_iou": 1.0}
    b = -a.clone()
    b[0, 0, 0, 0] = -1.0  # one wrong pixel in pair 0 out of 16
    result = pixel_agreement(a, b, "negative")
    assert result["agreement"] == pytest.approx((15 / 16 + 1) / 2)
    edges = pixel_agreement(
        a, torch.full_like(a, -1.0), "edges"
    )  # black B images: edges of the square missed
    assert edges["agreement"] == pytest.approx((0 / 16 + 1) / 2) and edges["foreground_iou"] == pytest.approx(
        0.5
    )


def test_domains_are_disjoint_halves_of_real_mnist(shared_data):
    dm = MNISTDomainsDataModule(
        str(shared_data / "mnist"), transform="negative", train_split="test", batch_size=8
    )
    a, _ = dm.domain("a", "train")
    b, _ = dm.domain("b", "train")
    assert a.shape == b.shape == (5000, 1, 32, 32)
    originals_b = -b  # undo the transform: none of domain B's digits is in domain A
    flat_a = {hash(x.numpy().tobytes()) for x in a}
    assert not any(hash(x.numpy().tobytes()) in flat_a for x in originals_b)
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"a", "b"} and batch["a"].shape == (8, 1, 32, 32)


@pytest.mark.parametrize("task", ["edges", "negative"])
def test_config_fast_dev_run(tmp_path, shared_data, task):
    main(
        [
            "fit",
            "--config", str(REPO / f"configs/cogan_mnist_{task}.yaml"),
            "--data.init_args.root", str(shared_data / "mnist"),
            "--data.init_args.train_split", "test",
            "--trainer.fast_dev_run", "true",
            "--trainer.accelerator", "cpu",
            "--trainer.default_root_dir", str(tmp_path),
        ]
    )  # fmt: skip


def ddp_cogan(cls=CoGAN):
    """The DDP tests' CoGAN: coupled nets without BatchNorm (per-rank statistics would make a 2-rank step differ
    from a 1-rank step on the doubled batch), built after seed_everything(0)."""
    pl.seed_everything(0)
    return cls(CoupledGenerator(latent_dim=8, image_size=16, base_width=4, norm="none"),
               CoupledDiscriminator(image_size=16, base_width=4, norm="none"))


DDP_SCRIPT = """
import json, torch, lightning.pytorch as pl
from tests.models.cycle_helpers import pair_loader
from tests.models.ddp_reference import fit_state
from tests.models.test_cogan import ddp_cogan
model = ddp_cogan()
trainer = pl.Trainer(accelerator="cpu", devices=2, strategy="ddp_find_unused_parameters_true", max_steps=4, logger=False,
                     enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
trainer.fit(model, pair_loader(n=32))
json.dump({"state": fit_state(model), "step": trainer.global_step}, open(OUT + f"/rank{trainer.global_rank}.json", "w"))
"""


@pytest.mark.slow
def test_ddp_two_processes_match_one_process_on_the_doubled_batch(tmp_path):
    """2 processes x 4 pairs for 2 iterations end with the weights and gradients of 1 process x 8 pairs with
    the same data and the two ranks' z (tests/models/ddp_reference.py), not only with equal ranks."""
    initial = torch.cat([p.detach().flatten() for p in ddp_cogan().parameters()])
    ranks = run_ddp_script(DDP_SCRIPT, tmp_path)
    assert ranks[0]["step"] == ranks[1]["step"] == 4
    assert ranks[0]["state"] == ranks[1]["state"]
    reference = ddp_cogan(virtual_ranks(CoGAN))
    trainer(tmp_path / "one", max_steps=4).fit(reference, doubled_loader(pair_loader(n=32).dataset, 4))
    assert_matches(ranks[0]["state"], reference, "CoGAN 2 x 4 vs 1 x 8")
    assert not torch.equal(torch.cat([p.detach().flatten() for p in reference.parameters()]), initial)
