import math

import pytest
import torch

from lightning_gen.losses import discriminator_loss, generator_loss, random_real_targets, reconstruction_loss


def sig(v):
    return 1 / (1 + math.exp(-v))


def test_bce_losses_match_the_value_function():
    real = torch.tensor([2.0, -1.0])
    fake = torch.tensor([0.5, -3.0])
    lr, lf = discriminator_loss(real, fake, "minimax")
    expected_real = [-math.log(sig(2.0)), -math.log(sig(-1.0))]
    expected_fake = [-math.log(1 - sig(0.5)), -math.log(1 - sig(-3.0))]
    assert torch.allclose(lr, torch.tensor(expected_real), atol=1e-6)
    assert torch.allclose(lf, torch.tensor(expected_fake), atol=1e-6)
    # same D loss for the non-saturating variant (Goodfellow et al. change only G's loss)
    lr2, lf2 = discriminator_loss(real, fake, "non_saturating")
    assert torch.equal(lr, lr2) and torch.equal(lf, lf2)


def test_generator_losses_minimax_vs_non_saturating():
    fake = torch.tensor([0.5, -3.0])
    mm = generator_loss(fake, "minimax")
    ns = generator_loss(fake, "non_saturating")
    assert torch.allclose(mm, torch.tensor([math.log(1 - sig(0.5)), math.log(1 - sig(-3.0))]), atol=1e-6)
    assert torch.allclose(ns, torch.tensor([-math.log(sig(0.5)), -math.log(sig(-3.0))]), atol=1e-6)


def test_minimax_saturates_where_non_saturating_does_not():
    # D confidently rejects the fakes (logit -8): the minimax gradient vanishes, the non-saturating one does not
    logit = torch.tensor([-8.0], requires_grad=True)
    (g_mm,) = torch.autograd.grad(generator_loss(logit, "minimax").sum(), logit)
    (g_ns,) = torch.autograd.grad(generator_loss(logit, "non_saturating").sum(), logit)
    assert abs(g_mm.item()) < 1e-3 < abs(g_ns.item())


def test_losses_are_stable_for_extreme_logits():
    big = torch.tensor([80.0, -80.0])
    for kind in ("minimax", "non_saturating"):
        lr, lf = discriminator_loss(big, big, kind)
        assert torch.isfinite(lr).all() and torch.isfinite(lf).all()
        assert torch.isfinite(generator_loss(big, kind)).all()


def test_label_smoothing_targets_in_range_and_random():
    torch.manual_seed(0)
    t = random_real_targets(torch.zeros(10_000), 0.7, 0.9)
    assert t.min() >= 0.7 and t.max() <= 0.9
    assert t.std() > 0.05  # random per sample, not a constant
    assert abs(t.mean().item() - 0.8) < 0.01
    with pytest.raises(ValueError, match="real_label_range"):
        random_real_targets(torch.zeros(2), 0.9, 0.7)


def test_smoothed_bce_uses_the_targets():
    logits = torch.tensor([0.3])
    lr, _ = discriminator_loss(logits, logits, "non_saturating", torch.tensor([0.8]))
    p = sig(0.3)
    assert torch.allclose(lr, torch.tensor([-(0.8 * math.log(p) + 0.2 * math.log(1 - p))]), atol=1e-6)


def test_unknown_loss_lists_choices():
    with pytest.raises(ValueError, match=r"loss='wgan'.*'minimax', 'non_saturating', 'hinge', 'lsgan'"):
        generator_loss(torch.zeros(1), "wgan")


def test_reconstruction_losses_per_sample():
    x = torch.zeros(3, 1, 2, 2)
    y = torch.ones(3, 1, 2, 2) * 0.5
    assert torch.allclose(reconstruction_loss(y, x, "mse"), torch.full((3,), 0.25))
    assert torch.allclose(reconstruction_loss(y, x, "l1"), torch.full((3,), 0.5))
    assert reconstruction_loss(y, x, "bce").shape == (3,)
    with pytest.raises(ValueError, match="shape"):
        reconstruction_loss(y[:, :, :1], x)
