"""Samplers (DDPM, DDIM, DPM-Solver++), classifier-free guidance and RePaint on small real-size models."""

from __future__ import annotations

import pytest
import torch

from lightning_gen.diffusion import NoiseSchedule, make_scheduler, preset_mask, run_sampler
from tests.models.diffusion_helpers import tiny_ddpm


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return tiny_ddpm().eval()


@pytest.fixture(scope="module")
def conditional():
    torch.manual_seed(0)
    m = tiny_ddpm(num_classes=10, label_dropout=0.1).eval()
    with torch.no_grad():  # make the class embedding matter at initialisation
        m.ema.shadow.unet.class_embedding.weight.normal_(0, 1.0)
    return m


def count_calls(module: torch.nn.Module) -> list[int]:
    calls = [0]
    module.register_forward_pre_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


def test_ddim_eta0_is_deterministic_given_the_seed(model):
    a = model.sample(6, seed=3, sampler="ddim", steps=5, progress=False)
    b = model.sample(6, seed=3, sampler="ddim", steps=5, progress=False, batch_size=4)  # batching does not matter
    c = model.sample(6, seed=4, sampler="ddim", steps=5, progress=False)
    assert a.shape == (6, 1, 8, 8) and a.min() >= -1 and a.max() <= 1
    assert torch.equal(a, model.sample(6, seed=3, sampler="ddim", steps=5, progress=False))  # bit-identical
    torch.testing.assert_close(a, b, rtol=0, atol=1e-4)  # other batch shapes: float rounding only
    assert (a - c).abs().max() > 1e-2
    # eta > 0 injects noise: still reproducible with the seed, but a different sample
    d1 = model.sample(6, seed=3, sampler="ddim", steps=5, eta=1.0, progress=False)
    d2 = model.sample(6, seed=3, sampler="ddim", steps=5, eta=1.0, progress=False)
    assert torch.equal(d1, d2) and (d1 - a).abs().max() > 1e-2


@pytest.mark.parametrize("sampler, steps, nfe", [("ddpm", 7, 7), ("ddim", 4, 4), ("dpmpp", 3, 3), ("ddpm", None, 50)])
def test_each_sampler_takes_one_model_evaluation_per_step(sampler, steps, nfe):
    torch.manual_seed(0)
    m = tiny_ddpm(ema_decay=None, num_timesteps=50).eval()  # steps=None: ancestral over all T steps
    calls = count_calls(m.denoiser)
    out = m.sample(2, seed=0, sampler=sampler, steps=steps, use_ema=False, progress=False)
    assert out.shape == (2, 1, 8, 8) and torch.isfinite(out).all()
    assert calls[0] == nfe


def test_schedulers_share_the_training_betas():
    schedule = NoiseSchedule("cosine")
    for sampler in ("ddpm", "ddim", "dpmpp"):
        scheduler = make_scheduler(sampler, schedule, "v_prediction", steps=10)
        torch.testing.assert_close(scheduler.alphas_cumprod.float(), schedule.alphas_cumprod)
        assert scheduler.config.prediction_type == "v_prediction" and len(scheduler.timesteps) == 10
    assert make_scheduler("dpmpp", schedule, "epsilon", 10).config.algorithm_type == "dpmsolver++"


def test_guidance_scale_one_equals_conditional_sampling(conditional):
    labels = torch.arange(6) % 10
    plain = conditional.sample(6, labels=labels, seed=1, steps=5, progress=False)
    guided = conditional.sample(6, labels=labels, seed=1, steps=5, guidance_scale=1.0, progress=False)
    torch.testing.assert_close(guided, plain, rtol=0, atol=1e-4)
    stronger = conditional.sample(6, labels=labels, seed=1, steps=5, guidance_scale=3.0, progress=False)
    unconditional = conditional.sample(6, labels=labels, seed=1, steps=5, guidance_scale=0.0, progress=False)
    assert (stronger - plain).abs().max() > 1e-3 and (unconditional - plain).abs().max() > 1e-3
    # scale 0 is the null-label model, whatever the labels
    other = conditional.sample(6, labels=(labels + 1) % 10, seed=1, steps=5, guidance_scale=0.0, progress=False)
    torch.testing.assert_close(other, unconditional, rtol=0, atol=1e-5)


def test_sampling_errors_name_the_problem(model, conditional):
    with pytest.raises(ValueError, match="eta=0.5 applies to the DDIM sampler only"):
        model.sample(2, sampler="dpmpp", eta=0.5, progress=False)
    with pytest.raises(ValueError, match="guidance_scale needs a class-conditional model"):
        model.sample(2, guidance_scale=2.0, progress=False)
    with pytest.raises(ValueError, match="unconditional .* do not pass labels"):
        model.sample(2, labels=3, progress=False)
    with pytest.raises(ValueError, match=r"steps must be in \[1, 1000\]"):
        model.sample(2, steps=2000, progress=False)
    with pytest.raises(ValueError, match="sampler='euler' is not supported"):
        model.sample(2, sampler="euler", progress=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Labels must lie in \[0, 9\]"):
        conditional.sample(2, labels=10, progress=False)
    no_dropout = tiny_ddpm(num_classes=10)
    with pytest.raises(ValueError, match="trained with label_dropout=0"):
        no_dropout.sample(2, labels=1, guidance_scale=2.0, progress=False)


@pytest.mark.parametrize("preset", ["center", "random"])
def test_repaint_keeps_the_known_pixels(model, preset):
    images = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    mask = preset_mask(preset, 3, 8, torch.Generator().manual_seed(1))
    assert 0 < mask.mean() < 1
    out = model.inpaint(images, mask, seed=0, steps=4, jumps=2, resample=2, progress=False)
    known = mask.bool().expand_as(images)
    torch.testing.assert_close(out[known], images[known], rtol=0, atol=1e-5)
    assert (out[~known] - images[~known]).abs().mean() > 1e-2
    again = model.inpaint(images, mask, seed=0, steps=4, jumps=2, resample=2, progress=False)
    assert torch.equal(out, again)


# ---------------------------------------------------------------------- one setup for all samplers (issue 12, defect 10)
@pytest.mark.parametrize("steps", [1, 7, 20, 50, 1000])
def test_every_sampler_starts_at_t_max_and_takes_the_same_timesteps(steps):
    """Trailing spacing (Lin et al., 2024): the first step is at T - 1 (DDIM-50 started at 980 with diffusers'
    "leading" spacing, DPM-Solver++ used "linspace"), the count is ``steps`` and the steps are evenly spaced."""
    schedule = NoiseSchedule()
    timesteps = {s: make_scheduler(s, schedule, "epsilon", steps).timesteps.tolist() for s in ("ddpm", "ddim", "dpmpp")}
    for sampler, ts in timesteps.items():
        assert ts[0] == 999, f"{sampler} starts at t={ts[0]}"
        assert len(ts) == steps and len(set(ts)) == steps and ts == sorted(ts, reverse=True)
        assert ts[-1] == round(1000 / steps) - 1  # the last step, from t = 1000 / steps - 1 to 0
    assert timesteps["ddpm"] == timesteps["ddim"] == timesteps["dpmpp"]


@pytest.mark.parametrize("clip_sample, expected", [(True, 1.0), (False, 5.0)])
def test_every_sampler_clips_the_predicted_x0_alike(clip_sample, expected):
    """A model predicting x_0 = 5 everywhere (outside the data range): with clipping every sampler's x_0 is
    the clamp, 1 (DPM-Solver++ returned 5 before); without, every sampler returns the prediction, 5."""
    schedule = NoiseSchedule(num_timesteps=100)
    noise = torch.randn(2, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    for sampler in ("ddpm", "ddim", "dpmpp"):
        scheduler = make_scheduler(sampler, schedule, "sample", 5, clip_sample=clip_sample)
        out = run_sampler(lambda x, t: torch.full_like(x, 5.0), noise, scheduler, generator=torch.Generator().manual_seed(1))
        torch.testing.assert_close(out, torch.full_like(out, expected), rtol=0, atol=1e-4, msg=f"{sampler}")


def test_ddim_with_clipping_converges_to_the_clipped_ode_solution_as_steps_grow():
    """DDIM and DPM-Solver++ integrate the same probability-flow ODE with the same clamp of x_0, so more DDIM steps
    must approach the DPM-Solver++ solution from the same noise. The denoiser is 0.95 times the exact noise prediction
    for data ~ N(0, 0.25 I), slightly wrong like a trained network, so at high noise its x_0 overshoots [-1, 1] and is
    clipped. diffusers' DDIM kept the unclipped eps in its direction term, so every clipped step dropped part of x_t:
    DDIM was 0.35 (50 steps) and 0.84 (1000 steps) from the solution, further with more steps (a 400-step MNIST DDPM
    gave near-blank DDIM-1000 samples); with eps re-derived from the clipped x_0 (GLIDE's rule) 0.05 and 0.003."""
    schedule = NoiseSchedule()
    abar = schedule.alphas_cumprod

    def eps_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = abar[t].view(-1, 1, 1, 1)
        return 0.95 * (1 - a).sqrt() * x / (0.25 * a + 1 - a)

    noise = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    reference = run_sampler(eps_fn, noise, make_scheduler("dpmpp", schedule, "epsilon", 200))
    errors = [(run_sampler(eps_fn, noise, make_scheduler("ddim", schedule, "epsilon", n)) - reference).abs().max().item()
              for n in (50, 1000)]  # fmt: skip
    assert errors[1] < 0.01 and errors[1] < errors[0], errors
