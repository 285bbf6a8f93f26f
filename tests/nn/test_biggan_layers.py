"""BigGAN building blocks: spectral norm, conditional BatchNorm, self-attention, residual blocks, and the
orthogonal regulariser against hand-computed values."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lightning_gen.losses import orthogonal_regularization, regularized_weights
from lightning_gen.nn.layers import (
    ConditionalBatchNorm2d,
    DBlock,
    GBlock,
    SelfAttention,
    conv2d,
    embedding,
    is_spectrally_normalized,
    linear,
)


def test_spectral_norm_layers_have_unit_spectral_norm_after_power_iterations():
    torch.manual_seed(0)
    layer = linear(20, 30)
    assert is_spectrally_normalized(layer)
    raw = layer.parametrizations.weight.original  # the raw weight the optimiser updates
    with torch.no_grad():
        raw.mul_(3.0)  # orthogonal initialisation has norm 1 already; make the normalisation visible
    for _ in range(30):  # training-mode forwards refine the power-iteration estimate
        layer(torch.randn(4, 20))
    layer.eval()
    assert torch.linalg.matrix_norm(layer.weight, ord=2).item() == pytest.approx(1.0, abs=1e-3)
    assert torch.linalg.matrix_norm(raw, ord=2).item() == pytest.approx(3.0, rel=1e-4)


def test_spectral_norm_is_optional_and_detected():
    assert is_spectrally_normalized(conv2d(3, 8, 3))
    assert is_spectrally_normalized(embedding(10, 8))
    assert not is_spectrally_normalized(conv2d(3, 8, 3, sn=False))
    assert not is_spectrally_normalized(nn.Linear(3, 3))


def test_conditional_batchnorm_gain_and_bias_follow_the_condition():
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(4, cond_dim=6)
    x = torch.randn(8, 4, 5, 5)
    zero = cbn(x, torch.zeros(8, 6))
    # condition 0 -> gain 1, bias 0: plain (affine-free) batch normalisation
    expected = (x - x.mean(dim=(0, 2, 3), keepdim=True)) / torch.sqrt(x.var(dim=(0, 2, 3), unbiased=False, keepdim=True) + 1e-4)
    torch.testing.assert_close(zero, expected, atol=1e-5, rtol=1e-4)
    cond = torch.randn(8, 6)
    out = cbn(x, cond)
    gain = 1 + cbn.gain(cond)[:, :, None, None]
    bias = cbn.bias(cond)[:, :, None, None]
    torch.testing.assert_close(out, expected * gain + bias, atol=1e-5, rtol=1e-4)
    assert is_spectrally_normalized(cbn.gain) and is_spectrally_normalized(cbn.bias)
    assert not cbn.bn.affine


def test_self_attention_starts_as_identity_and_mixes_positions_once_gamma_is_set():
    torch.manual_seed(0)
    attn = SelfAttention(16)
    x = torch.randn(2, 16, 8, 8)
    torch.testing.assert_close(attn(x), x)  # gamma = 0 at initialisation (SAGAN)
    with torch.no_grad():
        attn.gamma.fill_(1.0)
    y = attn(x)
    x2 = x.clone()
    x2[:, :, 0, 0] += 5.0  # perturb one position: every other position's output changes (global attention)
    changed = (attn(x2) - y).abs().sum(dim=1)[0]
    assert (changed[1:, 1:] > 0).all()
    with pytest.raises(ValueError, match="divisible by 8"):
        SelfAttention(12)


def test_residual_blocks_shapes():
    g = GBlock(8, 4, cond_dim=5)
    assert g(torch.randn(2, 8, 4, 4), torch.randn(2, 5)).shape == (2, 4, 8, 8)
    d = DBlock(3, 8, preactivation=False)
    assert d(torch.randn(2, 3, 8, 8)).shape == (2, 8, 4, 4)
    assert DBlock(8, 8, downsample=False)(torch.randn(2, 8, 4, 4)).shape == (2, 8, 4, 4)
    assert isinstance(DBlock(8, 8, downsample=False).shortcut, nn.Identity)


def test_orthogonal_regularization_matches_hand_computed_value():
    # W rows w1 = (1, 2), w2 = (3, 4): W W^T = [[5, 11], [11, 25]]; off-diagonal squares sum to 2 * 121.
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    value = orthogonal_regularization([w], beta=1e-4)
    assert value.item() == pytest.approx(1e-4 * 242)
    value.backward()
    # d/dW ||W W^T (.) (1 - I)||^2 = 4 (W W^T (.) (1 - I)) W
    off = torch.tensor([[0.0, 11.0], [11.0, 0.0]])
    torch.testing.assert_close(w.grad, 1e-4 * 4 * off @ w.detach())
    # orthogonal rows of any norm are not penalised (BigGAN's modification: filter norms stay free)
    assert orthogonal_regularization([torch.diag(torch.tensor([3.0, 0.5]))]).item() == 0.0
    # conv filters are flattened to one row per output channel
    conv = torch.randn(4, 3, 3, 3)
    flat = conv.flatten(1)
    gram = flat @ flat.T
    assert orthogonal_regularization([conv], beta=1.0).item() == pytest.approx((gram.pow(2).sum() - gram.diag().pow(2).sum()).item(), rel=1e-5)


def test_orthogonal_regularization_errors_and_weight_selection():
    with pytest.raises(ValueError, match="beta must be >= 0"):
        orthogonal_regularization([torch.ones(2, 2)], beta=-1.0)
    with pytest.raises(ValueError, match="no weights"):
        orthogonal_regularization([])
    net = nn.Sequential(nn.Linear(3, 4), nn.Embedding(5, 3))
    chosen = regularized_weights(net, exclude=net[1].parameters())
    assert [p.shape for p in chosen] == [torch.Size([4, 3])]  # no biases, no excluded embedding
