"""Diffusion building blocks (no Lightning): the forward process, training objectives, samplers,
classifier-free guidance, conditioning augmentation, inpainting and cascades. diffusers underneath."""

from lightning_gen.diffusion.augmentation import augment_condition, random_levels
from lightning_gen.diffusion.cascade import upsample_chain
from lightning_gen.diffusion.guidance import drop_labels, guided_output
from lightning_gen.diffusion.inpainting import MaskPreset, make_repaint_scheduler, preset_mask, repaint
from lightning_gen.diffusion.objectives import (
    LossWeighting,
    PredictionType,
    loss_weights,
    to_epsilon,
    training_target,
)
from lightning_gen.diffusion.samplers import (
    DEFAULT_STEPS,
    Sampler,
    SamplingOptions,
    make_scheduler,
    resolve_steps,
    run_sampler,
)
from lightning_gen.diffusion.schedule import BetaSchedule, NoiseSchedule

__all__ = [
    "DEFAULT_STEPS",
    "BetaSchedule",
    "LossWeighting",
    "MaskPreset",
    "NoiseSchedule",
    "PredictionType",
    "Sampler",
    "SamplingOptions",
    "augment_condition",
    "drop_labels",
    "guided_output",
    "loss_weights",
    "make_repaint_scheduler",
    "make_scheduler",
    "preset_mask",
    "random_levels",
    "repaint",
    "resolve_steps",
    "run_sampler",
    "to_epsilon",
    "training_target",
    "upsample_chain",
]
