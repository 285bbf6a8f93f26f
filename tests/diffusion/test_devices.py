"""Seeded draws follow their generator's device (issue 12, defect 4).

A CUDA generator cannot draw CPU tensors and a CPU generator cannot draw CUDA tensors directly; the
conditioning augmentation drew its noise on the CPU with the model-device generator, so seeded SR sampling
raised on CUDA. The CUDA half of this contract is in tests/gpu/; here the draws are checked on the host,
with ``meta`` (a non-host device) as the target device.
"""

from __future__ import annotations

import torch

from lightning_gen.diffusion import NoiseSchedule, augment_condition, drop_labels, random_levels, rng
from lightning_gen.diffusion.guidance import dropout_mask
from tests.models.diffusion_helpers import tiny_sr


def test_draws_come_from_the_generator_and_land_on_the_target_device():
    for draw, reference in (
        (lambda g, d: rng.randn((3, 2), generator=g, device=d), lambda g: torch.randn(3, 2, generator=g)),
        (lambda g, d: rng.rand((5,), generator=g, device=d), lambda g: torch.rand(5, generator=g)),
        (lambda g, d: rng.randint(0, 7, (4,), generator=g, device=d), lambda g: torch.randint(0, 7, (4,), generator=g)),
    ):
        assert torch.equal(draw(torch.Generator().manual_seed(3), "cpu"), reference(torch.Generator().manual_seed(3)))
        assert draw(torch.Generator().manual_seed(3), "meta").device.type == "meta"  # drawn on the CPU, then moved
    assert rng.randn((2,), device="meta", dtype=torch.float16).dtype == torch.float16  # no generator: on the target


def test_augmentation_and_label_dropout_put_everything_on_the_condition_device():
    schedule = NoiseSchedule(num_timesteps=50)
    cond = torch.rand(4, 1, 4, 4) * 2 - 1
    levels = random_levels(4, 50, torch.Generator().manual_seed(0), device=cond.device)
    noisy = augment_condition(cond, levels, schedule, torch.Generator().manual_seed(1))
    again = augment_condition(cond, levels, schedule, torch.Generator().manual_seed(1))
    assert torch.equal(noisy, again) and noisy.device == cond.device
    labels = drop_labels(torch.arange(8), null_label=10, p=0.5, generator=torch.Generator().manual_seed(0))
    assert set(labels.tolist()) - set(range(8)) == {10}
    mask = dropout_mask(64, 0.5, torch.Generator().manual_seed(0), device="meta")  # CPU stream, meta result
    assert mask.device.type == "meta" and mask.dtype == torch.bool
    assert torch.equal(dropout_mask(64, 0.5, torch.Generator().manual_seed(0)), torch.rand(64, generator=torch.Generator().manual_seed(0)) < 0.5)


def test_sr_condition_levels_live_on_the_condition_device():
    model = tiny_sr(size=8, low=4)
    inputs = model.condition_inputs(torch.zeros(3, 1, 4, 4), torch.Generator().manual_seed(0), level=None)
    assert inputs["cond_level"].device == inputs["cond"].device and inputs["cond_level"].dtype == torch.float32
    fixed = model.condition_inputs(torch.zeros(3, 1, 4, 4), None, level=7)["cond_level"]
    assert fixed.tolist() == [7.0, 7.0, 7.0]
