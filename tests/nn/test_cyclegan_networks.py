"""CycleGAN's ResNet generator and PatchGAN discriminator (Zhu et al., 2017)."""

import pytest
import torch
from torch import nn

from lightning_gen.nn import PatchGANDiscriminator, ResnetGenerator
from lightning_gen.nn.cyclegan import ResidualBlock, patch_receptive_field


def test_resnet_generator_layout_and_shapes():
    g = ResnetGenerator(in_channels=1, out_channels=3, base_width=8, num_residual_blocks=4)
    modules = list(g.modules())
    assert sum(isinstance(m, ResidualBlock) for m in modules) == 4
    assert (
        sum(isinstance(m, nn.ReflectionPad2d) for m in modules) == 2 + 2 * 4
    )  # two c7s1 layers, 2 per block
    norms = [m for m in modules if isinstance(m, nn.InstanceNorm2d)]
    assert norms and not any(isinstance(m, nn.BatchNorm2d) for m in modules)
    assert not any(m.affine or m.track_running_stats for m in norms)  # CycleGAN's InstanceNorm2d defaults
    y = g(torch.randn(2, 1, 32, 32))
    assert y.shape == (2, 3, 32, 32) and y.abs().max() <= 1


def test_residual_block_is_identity_plus_body():
    block = ResidualBlock(4)
    for p in block.body.parameters():
        nn.init.zeros_(p)
    x = torch.randn(2, 4, 8, 8)
    assert torch.equal(block(x), x)


def test_generator_rejects_sizes_it_cannot_reproduce():
    with pytest.raises(ValueError, match="divisible by 4"):
        ResnetGenerator(1, 1, base_width=4, num_residual_blocks=1)(torch.randn(1, 1, 30, 30))
    with pytest.raises(ValueError, match="norm='layer' is not supported"):
        ResnetGenerator(norm="layer")


@pytest.mark.parametrize("num_layers,field", [(1, 16), (2, 34), (3, 70)])
def test_patch_receptive_field_formula_and_measured(num_layers, field):
    assert patch_receptive_field(num_layers) == field
    d = PatchGANDiscriminator(in_channels=1, base_width=4, num_layers=num_layers, norm="none")
    for p in d.parameters():  # positive weights: no accidental zero gradients inside the field
        p.data.uniform_(0.01, 0.02)
    d.net = nn.Sequential(*[m for m in d.net if not isinstance(m, nn.LeakyReLU)])  # linear: exact support
    x = torch.zeros(1, 1, 160, 160, requires_grad=True)
    out = d(x)
    out[0, 0, out.shape[-2] // 2, out.shape[-1] // 2].backward()
    rows, cols = x.grad[0, 0].abs().sum(1).nonzero(), x.grad[0, 0].abs().sum(0).nonzero()
    assert rows.max() - rows.min() + 1 == field and cols.max() - cols.min() + 1 == field


def test_patchgan_output_map():
    assert PatchGANDiscriminator(3, base_width=4, num_layers=3)(torch.randn(1, 3, 256, 256)).shape == (
        1,
        1,
        30,
        30,
    )
    assert PatchGANDiscriminator(1, base_width=4, num_layers=2)(torch.randn(2, 1, 32, 32)).shape == (
        2,
        1,
        6,
        6,
    )
