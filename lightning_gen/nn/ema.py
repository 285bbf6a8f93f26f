"""Exponential moving average of a network's weights (used for sampling).

As in Karras et al. (2018, progressive GAN), Brock et al. (2019, BigGAN) and Ho et al. (2020, DDPM):
sample from an EMA of the training network's parameters. The average is an ``nn.Module`` holding a frozen
copy of the network, so it lives in the owning module's ``state_dict`` (checkpoints, resume and
``load_from_checkpoint`` carry it with no extra code). Buffers (BatchNorm statistics) are copied; for
statistics that match the averaged weights, see :mod:`lightning_gen.nn.standing_stats`. The shadow is never
trained; samplers put it in eval mode.

The average is kept in float32 whatever the network is cast to. Under Lightning's ``bf16-true`` /
``16-true`` the whole module is cast (``module.to(dtype=...)``), and a decay step of (1 - d) = 1e-4 times a
weight difference lies far below bf16's resolution (8 mantissa bits, ~4e-3 relative): a bf16 average never
moves. :meth:`EMA._apply` lets device moves through but keeps the shadow's floating tensors in float32, so
the averaged network also samples in float32 (give it float32 inputs, as the models' ``sample`` methods do).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = ["EMA"]


class EMA(nn.Module):
    """``shadow = d * shadow + (1 - d) * param`` after each optimiser step of ``network``.

    With ``warmup`` (default) the decay of update n is ``d = min(decay, (1 + n) / (10 + n))``, the schedule of
    TensorFlow's ExponentialMovingAverage(num_updates) also used by diffusers' EMAModel: early in training the
    average follows the weights instead of remembering the random initialisation for ~1/(1 - decay) steps.
    """

    #: the dtype of the average (and of the averaged network's buffers), whatever the module is cast to
    master_dtype = torch.float32

    def __init__(self, network: nn.Module, decay: float = 0.999, warmup: bool = True) -> None:
        super().__init__()
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1), got {decay}.")
        self.decay = decay
        self.warmup = warmup
        self.shadow = copy.deepcopy(network).to(self.master_dtype)
        self.shadow.requires_grad_(False)
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def update(self, network: nn.Module) -> None:
        ema_params = list(self.shadow.parameters())
        params = [p.detach().to(e.dtype) for p, e in zip(network.parameters(), ema_params, strict=True)]
        n = int(self.num_updates)
        decay = min(self.decay, (1 + n) / (10 + n)) if self.warmup else self.decay
        torch._foreach_lerp_(ema_params, params, 1.0 - decay)
        for b_ema, b in zip(self.shadow.buffers(), network.buffers(), strict=True):
            b_ema.copy_(b)
        self.num_updates += 1

    def copy_extra_state(self, network: nn.Module) -> None:
        """Give the shadow ``network``'s extra state (``get_extra_state``), e.g. a tokenizer that was fitted
        after the copy was made. Weights and buffers are what :meth:`update` averages and copies."""
        for module, shadow in zip(network.modules(), self.shadow.modules(), strict=True):
            if type(module).get_extra_state is not nn.Module.get_extra_state:
                shadow.set_extra_state(module.get_extra_state())

    def _apply(self, fn, recurse: bool = True):  # noqa: ANN001 - torch's signature
        """Apply ``fn`` (``.to``, ``.cuda``, ``.half`` ...) except its dtype casts of floating tensors: where
        ``fn`` would cast one away from float32, the float32 values themselves move to ``fn``'s device (no
        round trip through the lower precision; see the module docstring)."""

        def keep_master_dtype(tensor: torch.Tensor) -> torch.Tensor:
            out = fn(tensor)
            if out.is_floating_point() and out.dtype != self.master_dtype and tensor.dtype == self.master_dtype:
                return tensor.to(device=out.device)
            return out

        return super()._apply(keep_master_dtype, recurse)

    def forward(self, *args, **kwargs):  # noqa: D102 - the averaged network's forward
        return self.shadow(*args, **kwargs)
