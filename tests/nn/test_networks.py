import pytest
import torch
from torch import nn

from lightning_gen.nn import (
    DCGANDiscriminator,
    DCGANEncoder,
    DCGANGenerator,
    MLPDiscriminator,
    MLPEncoder,
    MLPGenerator,
    build_network,
    network_spec,
)


@pytest.mark.parametrize("size", [8, 16, 32, 64])
@pytest.mark.parametrize("norm", ["batch", "group", "none"])
def test_dcgan_shapes_and_range(size, norm):
    g = DCGANGenerator(latent_dim=10, channels=3, image_size=size, base_width=4, norm=norm)
    d = DCGANDiscriminator(channels=3, image_size=size, base_width=4, norm=norm)
    x = g(torch.randn(5, 10))
    assert x.shape == (5, 3, size, size)
    assert x.min() >= -1 and x.max() <= 1
    assert d(x).shape == (5,)


def test_dcgan_guidelines_follow_the_paper():
    g = DCGANGenerator(image_size=32, base_width=4)
    d = DCGANDiscriminator(image_size=32, base_width=4)
    g_types = {type(m) for m in g.modules()}
    d_types = {type(m) for m in d.modules()}
    assert nn.ConvTranspose2d in g_types and nn.BatchNorm2d in g_types and nn.ReLU in g_types
    assert isinstance(list(g.net)[-1], nn.Tanh)
    assert nn.LeakyReLU in d_types and not ({nn.MaxPool2d, nn.AvgPool2d, nn.Upsample} & (g_types | d_types))
    assert nn.Linear not in g_types | d_types  # no fully connected hidden layers
    # the first D layer has no normalisation (Radford et al., section 3)
    assert isinstance(d.trunk[1], nn.LeakyReLU)


def test_dcgan_without_guidelines_uses_pooling_upsampling_no_norm():
    g = DCGANGenerator(image_size=32, base_width=4, guidelines=False)
    d = DCGANDiscriminator(image_size=32, base_width=4, guidelines=False)
    types = {type(m) for m in g.modules()} | {type(m) for m in d.modules()}
    assert nn.Upsample in types and nn.AvgPool2d in types
    assert not ({nn.BatchNorm2d, nn.GroupNorm, nn.ConvTranspose2d, nn.LeakyReLU} & types)
    assert g(torch.randn(2, 100)).shape == (2, 1, 32, 32)
    assert d(torch.randn(2, 1, 32, 32)).shape == (2,)


def _types(*networks: nn.Module) -> set[type]:
    return {type(m) for net in networks for m in net.modules()}


def test_each_guideline_varies_alone():
    """resampling and activation change only their own component (the one-at-a-time ablation of notebook 04)."""
    pooled = (DCGANGenerator(image_size=16, base_width=4, resampling="pooling"),
              DCGANDiscriminator(image_size=16, base_width=4, resampling="pooling"))  # fmt: skip
    types = _types(*pooled)
    assert {nn.Upsample, nn.AvgPool2d, nn.BatchNorm2d, nn.LeakyReLU} <= types  # norm and D's LeakyReLU kept
    assert isinstance(pooled[0].net[0], nn.ConvTranspose2d)  # no fully connected projection: a guideline of its own
    relu = DCGANDiscriminator(image_size=16, base_width=4, activation="relu")
    assert nn.ReLU in _types(relu) and not ({nn.LeakyReLU, nn.AvgPool2d} & _types(relu))
    assert nn.BatchNorm2d in _types(relu)
    encoder = DCGANEncoder(image_size=16, base_width=4, activation="relu", resampling="pooling", norm="group")
    assert {nn.ReLU, nn.AvgPool2d, nn.GroupNorm} <= _types(encoder) and nn.LeakyReLU not in _types(encoder)
    for net in (*pooled, relu):
        out = net(torch.randn(3, 100)) if isinstance(net, DCGANGenerator) else net(torch.randn(3, 1, 16, 16))
        assert out.shape[0] == 3


def test_no_guidelines_overrides_every_component():
    explicit = DCGANDiscriminator(image_size=16, base_width=4, norm="none", resampling="pooling", activation="relu")
    baseline = DCGANDiscriminator(image_size=16, base_width=4, guidelines=False, norm="batch")
    assert _types(baseline) == _types(explicit)
    baseline.load_state_dict(explicit.state_dict())  # the same parameters, layer for layer
    x = torch.randn(4, 1, 16, 16)
    torch.testing.assert_close(baseline(x), explicit(x))


@pytest.mark.parametrize("option", ["resampling", "activation"])
def test_unknown_component_is_a_clear_error(option):
    with pytest.raises(ValueError, match=option):
        DCGANDiscriminator(image_size=16, base_width=4, **{option: "maxout"})


def test_group_norm_option():
    g = DCGANGenerator(image_size=16, base_width=8, norm="group")
    assert any(isinstance(m, nn.GroupNorm) for m in g.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in g.modules())


def test_unsupported_image_size_is_a_clear_error():
    with pytest.raises(ValueError, match=r"image_size=28 is not supported.*image_size to 32"):
        DCGANGenerator(image_size=28)
    with pytest.raises(ValueError, match="image_size=28"):
        DCGANDiscriminator(image_size=28)


def test_bad_norm_lists_choices():
    with pytest.raises(ValueError, match=r"norm='layer'.*'batch', 'group', 'none'"):
        DCGANGenerator(norm="layer")


def test_discriminator_checks_input_shape():
    d = DCGANDiscriminator(channels=1, image_size=32, base_width=4)
    with pytest.raises(ValueError, match=r"expects images of shape \(B, 1, 32, 32\)"):
        d(torch.randn(2, 3, 32, 32))


def test_mlp_shapes_for_images_and_points():
    g = MLPGenerator(latent_dim=7, output_shape=(1, 28, 28), hidden_dims=(16, 32))
    d = MLPDiscriminator(input_shape=(1, 28, 28), hidden_dims=(16,))
    x = g(torch.randn(4, 7))
    assert x.shape == (4, 1, 28, 28) and d(x).shape == (4,)
    g2 = MLPGenerator(latent_dim=2, output_shape=(2,), hidden_dims=(8,), output_activation="none")
    assert g2(torch.randn(3, 2)).shape == (3, 2)


def test_conditional_networks_use_labels():
    g = DCGANGenerator(latent_dim=4, image_size=16, base_width=4, num_classes=3).eval()
    d = DCGANDiscriminator(image_size=16, base_width=4, num_classes=3).eval()
    z = torch.randn(2, 4)
    a = g(z, torch.tensor([0, 0]))
    b = g(z, torch.tensor([1, 1]))
    assert not torch.allclose(a, b)
    assert d(a, torch.tensor([0, 0])).shape == (2,)
    with pytest.raises(ValueError, match="pass labels"):
        g(z)
    with pytest.raises(ValueError, match=r"Labels must lie in \[0, 2\]"):
        g(z, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="unconditional"):
        DCGANGenerator(latent_dim=4, image_size=16, base_width=4)(z, torch.tensor([0, 1]))


def test_autoencoder_networks():
    e = DCGANEncoder(channels=1, image_size=32, latent_dim=12, base_width=4)
    assert e(torch.randn(3, 1, 32, 32)).shape == (3, 12)
    m = MLPEncoder(input_shape=(1, 28, 28), latent_dim=5, hidden_dims=(8,))
    assert m(torch.randn(3, 1, 28, 28)).shape == (3, 5)


def test_network_spec_round_trip_rebuilds_identical_architecture():
    g = DCGANGenerator(latent_dim=9, channels=3, image_size=16, base_width=4, norm="group", num_classes=2)
    spec = network_spec(g)
    assert spec["class_path"] == "lightning_gen.nn.dcgan.DCGANGenerator"
    assert spec["init_args"]["latent_dim"] == 9 and spec["init_args"]["norm"] == "group"
    rebuilt = build_network(spec)
    rebuilt.load_state_dict(g.state_dict())  # same parameter names and shapes
    assert type(rebuilt) is DCGANGenerator


def test_network_spec_of_unknown_module_asks_for_it_back():
    class Custom(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.lin = nn.Linear(width, 1)

    spec = network_spec(Custom(3))
    assert spec["init_args"] is None
    with pytest.raises(ValueError, match="pass generator=<your module> to load_from_checkpoint"):
        build_network(spec, "generator")
