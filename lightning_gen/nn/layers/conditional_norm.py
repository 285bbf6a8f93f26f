"""Conditional batch normalisation (de Vries et al., 2017; Dumoulin et al., 2017) in BigGAN's form.

BigGAN (Brock et al., 2019, section 3) conditions every generator BatchNorm on a vector ``c`` made of the
*shared* class embedding concatenated with that block's chunk of z (hierarchical latent space): the
per-channel gain and bias are linear projections of ``c`` (gain = 1 + W_g c, bias = W_b c), with the
projections spectrally normalised like the rest of G.
"""

from __future__ import annotations

import torch
from torch import nn

from lightning_gen.nn.layers.spectral import linear

__all__ = ["ConditionalBatchNorm2d"]


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm2d without affine parameters, followed by a gain and bias predicted from ``cond``.

    Args:
        num_features: channels C of the input (B, C, H, W).
        cond_dim: size of the conditioning vector (B, cond_dim).
        sn: spectral normalisation on the two projections.
        eps, momentum: BatchNorm settings (BigGAN: eps 1e-4 in G).
    """

    def __init__(
        self, num_features: int, cond_dim: int, *, sn: bool = True, eps: float = 1e-4, momentum: float = 0.1
    ) -> None:
        super().__init__()
        if cond_dim < 1:
            raise ValueError(f"cond_dim must be >= 1, got {cond_dim}.")
        self.bn = nn.BatchNorm2d(num_features, affine=False, eps=eps, momentum=momentum)
        self.gain = linear(cond_dim, num_features, sn=sn, bias=False)
        self.bias = linear(cond_dim, num_features, sn=sn, bias=False)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        gain = 1.0 + self.gain(cond)[:, :, None, None]  # (B, C, 1, 1)
        bias = self.bias(cond)[:, :, None, None]
        return self.bn(x) * gain + bias
