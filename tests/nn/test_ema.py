import pytest
import torch
from torch import nn

from lightning_gen.nn.ema import EMA


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
