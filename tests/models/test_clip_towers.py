"""CLIP's image towers: shapes, per-sample features (no batch statistics), clear shape errors."""

from __future__ import annotations

import pytest
import torch

from lightning_gen.nn.image_towers import ResNetImageTower, ViTImageTower


@pytest.mark.parametrize(
    "tower",
    [
        lambda: ResNetImageTower(channels=3, image_size=32, width=8, blocks=(1, 2, 1)),
        lambda: ViTImageTower(channels=3, image_size=32, patch_size=8, width=16, layers=2, heads=2),
    ],
    ids=["resnet", "vit"],
)
def test_features_are_per_sample_and_every_parameter_learns(tower) -> None:
    torch.manual_seed(0)
    net = tower()
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    out = net(x)
    assert out.shape == (4, net.output_dim)
    # no batch statistics: a sample's feature does not depend on the rest of its batch (DDP-safe)
    assert torch.allclose(net(x[:1]), out[:1], atol=1e-5)
    out.square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_resnet_width_doubles_per_stage_and_bad_input_is_explained() -> None:
    net = ResNetImageTower(channels=1, image_size=28, width=8, blocks=(1, 1, 1))
    assert net.output_dim == 32
    strided = ResNetImageTower(channels=1, image_size=28, width=8, blocks=(1, 1, 1), stem_stride=2)
    assert strided.trunk[:3](torch.zeros(1, 1, 28, 28)).shape[-1] == 14  # the stem halves the resolution
    assert strided(torch.zeros(2, 1, 28, 28)).shape == (2, 32)
    with pytest.raises(ValueError, match=r"expects \(B, 1, 28, 28\)"):
        net(torch.zeros(2, 3, 28, 28))
    with pytest.raises(ValueError, match="divisible by patch_size"):
        ViTImageTower(image_size=28, patch_size=5)
    with pytest.raises(ValueError, match="blocks"):
        ResNetImageTower(blocks=())
    with pytest.raises(ValueError, match="stem_stride"):
        ResNetImageTower(stem_stride=4)
