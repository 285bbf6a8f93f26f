"""LSGAN (Mao et al., 2017) against values computed by hand."""

import torch

from lightning_gen.losses import discriminator_loss, generator_loss


def test_lsgan_discriminator_values():
    real = torch.tensor([1.0, 0.0, 3.0])
    fake = torch.tensor([0.0, -2.0, 0.5])
    loss_real, loss_fake = discriminator_loss(real, fake, "lsgan")
    # 1/2 (D(x) - b)^2 with b = 1: (0, 1, 4) / 2;  1/2 (D(G(z)) - a)^2 with a = 0: (0, 4, 0.25) / 2
    assert torch.allclose(loss_real, torch.tensor([0.0, 0.5, 2.0]))
    assert torch.allclose(loss_fake, torch.tensor([0.0, 2.0, 0.125]))


def test_lsgan_generator_values():
    fake = torch.tensor([1.0, 0.0, -1.0, 2.5])
    # 1/2 (D(G(z)) - c)^2 with c = 1
    assert torch.allclose(generator_loss(fake, "lsgan"), torch.tensor([0.0, 0.5, 2.0, 1.125]))


def test_lsgan_smoothed_real_targets_and_patch_maps():
    real = torch.full((2, 1, 3, 3), 0.5)  # a PatchGAN map: the loss stays per element
    loss_real, _ = discriminator_loss(real, torch.zeros_like(real), "lsgan", real_targets=0.9)
    assert loss_real.shape == real.shape
    assert torch.allclose(loss_real, torch.full_like(real, 0.5 * 0.4**2))


def test_lsgan_gradients_by_hand():
    fake = torch.tensor([0.25], requires_grad=True)
    generator_loss(fake, "lsgan").sum().backward()
    assert torch.allclose(fake.grad, torch.tensor([0.25 - 1.0]))  # d/dx 1/2 (x - 1)^2 = x - 1
