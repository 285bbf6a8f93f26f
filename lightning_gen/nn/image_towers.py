"""CLIP image towers (Radford et al. 2021, section 2.4): a small ResNet and a small Vision Transformer.

Each maps images in [-1, 1], (B, channels, image_size, image_size), to one feature vector (B, output_dim);
CLIP's linear projection into the shared embedding space lives in the model
(:class:`~lightning_gen.models.clip.CLIP`).

- :class:`ResNetImageTower`: a ResNet (He et al. 2016) of basic blocks with GroupNorm (Wu & He 2018)
  instead of CLIP's BatchNorm: a contrastive batch must not leak between samples through batch statistics,
  and with per-sample normalisation a DDP run computes the same features as one process on the whole
  batch. Global average pooling at the end (CLIP's ResNets use attention pooling; at 32x32 the
  difference is immaterial).
- :class:`ViTImageTower`: a ViT (Dosovitskiy et al. 2021) as CLIP builds it: patch embedding, a class
  token, learned positions, a LayerNorm before the transformer, and the class token's final feature.
"""

from __future__ import annotations

import torch
from torch import nn

from lightning_gen.nn.layers.transformer import Transformer
from lightning_gen.nn.spec import Network

__all__ = ["ResNetImageTower", "ViTImageTower"]


def _check_images(x: torch.Tensor, channels: int, image_size: int, name: str) -> None:
    if x.dim() != 4 or x.shape[1:] != (channels, image_size, image_size):
        raise ValueError(
            f"{name} expects (B, {channels}, {image_size}, {image_size}) images in [-1, 1], got {tuple(x.shape)}; "
            "build the tower with the datamodule's channels and image_size."
        )


def _groups(channels: int) -> int:
    return next(g for g in (8, 4, 2, 1) if channels % g == 0)


class _BasicBlock(nn.Module):
    """conv3x3-GN-ReLU-conv3x3-GN plus the (projected) input, then ReLU (He et al. 2016, Fig. 2)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.GroupNorm(_groups(cout), cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.GroupNorm(_groups(cout), cout),
        )
        self.skip = (
            nn.Identity() if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.GroupNorm(_groups(cout), cout))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class ResNetImageTower(Network):
    """A small ResNet: a 3x3 stem, ``len(blocks)`` stages (widths double, resolution halves after the first).

    Args:
        channels, image_size: the input images.
        width: channels of the first stage; stage k has ``width * 2**k``.
        blocks: basic blocks per stage.
        stem_stride: stride of the stem convolution (2 halves the resolution at once: about 4x less compute,
            what a CPU budget on 28x28 or 32x32 images affords).
    """

    def __init__(
        self,
        channels: int = 1,
        image_size: int = 28,
        width: int = 32,
        blocks: tuple[int, ...] = (1, 1, 1),
        stem_stride: int = 1,
    ) -> None:
        super().__init__()
        if not blocks or min(blocks) < 1:
            raise ValueError(f"blocks must be a non-empty list of counts >= 1, got {blocks}.")
        if stem_stride not in (1, 2):
            raise ValueError(f"stem_stride must be 1 or 2, got {stem_stride}.")
        self.channels, self.image_size = channels, image_size
        layers: list[nn.Module] = [
            nn.Conv2d(channels, width, 3, stem_stride, 1, bias=False), nn.GroupNorm(_groups(width), width), nn.ReLU(inplace=True)
        ]
        cin = width
        for stage, count in enumerate(blocks):
            cout = width * 2**stage
            for i in range(count):
                layers.append(_BasicBlock(cin, cout, stride=2 if stage > 0 and i == 0 else 1))
                cin = cout
        self.trunk = nn.Sequential(*layers)  # (B, cout, H / 2**(stages-1), W / ...)
        self.output_dim = cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x, self.channels, self.image_size, type(self).__name__)
        return self.trunk(x).mean(dim=(2, 3))  # (B, output_dim)


class ViTImageTower(Network):
    """A small Vision Transformer with a class token (CLIP's ``VisionTransformer``).

    Args:
        channels, image_size: the input images; ``image_size`` divisible by ``patch_size``.
        patch_size: side of the square patches (4 on 28x28 or 32x32 images gives 49 or 64 tokens).
        width, layers, heads: the transformer (width divisible by heads).
    """

    def __init__(
        self, channels: int = 1, image_size: int = 28, patch_size: int = 4, width: int = 64, layers: int = 4, heads: int = 4
    ) -> None:
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"image_size ({image_size}) must be divisible by patch_size ({patch_size}).")
        self.channels, self.image_size = channels, image_size
        self.patch_embedding = nn.Conv2d(channels, width, patch_size, patch_size, bias=False)
        num_tokens = (image_size // patch_size) ** 2 + 1
        scale = width**-0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(num_tokens, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = nn.LayerNorm(width)
        self.output_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x, self.channels, self.image_size, type(self).__name__)
        patches = self.patch_embedding(x).flatten(2).transpose(1, 2)  # (B, N, width)
        cls = self.class_embedding.expand(patches.shape[0], 1, -1)
        tokens = torch.cat([cls, patches], dim=1) + self.positional_embedding  # (B, N + 1, width)
        tokens = self.transformer(self.ln_pre(tokens))
        return self.ln_post(tokens[:, 0])  # (B, width): the class token
