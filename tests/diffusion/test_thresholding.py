"""Static and dynamic thresholding of x_0 (Imagen, Saharia et al. 2022, section 2.3), and the schedulers' own."""

from __future__ import annotations

import pytest
import torch

from lightning_gen.diffusion import NoiseSchedule, make_scheduler
from lightning_gen.diffusion.thresholding import dynamic_threshold, static_threshold


def test_dynamic_threshold_by_hand():
    x0 = torch.tensor([[0.5, -3.0, 2.0, 1.0], [0.2, -0.4, 0.1, 0.3]]).reshape(2, 1, 2, 2)
    out = dynamic_threshold(x0, percentile=0.75)
    # sample 0: |x| = 0.5 3 2 1, 75th percentile (linear interpolation) = 2.25 -> clamp to [-2.25, 2.25], / 2.25
    expected0 = torch.tensor([0.5, -2.25, 2.0, 1.0]) / 2.25
    # sample 1: the percentile is below 1, so s = 1 and nothing changes
    torch.testing.assert_close(out[0].flatten(), expected0)
    torch.testing.assert_close(out[1], x0[1])


def test_bounds_x0_and_equals_static_clipping_for_a_small_percentile():
    x0 = torch.randn(8, 3, 4, 4, generator=torch.Generator().manual_seed(0)) * 4
    out = dynamic_threshold(x0, percentile=0.95)
    assert out.abs().max() <= 1.0 + 1e-6
    torch.testing.assert_close(dynamic_threshold(x0, percentile=0.01), static_threshold(x0))  # s = max(1, small) = 1
    with pytest.raises(ValueError, match=r"percentile must be in \(0, 1\]"):
        dynamic_threshold(x0, percentile=95)


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpmpp"])
def test_the_schedulers_threshold_as_the_reference_does(sampler):
    """diffusers' thresholding=True (what sampling uses) is the reference function, and differs from clipping."""
    schedule = NoiseSchedule("linear", 1000)
    scheduler = make_scheduler(sampler, schedule, "sample", steps=5, dynamic_threshold=0.9)
    x0 = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(1)) * 3
    torch.testing.assert_close(scheduler._threshold_sample(x0), dynamic_threshold(x0, 0.9))
    assert not torch.allclose(dynamic_threshold(x0, 0.9), static_threshold(x0))
    # one step that predicts x0 directly: the thresholded prediction enters the update
    x_t = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    t = scheduler.timesteps[0]
    clipped = make_scheduler(sampler, schedule, "sample", steps=5)
    a = scheduler.step(x0, t, x_t).prev_sample
    b = clipped.step(x0, t, x_t).prev_sample
    assert not torch.allclose(a, b)
