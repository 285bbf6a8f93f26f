"""Weight initialisation schemes used by the papers."""

from __future__ import annotations

from torch import nn

__all__ = ["normal_init_"]


def normal_init_(module: nn.Module, std: float = 0.02) -> nn.Module:
    """DCGAN initialisation (Radford et al., 2016): conv/linear weights ~ N(0, std), biases 0,
    normalisation scales ~ N(1, std) and shifts 0. Applied recursively; returns ``module``."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d | nn.GroupNorm):
            if m.weight is not None:
                nn.init.normal_(m.weight, 1.0, std)
                nn.init.zeros_(m.bias)
    return module
