"""The forward process q(x_t | x_0), training targets and loss weights, checked against closed forms."""

from __future__ import annotations

import math

import pytest
import torch
from diffusers import DDPMScheduler

from lightning_gen.diffusion import (
    NoiseSchedule,
    augment_condition,
    loss_weights,
    to_epsilon,
    training_target,
)


@pytest.mark.parametrize("name, diffusers_name", [("linear", "linear"), ("cosine", "squaredcos_cap_v2")])
def test_betas_are_the_diffusers_schedule(name, diffusers_name):
    schedule = NoiseSchedule(name)
    reference = DDPMScheduler(num_train_timesteps=1000, beta_schedule=diffusers_name)
    torch.testing.assert_close(schedule.betas, reference.betas.float())
    torch.testing.assert_close(schedule.alphas_cumprod, reference.alphas_cumprod.float())
    if name == "linear":  # Ho et al.: beta_1 = 1e-4, beta_T = 0.02
        assert schedule.betas[0].item() == pytest.approx(1e-4) and schedule.betas[-1].item() == pytest.approx(0.02)
    else:  # Nichol & Dhariwal, Eq. 17: abar_t = f(t)/f(0), f(t) = cos^2(((t/T + s)/(1 + s)) pi/2), s = 0.008
        f = lambda t: math.cos((t / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
        assert schedule.alphas_cumprod[499].item() == pytest.approx(f(500) / f(0), rel=1e-3)


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_q_sample_mean_and_variance_match_the_closed_form(name):
    schedule = NoiseSchedule(name)
    gen = torch.Generator().manual_seed(0)
    x0 = torch.rand(1, 1, 4, 4, generator=gen) * 2 - 1
    n = 20_000
    for t in (0, 10, 250, 999):
        x_t = schedule.q_sample(x0.expand(n, -1, -1, -1), torch.full((n,), t), torch.randn(n, 1, 4, 4, generator=gen))
        abar = schedule.alphas_cumprod[t].item()
        expected_mean, expected_var = math.sqrt(abar) * x0[0], 1 - abar
        # standard errors: sqrt(var / n) for the mean, var * sqrt(2 / n) for the variance
        assert (x_t.mean(0) - expected_mean).abs().max() < 5 * math.sqrt(expected_var / n)
        assert (x_t.var(0) - expected_var).abs().max() < 5 * expected_var * math.sqrt(2 / n)


def test_one_step_closed_form_equals_the_markov_chain():
    """Iterating q(x_s | x_{s-1}) = N(sqrt(1 - beta_s) x_{s-1}, beta_s) t times gives q(x_t | x_0) (Ho et al., Eq. 4)."""
    schedule = NoiseSchedule("linear")
    gen = torch.Generator().manual_seed(1)
    x0 = torch.rand(1, 3, generator=gen) * 2 - 1
    n, t = 20_000, 300
    x = x0.expand(n, -1).clone()
    for s in range(t + 1):  # timestep indices 0..t, i.e. t + 1 forward steps
        beta = schedule.betas[s]
        x = (1 - beta).sqrt() * x + beta.sqrt() * torch.randn(x.shape, generator=gen)
    mean, std = schedule.q_mean_std(x0, torch.tensor([t]))
    assert (x.mean(0) - mean[0]).abs().max() < 5 * std.max() / math.sqrt(n)
    assert (x.std(0) - std[0]).abs().max() < 0.02


def test_noising_chain_shares_noise_and_ends_near_pure_noise():
    schedule = NoiseSchedule()
    x0 = torch.ones(1, 8, 8)
    chain = schedule.noising_chain(x0, [0, 500, 999], noise=torch.zeros(1, 8, 8))
    assert chain.shape == (3, 1, 8, 8)
    torch.testing.assert_close(chain[:, 0, 0, 0], schedule.sqrt_alphas_cumprod[[0, 500, 999]])


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction", "sample"])
def test_targets_and_their_inverse(prediction_type):
    schedule = NoiseSchedule("cosine")
    gen = torch.Generator().manual_seed(2)
    x0, noise = torch.randn(6, 1, 4, 4, generator=gen), torch.randn(6, 1, 4, 4, generator=gen)
    t = torch.tensor([0, 1, 100, 500, 900, 999])
    x_t = schedule.q_sample(x0, t, noise)
    target = training_target(x0, noise, t, schedule, prediction_type)
    a = schedule.sqrt_alphas_cumprod[t].view(-1, 1, 1, 1)
    s = schedule.sqrt_one_minus_alphas_cumprod[t].view(-1, 1, 1, 1)
    expected = {"epsilon": noise, "sample": x0, "v_prediction": a * noise - s * x0}[prediction_type]
    torch.testing.assert_close(target, expected)
    # the perfect prediction of any type converts back to the true noise
    torch.testing.assert_close(to_epsilon(target, x_t, t, schedule, prediction_type), noise, atol=2e-3, rtol=1e-3)


def test_min_snr_weights():
    schedule = NoiseSchedule()
    t = torch.tensor([0, 50, 300, 999])
    snr = schedule.snr(t)
    assert torch.equal(loss_weights(t, schedule, "epsilon", "uniform"), torch.ones(4))
    eps = loss_weights(t, schedule, "epsilon", "min_snr", gamma=5.0)
    torch.testing.assert_close(eps, snr.clamp(max=5.0) / snr)
    assert eps[0] < 1e-3 and eps[-1] == 1.0  # low-noise steps down-weighted, high-noise ones untouched
    torch.testing.assert_close(loss_weights(t, schedule, "v_prediction", "min_snr"), snr.clamp(max=5.0) / (snr + 1))
    torch.testing.assert_close(loss_weights(t, schedule, "sample", "min_snr"), snr.clamp(max=5.0))
    with pytest.raises(ValueError, match="loss_weighting='p2' is not supported"):
        loss_weights(t, schedule, "epsilon", "p2")  # type: ignore[arg-type]


def test_conditioning_augmentation_levels():
    schedule = NoiseSchedule()
    cond = torch.rand(3, 1, 8, 8) * 2 - 1
    out = augment_condition(cond, torch.tensor([0, 1, 999]), schedule, torch.Generator().manual_seed(0))
    assert torch.equal(out[0], cond[0])  # level 0: the clean image
    assert 0 < (out[1] - cond[1]).abs().max() < 0.1  # one forward step: std 0.01
    assert (out[2] - cond[2]).abs().mean() > 0.5  # close to pure noise
    with pytest.raises(ValueError, match=r"levels must lie in \[0, 1000\]"):
        augment_condition(cond, torch.tensor([0, 0, 1001]), schedule)


def test_bad_options_name_the_allowed_values():
    with pytest.raises(ValueError, match="schedule='quadratic' is not supported; choose one of: 'linear', 'cosine'"):
        NoiseSchedule("quadratic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="prediction_type='x0' is not supported"):
        training_target(torch.zeros(1), torch.zeros(1), torch.zeros(1, dtype=torch.long), NoiseSchedule(), "x0")  # type: ignore[arg-type]
