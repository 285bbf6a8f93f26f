import lightning.pytorch as pl
import pytest
import torch
from torch import nn

from lightning_gen.cli import main
from lightning_gen.models import GAN
from lightning_gen.nn import DCGANGenerator
from lightning_gen.nn.ema import EMA
from lightning_gen.nn.standing_stats import batchnorm_layers, recompute_batchnorm_stats
from tests.helpers import image_loader, tiny_dcgan, trainer
from tests.models.diffusion_helpers import tiny_ddpm


def test_ema_follows_the_formula_with_warmup():
    net = nn.Linear(2, 1)
    ema = EMA(net, decay=0.9)
    shadow = net.weight.detach().clone()
    for n in range(30):
        with torch.no_grad():
            net.weight.add_(1.0)
        ema.update(net)
        d = min(0.9, (1 + n) / (10 + n))
        shadow = d * shadow + (1 - d) * net.weight.detach()
        assert torch.allclose(ema.shadow.weight, shadow, atol=1e-5)
    assert int(ema.num_updates) == 30


def test_ema_without_warmup_and_buffers_copied():
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    ema = EMA(net, decay=0.5, warmup=False)
    before = ema.shadow[0].weight.detach().clone()
    with torch.no_grad():
        net[0].weight.add_(2.0)
    net.train()(torch.randn(8, 2))  # changes BN running stats
    ema.update(net)
    assert torch.allclose(ema.shadow[0].weight, 0.5 * before + 0.5 * net[0].weight.detach())
    assert torch.equal(ema.shadow[1].running_mean, net[1].running_mean)
    assert not any(p.requires_grad for p in ema.shadow.parameters())


def test_ema_decay_validated():
    with pytest.raises(ValueError, match="ema_decay"):
        EMA(nn.Linear(1, 1), decay=1.0)


# ---------------------------------------------------------------------- float32 average (issue 12, defect 9)
def test_the_average_stays_float32_when_the_module_is_cast():
    ema = EMA(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)), decay=0.9)
    ema.to(torch.bfloat16)
    assert {t.dtype for t in ema.shadow.state_dict().values() if t.is_floating_point()} == {torch.float32}
    ema.half()
    assert ema.shadow[0].weight.dtype == torch.float32 and ema.num_updates.dtype == torch.long
    # what Lightning's bf16-true does: cast the owning module; the averaged network still runs (in float32)
    owner = nn.ModuleDict({"net": nn.Linear(2, 2), "ema": EMA(nn.Linear(2, 2))}).to(dtype=torch.bfloat16)
    assert owner["net"].weight.dtype == torch.bfloat16 and owner["ema"].shadow.weight.dtype == torch.float32
    assert owner["ema"](torch.zeros(1, 2)).dtype == torch.float32


class RecordAverage(pl.Callback):
    """The float32 reference average of the weights the model steps to, computed here by the formula."""

    def __init__(self, init: list[torch.Tensor], decay: float) -> None:
        self.reference = [t.clone() for t in init]
        self.decay = decay

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        params = [p.detach().float() for p in pl_module.denoiser.parameters()]
        self.reference = [r + (1 - self.decay) * (p - r) for r, p in zip(self.reference, params, strict=True)]


def test_bf16_true_training_moves_the_average_as_in_float32(tmp_path):
    """decay 0.99 moves the average by 1% of (weight - average) per step, ~1e-5 here: below bf16's resolution
    at these weights (~4e-4), so a bf16 average (the old code) never leaves its initial value."""
    torch.manual_seed(0)
    model = tiny_ddpm(ema_decay=0.99, ema_warmup=False, lr=1e-2)
    init = [p.detach().clone() for p in model.ema.shadow.parameters()]
    record = RecordAverage(init, decay=0.99)
    trainer(tmp_path, precision="bf16-true", max_steps=3, max_epochs=1, limit_val_batches=0, callbacks=[record]).fit(
        model, image_loader(n=48, size=8, batch_size=16)
    )
    assert next(model.denoiser.parameters()).dtype == torch.bfloat16  # the model did train in bf16
    shadow = list(model.ema.shadow.parameters())
    assert all(s.dtype == torch.float32 for s in shadow)
    moved = max(float((r - i).abs().max()) for r, i in zip(record.reference, init, strict=True))
    assert moved > 1e-6
    for s, r, i in zip(shadow, record.reference, init, strict=True):
        torch.testing.assert_close(s - i, r - i, rtol=1e-3, atol=1e-8)
    # and both sample: the float32 average, and the bf16 weights (inputs cast on the fly, float32 out)
    assert torch.isfinite(model.sample(2, seed=0, steps=2, progress=False)).all()
    raw = model.sample(2, seed=0, steps=2, use_ema=False, progress=False)
    assert raw.dtype == torch.float32 and torch.isfinite(raw).all()


# ---------------------------------------------------------------------- standing statistics (Brock et al. 2019)
def _hand_statistics(network: nn.Module, batches: list[torch.Tensor]) -> dict[nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    """Per BatchNorm layer: the average over batches of its input's batch mean and unbiased variance, the
    inputs recorded by hooks while ``network`` runs in training mode on a copy of itself."""
    import copy

    probe = copy.deepcopy(network).train()
    seen: dict[str, list[torch.Tensor]] = {}
    for name, module in probe.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.register_forward_hook(lambda m, args, out, name=name: seen.setdefault(name, []).append(args[0].detach()))
    with torch.no_grad():
        for z in batches:
            probe(z)
    stats = {}
    for name, inputs in seen.items():
        dims = [0, *range(2, inputs[0].dim())]  # every axis but the channel one
        means = torch.stack([x.mean(dims) for x in inputs])
        variances = torch.stack([x.var(dims, unbiased=True) for x in inputs])
        stats[dict(network.named_modules())[name]] = (means.mean(0), variances.mean(0))
    return stats


def test_recomputed_statistics_are_the_ema_generators_batch_statistics():
    torch.manual_seed(0)
    generator = DCGANGenerator(latent_dim=8, channels=1, image_size=16, base_width=4)
    ema = EMA(generator, decay=0.5)
    with torch.no_grad():
        for p in generator.parameters():
            p.add_(0.3 * torch.randn_like(p))
        generator.train()(torch.randn(16, 8))  # the live network's statistics, which update() copies
    ema.update(generator)
    batches = [torch.randn(12, 8, generator=torch.Generator().manual_seed(i)) for i in range(3)]
    expected = _hand_statistics(ema.shadow, batches)
    ema.shadow.eval()
    momenta = [m.momentum for m in batchnorm_layers(ema.shadow)]
    assert recompute_batchnorm_stats(ema.shadow, lambda i: (batches[i],), num_batches=3) == len(expected) == len(momenta) >= 2
    for layer, (mean, var) in expected.items():
        torch.testing.assert_close(layer.running_mean, mean, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(layer.running_var, var, rtol=1e-4, atol=1e-6)
        assert not torch.allclose(mean, generator.state_dict()[_name(ema.shadow, layer) + ".running_mean"])
    assert [m.momentum for m in batchnorm_layers(ema.shadow)] == momenta and not ema.shadow.training
    assert recompute_batchnorm_stats(nn.Linear(2, 2), lambda i: (torch.zeros(1, 2),), 1) == 0  # nothing to do
    with pytest.raises(ValueError, match="num_batches >= 1"):
        recompute_batchnorm_stats(ema.shadow, lambda i: (batches[0],), 0)


def _name(network: nn.Module, layer: nn.Module) -> str:
    return next(name for name, module in network.named_modules() if module is layer)


def test_gan_samples_with_standing_statistics_and_restores_them():
    torch.manual_seed(0)
    model = GAN(*tiny_dcgan(), ema_decay=0.9).eval()
    before = {k: v.clone() for k, v in model.ema.shadow.state_dict().items()}
    plain = model.sample(4, seed=0)
    standing = model.sample(4, seed=0, standing_stats=2, batch_size=8)
    assert torch.equal(standing, model.sample(4, seed=0, standing_stats=2, batch_size=8))  # seeded
    assert (standing - plain).abs().max() > 1e-3  # other statistics, other images from the same z
    assert all(torch.equal(v, model.ema.shadow.state_dict()[k]) for k, v in before.items())  # restored
    assert torch.equal(plain, model.sample(4, seed=0))
    with pytest.raises(ValueError, match="standing_stats must be >= 0"):
        model.sample(2, standing_stats=-1)


def test_sample_command_takes_standing_stats(tmp_path, capsys):
    torch.manual_seed(0)
    t = trainer(tmp_path, max_steps=1, max_epochs=1, limit_val_batches=0)
    t.fit(GAN(*tiny_dcgan(), ema_decay=0.9), image_loader(n=16))
    ckpt = tmp_path / "gan.ckpt"
    t.save_checkpoint(ckpt)
    out = tmp_path / "grid.png"
    assert main(["sample", "--ckpt", str(ckpt), "--num", "4", "--standing-stats", "2", "--out", str(out)]) == 0
    assert out.is_file()
    with pytest.raises(SystemExit):
        main(["sample", "--ckpt", str(ckpt), "--num", "4", "--standing-stats", "0", "--out", str(out)])
    assert "--standing-stats: must be >= 1" in capsys.readouterr().err
