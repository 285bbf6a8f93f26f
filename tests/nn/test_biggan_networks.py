"""BigGAN and BigBiGAN networks: spectral norm exactly where the docs claim it, hierarchical z, shared
embedding, projection discriminator, encoder and joint discriminator shapes, clear errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lightning_gen.nn import BigBiGANDiscriminator, BigBiGANEncoder, BigGANDiscriminator, BigGANGenerator
from lightning_gen.nn.layers import is_spectrally_normalized


def _weighted_layers(net: nn.Module) -> dict[str, nn.Module]:
    return {name: m for name, m in net.named_modules() if isinstance(m, nn.Conv2d | nn.Linear | nn.Embedding)}


def _small_g(**kw) -> BigGANGenerator:
    return BigGANGenerator(**{"latent_dim": 32, "width": 4, "shared_dim": 8, "attention_resolution": 16, **kw})


def test_spectral_norm_on_every_g_layer_except_the_shared_embedding():
    g = _small_g()
    layers = _weighted_layers(g)
    assert set(layers) >= {"linear", "out_conv", "blocks.0.conv1", "blocks.0.bn1.gain", "attention.1.theta"}
    for name, layer in layers.items():
        if name == "shared.embedding":
            assert not is_spectrally_normalized(layer), "BigGAN leaves the shared class embedding unnormalised"
        else:
            assert is_spectrally_normalized(layer), f"{name} should be spectrally normalised"
            assert layer.parametrizations.weight.original.requires_grad
    assert not any(is_spectrally_normalized(m) for m in _weighted_layers(_small_g(sn=False)).values())


def test_spectral_norm_on_every_d_layer_including_the_projection():
    d = BigGANDiscriminator(width=4, attention_resolution=8)
    layers = _weighted_layers(d)
    assert "projection.embedding" in layers and "linear" in layers and "trunk.0.conv1" in layers
    assert any(".theta" in name for name in layers)  # the attention block is there
    assert all(is_spectrally_normalized(m) for m in layers.values()), [n for n, m in layers.items() if not is_spectrally_normalized(m)]


def test_bigbigan_discriminator_is_spectrally_normalised_and_encoder_is_not():
    d = BigBiGANDiscriminator(channels=1, latent_dim=16, width=4, hidden_dim=16)
    assert {"score_x", "score_z", "score_xz", "H.0", "J.0", "F.0.conv1"} <= set(_weighted_layers(d))
    assert all(is_spectrally_normalized(m) for m in _weighted_layers(d).values())
    e = BigBiGANEncoder(channels=1, latent_dim=16, width=4, hidden_dim=16)
    assert not any(is_spectrally_normalized(m) for m in _weighted_layers(e).values())


def test_generator_shapes_range_and_hierarchical_latent():
    torch.manual_seed(0)
    g = _small_g().eval()
    z, y = torch.randn(3, 32), torch.tensor([0, 1, 2])
    x = g(z, y)
    assert x.shape == (3, 3, 32, 32) and x.abs().max() <= 1
    assert g.chunk == 8  # 32 = 4 chunks of 8: input layer + 3 blocks
    # every chunk of z reaches the output (chunk 0 through the input layer, chunks 1..3 through the BNs)
    for i in range(4):
        z2 = z.clone()
        z2[:, 8 * i : 8 * (i + 1)] += 1.0
        assert not torch.allclose(g(z2, y), x), f"z chunk {i} has no effect"
    # the class reaches the output through the shared embedding
    assert not torch.allclose(g(z, torch.tensor([5, 5, 5])), x)
    assert g.blocks[0].bn1.gain.in_features == 8 + 8  # shared_dim + chunk


def test_unconditional_generator_and_label_errors():
    g = _small_g(num_classes=0)
    assert g(torch.randn(2, 32)).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="unconditional"):
        g(torch.randn(2, 32), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="class-conditional"):
        _small_g()(torch.randn(2, 32))
    with pytest.raises(ValueError, match=r"Labels must lie in \[0, 9\]"):
        _small_g()(torch.randn(2, 32), torch.tensor([0, 10]))


def test_construction_errors_name_the_fix():
    with pytest.raises(ValueError, match="multiple of 4"):
        BigGANGenerator(latent_dim=30)
    with pytest.raises(ValueError, match="image_size=28 is not supported.*image_size=32"):
        BigGANGenerator(image_size=28)
    with pytest.raises(ValueError, match="attention_resolution=12"):
        BigGANGenerator(width=4, attention_resolution=12)
    with pytest.raises(ValueError, match="attention_resolution=32"):
        BigGANDiscriminator(width=4, attention_resolution=32)


def test_projection_discriminator():
    torch.manual_seed(0)
    d = BigGANDiscriminator(width=4).eval()
    x, y = torch.rand(4, 3, 32, 32) * 2 - 1, torch.tensor([0, 1, 2, 3])
    logits = d(x, y)
    assert logits.shape == (4,)
    phi = d.features(x)
    expected = d.linear(phi).squeeze(1) + (d.projection.embedding(y) * phi).sum(1)
    torch.testing.assert_close(logits, expected)
    with pytest.raises(ValueError, match=r"shape \(B, 3, 32, 32\)"):
        d(torch.zeros(2, 1, 32, 32), y[:2])
    assert BigGANDiscriminator(num_classes=0, width=4)(x).shape == (4,)


def test_bigbigan_encoder_and_joint_discriminator():
    torch.manual_seed(0)
    e = BigBiGANEncoder(channels=1, latent_dim=16, width=4, hidden_dim=16)
    x = torch.rand(5, 1, 32, 32) * 2 - 1
    mu, sigma = e.posterior(x)
    assert mu.shape == sigma.shape == (5, 16) and (sigma > 0).all()
    assert not torch.allclose(e(x), e(x))  # a reparameterised sample
    assert e.input_shape == (1, 32, 32) and e.channels == 1 and e.image_size == 32
    det = BigBiGANEncoder(channels=1, latent_dim=16, width=4, hidden_dim=16, stochastic=False)
    assert det.posterior(x)[1] is None and torch.equal(det(x), det(x))
    d = BigBiGANDiscriminator(channels=1, latent_dim=16, width=4, hidden_dim=16)
    scores = d(x, mu)
    assert scores.shape == (5, 3)
    with pytest.raises(ValueError, match=r"z of shape \(5, 16\)"):
        d(x, torch.zeros(5, 8))
