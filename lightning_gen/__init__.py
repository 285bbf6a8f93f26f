"""lightning-gen: generative models (autoencoders, GANs, diffusion) as PyTorch Lightning modules.

Subpackages: ``nn`` (plain torch networks), ``losses`` (per-sample loss functions), ``diffusion``
(schedules, objectives, samplers), ``models`` (one LightningModule per method), ``data``
(LightningDataModules), ``callbacks``, ``metrics``; ``sampling`` turns a checkpoint into images and
``cli`` is the ``lightning-gen`` command.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
