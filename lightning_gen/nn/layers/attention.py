"""Self-attention block of SAGAN (Zhang, Goodfellow, Metaxas & Odena, 2019), as used in BigGAN.

Every position attends to every (2x2 max-pooled) position: query/key projections to C/8 channels, value
to C/2, an output 1x1 convolution back to C, added to the input scaled by a learned ``gamma`` that starts
at 0 (so the block starts as the identity). Layout and pooling follow BigGAN's reference implementation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lightning_gen.nn.layers.spectral import conv2d

__all__ = ["SelfAttention"]


class SelfAttention(nn.Module):
    """x + gamma * o(softmax(theta(x)^T phi(x)) g(x)); input and output (B, C, H, W), H and W even."""

    def __init__(self, channels: int, *, sn: bool = True) -> None:
        super().__init__()
        if channels < 8 or channels % 8:
            raise ValueError(f"SelfAttention needs a channel count divisible by 8 (>= 8), got {channels}.")
        self.theta = conv2d(channels, channels // 8, 1, sn=sn, bias=False)
        self.phi = conv2d(channels, channels // 8, 1, sn=sn, bias=False)
        self.g = conv2d(channels, channels // 2, 1, sn=sn, bias=False)
        self.o = conv2d(channels // 2, channels, 1, sn=sn, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        theta = self.theta(x).flatten(2)  # (B, C/8, HW)
        phi = F.max_pool2d(self.phi(x), 2).flatten(2)  # (B, C/8, HW/4)
        g = F.max_pool2d(self.g(x), 2).flatten(2)  # (B, C/2, HW/4)
        attn = torch.softmax(torch.bmm(theta.transpose(1, 2), phi), dim=-1)  # (B, HW, HW/4)
        o = torch.bmm(g, attn.transpose(1, 2)).view(b, c // 2, h, w)  # (B, C/2, H, W)
        return x + self.gamma * self.o(o)
