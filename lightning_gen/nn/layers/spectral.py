"""Spectrally normalised layers (Miyato et al., 2018), as BigGAN (Brock et al., 2019) uses them.

Spectral normalisation divides a weight by an estimate of its largest singular value, refreshed by one
power iteration per training forward pass. It is applied through PyTorch's parametrization API
(``torch.nn.utils.parametrizations.spectral_norm``): the raw weight lives in
``layer.parametrizations.weight.original`` and ``layer.weight`` is the normalised view, which is what
:func:`is_spectrally_normalized` checks. Weights are initialised orthogonally (Saxe et al., 2014), the
initialisation BigGAN uses, before the parametrization is registered so its power-iteration vectors start
from the final weight.
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

__all__ = ["conv2d", "embedding", "is_spectrally_normalized", "linear", "maybe_spectral_norm"]


def maybe_spectral_norm(layer: nn.Module, enabled: bool) -> nn.Module:
    """``layer`` with spectral normalisation on its ``weight`` when ``enabled`` (the same layer otherwise)."""
    return spectral_norm(layer) if enabled else layer


def is_spectrally_normalized(layer: nn.Module) -> bool:
    """True when ``layer.weight`` is produced by a spectral-norm parametrization."""
    if not parametrize.is_parametrized(layer, "weight"):
        return False
    return any(type(p).__name__ == "_SpectralNorm" for p in layer.parametrizations.weight)


def _init(layer: nn.Module) -> nn.Module:
    nn.init.orthogonal_(layer.weight)
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return layer


def conv2d(cin: int, cout: int, kernel_size: int = 3, *, sn: bool = True, bias: bool = True) -> nn.Module:
    """``same``-padded convolution, orthogonally initialised, spectrally normalised when ``sn``."""
    layer = nn.Conv2d(cin, cout, kernel_size, padding=kernel_size // 2, bias=bias)
    return maybe_spectral_norm(_init(layer), sn)


def linear(cin: int, cout: int, *, sn: bool = True, bias: bool = True) -> nn.Module:
    """Linear layer, orthogonally initialised, spectrally normalised when ``sn``."""
    return maybe_spectral_norm(_init(nn.Linear(cin, cout, bias=bias)), sn)


def embedding(num: int, dim: int, *, sn: bool = True) -> nn.Module:
    """Embedding table, orthogonally initialised, spectrally normalised when ``sn`` (projection D)."""
    return maybe_spectral_norm(_init(nn.Embedding(num, dim)), sn)
