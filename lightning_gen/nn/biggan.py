"""BigGAN networks (Brock, Donahue & Simonyan, 2019, "Large Scale GAN Training for High Fidelity Natural
Image Synthesis"), following the paper's appendix B architectures and its reference implementation.

What is implemented from the paper:

- **Hierarchical latent space** (section 3): z is split into one chunk per generator block plus one for the
  input linear layer; each block's BatchNorms are conditioned on ``[shared class embedding, its z chunk]``.
- **Shared class embedding** (section 3): one embedding table whose output feeds every conditional
  BatchNorm (:class:`~lightning_gen.nn.layers.ConditionalBatchNorm2d`) instead of one table per layer.
- **Spectral normalisation in G and D** (Miyato et al., 2018, as in SAGAN): every convolution and linear
  layer of both networks, the conditional-BN projections and D's projection embedding (not G's shared
  embedding, as in the reference code).
- **Self-attention** (SAGAN, Zhang et al., 2019) after the block that reaches ``attention_resolution``.
- **Projection discriminator** (Miyato & Koyama, 2018): ``D(x, y) = w^T phi(x) + embed(y)^T phi(x)``.
- Orthogonal initialisation; residual blocks of Figure 15 (a)/(b).

Widths: ``width`` is the paper's ``ch``; block channels are ``width`` times the multipliers of the
reference architecture tables (32x32: 4,4,4 in G; 64x64 and 128x128 decrease towards the output).
``num_classes=0`` builds the unconditional variant (BatchNorms conditioned on the z chunks only; no
projection term), which BigBiGAN uses.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lightning_gen.nn.conditioning import LabelEmbedding
from lightning_gen.nn.layers import DBlock, GBlock, SelfAttention, conv2d, embedding, linear
from lightning_gen.nn.spec import Network

__all__ = ["BigGANDiscriminator", "BigGANGenerator", "discriminator_trunk"]

# Channel multipliers per block, from the reference implementation's G_arch / D_arch tables.
_G_ARCH: dict[int, tuple[int, ...]] = {32: (4, 4, 4, 4), 64: (16, 16, 8, 4, 2), 128: (16, 16, 8, 4, 2, 1)}
_D_ARCH: dict[int, tuple[tuple[int, ...], tuple[bool, ...]]] = {
    32: ((4, 4, 4, 4), (True, True, False, False)),
    64: ((1, 2, 4, 8, 16), (True, True, True, True, False)),
    128: ((1, 2, 4, 8, 16, 16), (True, True, True, True, True, False)),
}


def _check_size(image_size: int) -> None:
    if image_size not in _G_ARCH:
        raise ValueError(
            f"image_size={image_size} is not supported by the BigGAN networks; use one of {tuple(_G_ARCH)} "
            "(pad 28x28 MNIST to 32: MNISTDataModule(image_size=32))."
        )


def _check_attention(attention_resolution: int | None, resolutions: list[int]) -> None:
    if attention_resolution is not None and attention_resolution not in resolutions:
        raise ValueError(
            f"attention_resolution={attention_resolution} is not a feature-map size of this network; "
            f"choose one of {sorted(set(resolutions))} or None."
        )


def discriminator_trunk(
    channels: int, image_size: int, width: int, attention_resolution: int | None = None, *, sn: bool = True
) -> tuple[nn.Sequential, int]:
    """BigGAN D's residual trunk: image (B, channels, S, S) -> feature map (B, C, 4, 4); returns (trunk, C).

    Shared by :class:`BigGANDiscriminator`, BigBiGAN's F and (with ``sn=False``) BigBiGAN's encoder.
    """
    _check_size(image_size)
    multipliers, downsample = _D_ARCH[image_size]
    widths = [width * m for m in multipliers]
    resolutions, size, blocks = [], image_size, []
    cin = channels
    for i, (cout, down) in enumerate(zip(widths, downsample, strict=True)):
        blocks.append(DBlock(cin, cout, downsample=down, preactivation=i > 0, sn=sn))
        size = size // 2 if down else size
        resolutions.append(size)
        if attention_resolution == size and attention_resolution not in resolutions[:-1]:
            blocks.append(SelfAttention(cout, sn=sn))
        cin = cout
    _check_attention(attention_resolution, resolutions)
    return nn.Sequential(*blocks), widths[-1]


class BigGANGenerator(Network):
    """BigGAN generator ``(z (B, latent_dim), labels (B,)) -> images (B, channels, S, S)`` in [-1, 1].

    Args:
        latent_dim: size of z; split evenly into ``num_blocks + 1`` chunks (32x32: 4 chunks, so a multiple
            of 4; the paper uses 120 with 6 chunks at 128x128, 128 with 4 at 32x32).
        num_classes: classes of the shared embedding; 0 for the unconditional generator.
        channels, image_size: output images (sizes 32, 64, 128).
        width: the paper's ``ch`` (CIFAR: 64, i.e. 256 channels per block at 32x32).
        shared_dim: size of the shared class embedding (paper: 128).
        attention_resolution: feature-map side after which a self-attention block runs (None: none).
        sn: spectral normalisation (on by default, as in the paper).
    """

    def __init__(
        self,
        latent_dim: int = 128,
        num_classes: int = 10,
        channels: int = 3,
        image_size: int = 32,
        width: int = 64,
        shared_dim: int = 128,
        attention_resolution: int | None = None,
        sn: bool = True,
    ) -> None:
        super().__init__()
        _check_size(image_size)
        multipliers = _G_ARCH[image_size]
        num_blocks = len(multipliers) - 1
        if latent_dim % (num_blocks + 1):
            raise ValueError(
                f"latent_dim={latent_dim} must split evenly into {num_blocks + 1} chunks (hierarchical z: one for "
                f"the input layer and one per block at image_size={image_size}); use a multiple of {num_blocks + 1}."
            )
        self.latent_dim, self.num_classes, self.channels, self.image_size = (
            latent_dim,
            num_classes,
            channels,
            image_size,
        )
        self.output_shape = (channels, image_size, image_size)
        self.chunk = latent_dim // (num_blocks + 1)
        widths = [width * m for m in multipliers]
        self.shared = LabelEmbedding(num_classes, shared_dim)  # the shared class embedding
        cond_dim = self.chunk + (shared_dim if num_classes else 0)
        self.linear = linear(self.chunk, widths[0] * 4 * 4, sn=sn)
        self.blocks = nn.ModuleList()
        self.attention = nn.ModuleDict()
        resolutions = [4 * 2 ** (i + 1) for i in range(num_blocks)]
        for i, (cin, cout) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            self.blocks.append(GBlock(cin, cout, cond_dim, upsample=True, sn=sn))
            if resolutions[i] == attention_resolution:
                self.attention[str(i)] = SelfAttention(cout, sn=sn)
        _check_attention(attention_resolution, resolutions)
        self.out_bn = nn.BatchNorm2d(widths[-1], eps=1e-4)
        self.out_conv = conv2d(widths[-1], channels, 3, sn=sn)
        if self.shared.embedding is not None:
            nn.init.normal_(self.shared.embedding.weight, 0.0, 0.02)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"BigGANGenerator expects z of shape (B, {self.latent_dim}), got {tuple(z.shape)}."
            )
        chunks = z.split(self.chunk, dim=1)  # hierarchical z: chunk 0 -> input, chunk i -> block i
        shared = self.shared(labels, z.shape[0])  # (B, shared_dim) or None (unconditional)
        h = self.linear(chunks[0]).view(z.shape[0], -1, 4, 4)  # (B, C0, 4, 4)
        for i, block in enumerate(self.blocks):
            cond = chunks[i + 1] if shared is None else torch.cat([shared, chunks[i + 1]], dim=1)
            h = block(h, cond)  # (B, C_i, 2H, 2W)
            if str(i) in self.attention:
                h = self.attention[str(i)](h)
        return torch.tanh(self.out_conv(F.relu(self.out_bn(h))))  # (B, channels, S, S)


class BigGANDiscriminator(Network):
    """BigGAN projection discriminator ``(x, labels) -> one logit per sample`` (B,).

    ``phi(x)`` is the residual trunk, a ReLU and a global *sum* pool (as in the paper); the logit is
    ``linear(phi) + <embed(y), phi>`` (projection, Miyato & Koyama 2018); ``num_classes=0`` drops the
    projection term (unconditional).
    """

    def __init__(
        self,
        num_classes: int = 10,
        channels: int = 3,
        image_size: int = 32,
        width: int = 64,
        attention_resolution: int | None = None,
        sn: bool = True,
    ) -> None:
        super().__init__()
        self.num_classes, self.channels, self.image_size = num_classes, channels, image_size
        self.trunk, features = discriminator_trunk(channels, image_size, width, attention_resolution, sn=sn)
        self.feature_dim = features
        self.linear = linear(features, 1, sn=sn)
        self.projection = LabelEmbedding(num_classes, features)
        if self.projection.embedding is not None:
            self.projection.embedding = embedding(num_classes, features, sn=sn)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """phi(x): (B, channels, S, S) -> (B, feature_dim)."""
        if x.shape[1:] != (self.channels, self.image_size, self.image_size):
            raise ValueError(
                f"BigGANDiscriminator expects images of shape (B, {self.channels}, {self.image_size}, "
                f"{self.image_size}), got {tuple(x.shape)}; match the datamodule's image size/channels."
            )
        return F.relu(self.trunk(x)).sum(dim=(2, 3))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        phi = self.features(x)  # (B, C)
        logits = self.linear(phi).squeeze(1)  # (B,)
        emb = self.projection(labels, x.shape[0])  # (B, C) or None
        if emb is not None:
            logits = logits + (emb * phi).sum(dim=1)
        return logits
