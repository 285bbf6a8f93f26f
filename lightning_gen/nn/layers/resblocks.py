"""BigGAN residual blocks (Brock et al., 2019, Figure 15 (a) and (b), the CIFAR/128px "BigGAN" blocks).

:class:`GBlock`: BN-ReLU-upsample-conv3x3-BN-ReLU-conv3x3 with conditional BatchNorms, plus a (1x1 conv)
upsampled shortcut. :class:`DBlock`: ReLU-conv3x3-ReLU-conv3x3-avgpool with a 1x1-conv shortcut
(pre-activation, except the first block, which sees the image and pools before its shortcut conv).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lightning_gen.nn.layers.conditional_norm import ConditionalBatchNorm2d
from lightning_gen.nn.layers.spectral import conv2d

__all__ = ["DBlock", "GBlock"]


class GBlock(nn.Module):
    """Generator residual block (B, cin, H, W) -> (B, cout, 2H, 2W) (or same size without ``upsample``),
    both BatchNorms conditioned on ``cond`` (B, cond_dim)."""

    def __init__(self, cin: int, cout: int, cond_dim: int, *, upsample: bool = True, sn: bool = True) -> None:
        super().__init__()
        self.upsample = upsample
        self.bn1 = ConditionalBatchNorm2d(cin, cond_dim, sn=sn)
        self.conv1 = conv2d(cin, cout, 3, sn=sn)
        self.bn2 = ConditionalBatchNorm2d(cout, cond_dim, sn=sn)
        self.conv2 = conv2d(cout, cout, 3, sn=sn)
        self.shortcut = conv2d(cin, cout, 1, sn=sn) if (cin != cout or upsample) else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(x, cond))
        if self.upsample:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h), cond)))
        return h + self.shortcut(x)


class DBlock(nn.Module):
    """Discriminator (and encoder) residual block (B, cin, H, W) -> (B, cout, H/2, W/2) (or same size).

    ``preactivation=False`` for the first block (its input is the image, not a ReLU feature map).
    """

    def __init__(
        self, cin: int, cout: int, *, downsample: bool = True, preactivation: bool = True, sn: bool = True
    ) -> None:
        super().__init__()
        self.downsample, self.preactivation = downsample, preactivation
        self.conv1 = conv2d(cin, cout, 3, sn=sn)
        self.conv2 = conv2d(cout, cout, 3, sn=sn)
        self.shortcut = conv2d(cin, cout, 1, sn=sn) if (cin != cout or downsample) else nn.Identity()

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 2) if self.downsample else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(x) if self.preactivation else x
        h = self._pool(self.conv2(F.relu(self.conv1(h))))
        if self.preactivation:
            shortcut = self._pool(self.shortcut(x))
        else:
            shortcut = self.shortcut(self._pool(x))
        return h + shortcut
