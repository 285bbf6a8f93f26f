"""Standing statistics: BatchNorm running statistics recomputed for the weights that sample.

Brock et al. (2019, BigGAN: "standing statistics") sample with BatchNorm statistics computed
anew for the generator being evaluated: several forward passes in training mode accumulate each BN layer's
mean and variance, which are then used in eval mode. An EMA generator needs this most: the running
statistics it copies belong to the live network's weights, not to the averaged ones.

:func:`recompute_batchnorm_stats` does it in place; :func:`standing_statistics` does it for the duration of
a ``with`` block and puts the previous statistics back (sampling stays free of side effects).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ["batchnorm_layers", "recompute_batchnorm_stats", "standing_statistics"]

#: batch i -> the positional arguments of ``network`` for that batch (e.g. ``(z_i,)`` or ``(z_i, labels_i)``)
InputsFn = Callable[[int], tuple[Any, ...]]


def batchnorm_layers(network: nn.Module) -> list[_BatchNorm]:
    """Every BatchNorm layer (1d/2d/3d, SyncBatchNorm, those inside conditional BatchNorms) of ``network``."""
    return [m for m in network.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]


@torch.no_grad()
def recompute_batchnorm_stats(network: nn.Module, sample_inputs_fn: InputsFn, num_batches: int) -> int:
    """Replace the running statistics of ``network``'s BatchNorm layers by their cumulative average over
    ``num_batches`` forward passes of ``network(*sample_inputs_fn(i))``, i = 0 .. num_batches - 1.

    Only the BatchNorm layers run in training mode (everything else, e.g. spectral norm's power iteration,
    stays in eval mode), with ``momentum=None``: PyTorch then keeps the plain average of the per-batch mean
    and (unbiased) variance. Momenta and training modes are restored afterwards.

    Returns:
        The number of BatchNorm layers updated (0: the network has none and is left as it was).

    Raises:
        ValueError: ``num_batches`` < 1.
    """
    if num_batches < 1:
        raise ValueError(f"Standing statistics need num_batches >= 1, got {num_batches}.")
    layers = batchnorm_layers(network)
    if not layers:
        return 0
    modes = {m: m.training for m in network.modules()}
    momenta = [m.momentum for m in layers]
    network.eval()
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # cumulative moving average: running = mean over the batches seen
        layer.train()
    try:
        for i in range(num_batches):
            network(*sample_inputs_fn(i))
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
        for module, mode in modes.items():
            module.training = mode
    return len(layers)


@contextlib.contextmanager
def standing_statistics(network: nn.Module, sample_inputs_fn: InputsFn, num_batches: int) -> Iterator[None]:
    """Inside the block ``network``'s BatchNorm layers use standing statistics (:func:`recompute_batchnorm_stats`);
    their previous running statistics are restored on exit. ``num_batches=0`` does nothing."""
    if num_batches == 0:
        yield
        return
    saved = [{k: v.clone() for k, v in m.state_dict().items()} for m in batchnorm_layers(network)]
    recompute_batchnorm_stats(network, sample_inputs_fn, num_batches)
    try:
        yield
    finally:
        for layer, state in zip(batchnorm_layers(network), saved, strict=True):
            layer.load_state_dict(state)
