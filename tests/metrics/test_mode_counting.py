"""Mode counting on hand-made samples whose answers are known."""

from __future__ import annotations

import math

import pytest
import torch

from lightning_gen.data import grid_modes, ring_modes
from lightning_gen.metrics import count_modes, histogram_kl_to_uniform, stacked_mnist_modes


def test_every_mode_hit_equally_is_full_coverage_with_zero_kl():
    modes = ring_modes()
    samples = modes.repeat(10, 1) + 0.001  # 10 samples on each of the 8 modes, 0.14 std away
    result = count_modes(samples, modes, std=0.01)
    assert result.modes == 8 and result.num_modes == 8
    assert result.high_quality == 1.0
    assert result.histogram == [10] * 8
    assert result.reverse_kl == pytest.approx(0.0, abs=1e-12)


def test_single_mode_collapse():
    modes = grid_modes()
    samples = modes[7].expand(50, 2) + torch.randn(50, 2, generator=torch.Generator().manual_seed(0)) * 0.01
    result = count_modes(samples, modes, std=0.05)
    assert result.modes == 1
    assert result.high_quality == 1.0
    assert result.histogram[7] == 50
    assert result.reverse_kl == pytest.approx(math.log(25))  # KL(one-hot || uniform over 25)


def test_off_mode_samples_are_low_quality_and_capture_nothing():
    modes = ring_modes()
    # 3 on mode 0, 1 just inside 3 std of mode 2, 1 just outside, 5 at the origin (far from every mode)
    on = modes[0].expand(3, 2)
    inside = modes[2] + torch.tensor([0.0, 0.0299])
    outside = modes[2] + torch.tensor([0.0, 0.0301])
    origin = torch.zeros(5, 2)
    result = count_modes(torch.cat([on, inside[None], outside[None], origin]), modes, std=0.01)
    assert result.modes == 2
    assert result.high_quality == pytest.approx(4 / 10)
    assert result.histogram[0] == 3 and result.histogram[2] == 1 and sum(result.histogram) == 4
    p = torch.tensor([0.75, 0.25])
    assert result.reverse_kl == pytest.approx(float((p * (p * 8).log()).sum()))


def test_no_high_quality_sample_gives_infinite_kl():
    result = count_modes(torch.full((4, 2), 10.0), ring_modes(), std=0.01)
    assert result.modes == 0 and result.high_quality == 0.0 and math.isinf(result.reverse_kl)
    assert math.isinf(histogram_kl_to_uniform(torch.zeros(3)))


def test_stacked_mnist_modes_from_digits():
    digits = torch.tensor([[1, 2, 3], [1, 2, 3], [0, 0, 0], [9, 9, 9]])
    result = stacked_mnist_modes(digits)
    assert result.modes == 3 and result.num_modes == 1000
    assert result.histogram[123] == 2 and result.histogram[0] == 1 and result.histogram[999] == 1
    every = torch.stack(torch.meshgrid(*(torch.arange(10),) * 3, indexing="ij"), dim=-1).reshape(-1, 3)
    full = stacked_mnist_modes(every)
    assert full.modes == 1000 and full.reverse_kl == pytest.approx(0.0, abs=1e-12)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="share D"):
        count_modes(torch.zeros(3, 3), ring_modes(), std=0.01)
    with pytest.raises(ValueError, match="std"):
        count_modes(torch.zeros(3, 2), ring_modes(), std=0.0)
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        stacked_mnist_modes(torch.zeros(3, 2, dtype=torch.long))
