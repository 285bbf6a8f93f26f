"""CycleGAN networks (Zhu, Park, Isola & Efros, 2017, appendix 7.2).

- :class:`ResnetGenerator`: Johnson et al. (2016)'s transformation network as CycleGAN uses it,
  ``c7s1-64, d128, d256, R256 x n, u128, u64, c7s1-C``: reflection padding before every 3x3/7x7 convolution
  that keeps the size, instance normalisation (Ulyanov et al., 2016), ReLU, ``n`` residual blocks (the paper:
  6 at 128x128, 9 at 256x256), tanh output.
- :class:`PatchGANDiscriminator`: the pix2pix PatchGAN (Isola et al., 2017), ``C64-C128-C256-C512`` then a
  1-channel convolution: one real/fake logit per overlapping patch. ``num_layers=3`` has the paper's 70x70
  receptive field; ``num_layers`` is an option so the patch fits small images (2: 34x34, 1: 16x16, see
  :func:`patch_receptive_field`).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from lightning_gen.nn.init import normal_init_
from lightning_gen.nn.spec import Network
from lightning_gen.utils.validation import check_choice, check_positive

__all__ = ["CycleNorm", "PatchGANDiscriminator", "ResidualBlock", "ResnetGenerator", "patch_receptive_field"]

CycleNorm = Literal["instance", "batch", "none"]


def _norm(kind: CycleNorm, channels: int) -> nn.Module:
    if kind == "instance":  # CycleGAN's default: no affine parameters, no running statistics
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


class ResidualBlock(nn.Module):
    """``x + [reflect-pad, conv3x3, norm, ReLU, reflect-pad, conv3x3, norm](x)`` (CycleGAN's R256)."""

    def __init__(self, channels: int, norm: CycleNorm = "instance") -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=norm != "batch"),
            _norm(norm, channels),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=norm != "batch"),
            _norm(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(Network):
    """Image (B, in_channels, H, W) -> image (B, out_channels, H, W) in [-1, 1]; H and W divisible by
    ``2 ** num_downsampling``.

    Args:
        in_channels, out_channels: channels of the source and target domains.
        base_width: width of the first layer (64 in the paper); doubled at each downsampling.
        num_residual_blocks: residual blocks at the bottleneck (paper: 6 at 128x128, 9 at 256x256).
        num_downsampling: stride-2 convolutions (and as many fractionally-strided ones); the paper uses 2.
        norm: ``"instance"`` (paper), ``"batch"`` or ``"none"``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        base_width: int = 64,
        num_residual_blocks: int = 9,
        num_downsampling: int = 2,
        norm: CycleNorm = "instance",
    ) -> None:
        super().__init__()
        check_choice("norm", norm, CycleNorm)
        for name, value in (
            ("in_channels", in_channels),
            ("out_channels", out_channels),
            ("base_width", base_width),
        ):
            check_positive(name, value)
        check_positive("num_residual_blocks", num_residual_blocks, allow_zero=True)
        check_positive("num_downsampling", num_downsampling, allow_zero=True)
        self.in_channels, self.out_channels, self.num_downsampling = (
            in_channels,
            out_channels,
            num_downsampling,
        )
        bias = norm != "batch"
        layers: list[nn.Module] = [  # c7s1-64
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, base_width, 7, bias=bias),
            _norm(norm, base_width),
            nn.ReLU(inplace=True),
        ]
        width = base_width
        for _ in range(num_downsampling):  # d128, d256: (B, w, S, S) -> (B, 2w, S/2, S/2)
            layers += [
                nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=bias),
                _norm(norm, 2 * width),
                nn.ReLU(True),
            ]
            width *= 2
        layers += [ResidualBlock(width, norm) for _ in range(num_residual_blocks)]  # R256 x n
        for _ in range(num_downsampling):  # u128, u64: (B, w, S, S) -> (B, w/2, 2S, 2S)
            layers += [
                nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1, bias=bias),
                _norm(norm, width // 2),
                nn.ReLU(inplace=True),
            ]
            width //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, out_channels, 7), nn.Tanh()]  # c7s1-C
        self.net = nn.Sequential(*layers)
        normal_init_(self)  # CycleGAN initialises weights from N(0, 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        factor = 2**self.num_downsampling
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(
                f"ResnetGenerator expects images (B, {self.in_channels}, H, W) with H and W divisible by {factor}, "
                f"got {tuple(x.shape)}; resize the images (e.g. to 32x32) or change num_downsampling."
            )
        return self.net(x)


def patch_receptive_field(num_layers: int) -> int:
    """Side in pixels of the input patch each output logit of :class:`PatchGANDiscriminator` sees.

    ``num_layers`` stride-2 4x4 convolutions followed by two stride-1 4x4 ones: 3 -> 70 (the paper's
    70x70 PatchGAN), 2 -> 34, 1 -> 16.
    """
    check_positive("num_layers", num_layers)
    field = 1
    for stride in [1, 1] + [2] * num_layers:  # from the output back to the input: rf = (rf - 1) * stride + k
        field = field * stride + (4 - stride)
    return field


class PatchGANDiscriminator(Network):
    """Image (B, C, H, W) -> logits (B, 1, h, w), one per overlapping patch (Isola et al., 2017).

    ``C64`` (no normalisation) then ``num_layers - 1`` stride-2 ``Ck`` layers and one stride-1 layer
    (widths doubling up to ``8 * base_width``), LeakyReLU(0.2), and a stride-1 convolution to one channel.

    Args:
        in_channels: image channels.
        base_width: width of the first layer (64 in the paper).
        num_layers: stride-2 layers; sets the receptive field (:func:`patch_receptive_field`): 3 -> 70x70
            (paper, 256x256 images); 2 -> 34x34 suits 32x32 images.
        norm: ``"instance"`` (paper), ``"batch"`` or ``"none"``.
    """

    def __init__(
        self, in_channels: int = 3, base_width: int = 64, num_layers: int = 3, norm: CycleNorm = "instance"
    ) -> None:
        super().__init__()
        check_choice("norm", norm, CycleNorm)
        check_positive("in_channels", in_channels)
        check_positive("num_layers", num_layers)
        self.in_channels, self.num_layers = in_channels, num_layers
        self.receptive_field = patch_receptive_field(num_layers)
        bias = norm != "batch"
        act = nn.LeakyReLU(0.2, inplace=True)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, base_width, 4, stride=2, padding=1), act]  # C64
        width = base_width
        for i in range(1, num_layers + 1):  # stride 2 for the first num_layers - 1, then one stride-1 layer
            out = base_width * min(2**i, 8)
            stride = 2 if i < num_layers else 1
            layers += [nn.Conv2d(width, out, 4, stride=stride, padding=1, bias=bias), _norm(norm, out), act]
            width = out
        layers.append(nn.Conv2d(width, 1, 4, stride=1, padding=1))  # (B, 1, h, w) patch logits
        self.net = nn.Sequential(*layers)
        normal_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"PatchGANDiscriminator expects (B, {self.in_channels}, H, W), got {tuple(x.shape)}."
            )
        return self.net(x)
