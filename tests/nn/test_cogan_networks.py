"""CoGAN's coupled networks: weight sharing is real (the same Parameter objects), and only where claimed."""

import copy

import pytest
import torch

from lightning_gen.nn import CoupledDiscriminator, CoupledGenerator, build_network, network_spec


def _ids(module):
    return {id(p) for p in module.parameters()}


@pytest.mark.parametrize("shared", [0, 1, 2, 3])
def test_generator_shares_exactly_its_first_layers(shared):
    g = CoupledGenerator(latent_dim=8, image_size=32, base_width=4, num_shared_layers=shared)
    a, b = g.branch_a.net, g.branch_b.net
    assert len(a) == len(b) == 3 * 3 + 2  # 3 (conv, norm, act) layers + (conv, tanh) output layer
    for i in range(len(a)):
        params_a, params_b = list(a[i].parameters()), list(b[i].parameters())
        if i < 3 * shared:
            assert a[i] is b[i]
            assert all(pa is pb for pa, pb in zip(params_a, params_b, strict=True))
        elif params_a:
            assert all(pa is not pb for pa, pb in zip(params_a, params_b, strict=True))
    assert _ids(g.branch_a) & _ids(g.branch_b) == {id(p) for p in g.shared_parameters()}
    # each shared parameter is counted once by the optimiser's view of the module
    per_branch = sum(p.numel() for p in g.branch_a.parameters())
    shared_numel = sum(p.numel() for p in g.shared_parameters())
    assert sum(p.numel() for p in g.parameters()) == 2 * per_branch - shared_numel


def test_generator_gradients_domain_b_reaches_shared_layers_not_head_a():
    g = CoupledGenerator(latent_dim=8, image_size=32, base_width=4)  # shares all but the output layer
    x_a, x_b = g(torch.randn(5, 8))
    assert x_a.shape == x_b.shape == (5, 1, 32, 32)
    x_b.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in g.shared_parameters())
    assert all(p.grad is None for p in g.branch_a.net[-2].parameters())  # domain A's own output layer


def test_domains_may_have_different_channels():
    g = CoupledGenerator(latent_dim=8, channels_a=3, channels_b=1, image_size=16, base_width=4)
    d = CoupledDiscriminator(channels_a=3, channels_b=1, image_size=16, base_width=4)
    x_a, x_b = g(torch.randn(4, 8))
    assert x_a.shape == (4, 3, 16, 16) and x_b.shape == (4, 1, 16, 16)
    logits_a, logits_b = d(x_a, x_b)
    assert logits_a.shape == logits_b.shape == (4,)


@pytest.mark.parametrize("shared", [0, 1, 2, 3])
def test_discriminator_shares_exactly_its_last_layers(shared):
    d = CoupledDiscriminator(image_size=32, base_width=4, num_shared_layers=shared)
    a, b = d.branch_a, d.branch_b
    assert (a.head is b.head) == (shared >= 1)
    conv_layers = [i for i, m in enumerate(a.trunk) if isinstance(m, torch.nn.Conv2d)]  # 3 trunk layers
    for rank, i in enumerate(reversed(conv_layers), start=2):  # rank 2 = the layer before the head
        assert (a.trunk[i].weight is b.trunk[i].weight) == (rank <= shared)
    assert a.trunk[0] is not b.trunk[0]  # the input layer is never shared
    assert _ids(a) & _ids(b) == {id(p) for p in d.shared_parameters()}


def test_out_of_range_sharing_is_an_error():
    with pytest.raises(ValueError, match=r"num_shared_layers must be in \[0, 3\]"):
        CoupledGenerator(image_size=32, num_shared_layers=4)
    with pytest.raises(ValueError, match=r"num_shared_layers must be in \[0, 3\]"):
        CoupledDiscriminator(image_size=32, num_shared_layers=-1)


def test_sharing_survives_rebuild_deepcopy_and_state_dict():
    g = CoupledGenerator(latent_dim=8, image_size=16, base_width=4, num_shared_layers=2)
    rebuilt = build_network(network_spec(g))  # what a checkpoint does
    rebuilt.load_state_dict(g.state_dict())
    clone = copy.deepcopy(g)  # what EMA does
    z = torch.randn(3, 8)
    g.eval(), rebuilt.eval(), clone.eval()
    for other in (rebuilt, clone):
        assert other.branch_a.net[0].weight is other.branch_b.net[0].weight
        assert all(torch.equal(x, y) for x, y in zip(g(z), other(z), strict=True))
