"""DCGAN networks (Radford, Metz & Chintala, 2016).

The guidelines of the paper, each visible below: strided convolutions instead of pooling (D) and
fractionally-strided convolutions instead of upsampling (G); batch normalisation in both (``norm`` also
offers GroupNorm or none, as the course compares them); ReLU in G with tanh on the output, LeakyReLU(0.2)
in D; no fully connected hidden layers. Each is an option of its own, so that an ablation can vary one at
a time (the course's DCGAN slide): ``resampling`` ("strided", or "pooling": nearest upsampling + conv in G,
conv + average pooling in D), ``norm`` ("batch", "group", "none") and, in D and the encoder, ``activation``
("dcgan": LeakyReLU, or "relu"). G keeps ReLU with a tanh output in every variant: the paper's change to
the activations was D's LeakyReLU, and the tanh bounds samples to the data's [-1, 1]. ``guidelines=False`` is the "before DCGAN" baseline with the same widths, every
component at once: pooling, no normalisation, plain ReLU and a fully connected projection of z in G; it
overrides the three options.

Sizes: square images whose side is 4 * 2**k (8, 16, 32, 64, 128, 256).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from lightning_gen.nn.conditioning import BatchStatistics, LabelEmbedding, per_class_batches
from lightning_gen.nn.init import normal_init_
from lightning_gen.nn.spec import Network
from lightning_gen.utils.validation import check_choice

__all__ = ["Activation", "DCGANDiscriminator", "DCGANEncoder", "DCGANGenerator", "Norm", "Resampling",
           "num_resolution_steps"]

Norm = Literal["batch", "group", "none"]
Resampling = Literal["strided", "pooling"]
Activation = Literal["dcgan", "relu"]
SUPPORTED_SIZES = (8, 16, 32, 64, 128, 256)


def num_resolution_steps(image_size: int) -> int:
    """Number of x2 steps between 4x4 and ``image_size``; a clear error for unsupported sizes."""
    if image_size not in SUPPORTED_SIZES:
        raise ValueError(
            f"image_size={image_size} is not supported by the DCGAN networks; use one of {SUPPORTED_SIZES} "
            "(for 28x28 MNIST set the datamodule's image_size to 32)."
        )
    return SUPPORTED_SIZES.index(image_size) + 1


def _components(
    guidelines: bool, norm: Norm, resampling: Resampling, activation: Activation
) -> tuple[Norm, Resampling, Activation]:
    """The checked components; ``guidelines=False`` turns every one to its "before DCGAN" form."""
    check_choice("norm", norm, Norm)
    check_choice("resampling", resampling, Resampling)
    check_choice("activation", activation, Activation)
    return (norm, resampling, activation) if guidelines else ("none", "pooling", "relu")


def _norm(kind: Norm, channels: int) -> nn.Module:
    if kind == "none":
        return nn.Identity()
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.GroupNorm(min(32, max(1, channels // 4)), channels)


def _up(cin: int, cout: int, resampling: Resampling) -> nn.Module:
    if resampling == "strided":  # fractionally-strided convolution
        return nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False)
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, padding=1))


def _down(cin: int, cout: int, resampling: Resampling) -> nn.Module:
    if resampling == "strided":
        return nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=False)
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.AvgPool2d(2))


class DCGANGenerator(Network):
    """DCGAN generator z (B, latent_dim) -> image (B, channels, image_size, image_size) in [-1, 1].

    Also the decoder of the convolutional autoencoder. ``num_classes > 0`` concatenates a label embedding
    to z (conditional GAN, Mirza & Osindero, 2014).
    """

    def __init__(
        self,
        latent_dim: int = 100,
        channels: int = 1,
        image_size: int = 32,
        base_width: int = 64,
        norm: Norm = "batch",
        guidelines: bool = True,
        num_classes: int = 0,
        embed_dim: int = 50,
        resampling: Resampling = "strided",
    ) -> None:
        super().__init__()
        norm, resampling, _ = _components(guidelines, norm, resampling, "dcgan")
        steps = num_resolution_steps(image_size)
        self.latent_dim, self.channels, self.image_size = latent_dim, channels, image_size
        self.num_classes = num_classes
        self.output_shape = (channels, image_size, image_size)
        self.label_embedding = LabelEmbedding(num_classes, embed_dim)
        in_dim = latent_dim + (embed_dim if num_classes else 0)
        widths = [base_width * 2 ** (steps - 1 - i) for i in range(steps)]  # 4x4 ... image_size/2
        act = nn.ReLU(inplace=True)
        # project: (B, in_dim, 1, 1) -> (B, widths[0], 4, 4)
        if guidelines:
            project: nn.Module = nn.ConvTranspose2d(in_dim, widths[0], 4, stride=1, padding=0, bias=False)
        else:  # a fully connected projection, as before DCGAN
            project = nn.Sequential(nn.Flatten(), nn.Linear(in_dim, widths[0] * 16), nn.Unflatten(1, (widths[0], 4, 4)))
        layers: list[nn.Module] = [project, _norm(norm, widths[0]), act]
        for cin, cout in zip(widths[:-1], widths[1:], strict=True):
            layers += [_up(cin, cout, resampling), _norm(norm, cout), act]
        layers += [_up(widths[-1], channels, resampling), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        normal_init_(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.label_embedding(labels, z.shape[0])
        h = z if emb is None else torch.cat([z, emb], dim=1)
        return self.net(h[:, :, None, None])  # (B, C, S, S)


def _down_trunk(
    in_channels: int, image_size: int, base_width: int, norm: Norm, resampling: Resampling, activation: Activation,
    negative_slope: float,
) -> tuple[nn.Sequential, int]:
    """image (B, in_channels, S, S) -> features (B, width, 4, 4); returns the trunk and that width."""
    steps = num_resolution_steps(image_size)
    widths = [base_width * 2**i for i in range(steps)]
    act = nn.LeakyReLU(negative_slope, inplace=True) if activation == "dcgan" else nn.ReLU(inplace=True)
    layers: list[nn.Module] = [_down(in_channels, widths[0], resampling), act]  # no norm on the input layer
    for cin, cout in zip(widths[:-1], widths[1:], strict=True):
        layers += [_down(cin, cout, resampling), _norm(norm, cout), act]
    return nn.Sequential(*layers), widths[-1]


class DCGANDiscriminator(Network):
    """DCGAN discriminator image -> one logit per sample (no sigmoid: losses take logits).

    ``num_classes > 0`` appends a learned per-class plane as an extra input channel (conditional GAN).
    ``pack > 1`` is PacGAN (Lin et al., 2018): ``pack`` samples concatenated along channels, one logit
    per pack.

    ``batch_statistics`` (conditional, BatchNorm): in training mode ``"per_class"`` (the default) runs each
    class's samples as a batch of their own, so BatchNorm's statistics show the discriminator the spread
    *within* a class, as an unconditional DCGAN's see the spread of a whole batch of fakes
    (:func:`~lightning_gen.nn.conditioning.per_class_batches` says why); ``"pooled"`` normalises the mixed
    batch at once, which lets a short run's generator collapse to one image per class. Eval mode uses the
    running statistics either way.
    """

    def __init__(
        self,
        channels: int = 1,
        image_size: int = 32,
        base_width: int = 64,
        norm: Norm = "batch",
        guidelines: bool = True,
        negative_slope: float = 0.2,
        num_classes: int = 0,
        pack: int = 1,
        batch_statistics: BatchStatistics = "per_class",
        resampling: Resampling = "strided",
        activation: Activation = "dcgan",
    ) -> None:
        super().__init__()
        norm, resampling, activation = _components(guidelines, norm, resampling, activation)
        check_choice("batch_statistics", batch_statistics, BatchStatistics)
        if pack < 1:
            raise ValueError(f"pack must be >= 1, got {pack}.")
        self.channels, self.image_size, self.num_classes, self.pack = channels, image_size, num_classes, pack
        # per-class sub-batches only matter where BatchNorm normalises over the batch
        self.per_class_statistics = (
            bool(num_classes) and norm == "batch" and batch_statistics == "per_class"
        )
        if self.per_class_statistics and pack > 1:
            raise ValueError(
                f"batch_statistics='per_class' splits the batch by class, which cannot keep packs of {pack}; "
                "set batch_statistics='pooled' for a conditional PacGAN discriminator."
            )
        self.label_embedding = LabelEmbedding(num_classes, image_size * image_size)
        in_channels = pack * (channels + (1 if num_classes else 0))
        self.trunk, width = _down_trunk(in_channels, image_size, base_width, norm, resampling, activation,
                                        negative_slope)
        self.head = nn.Conv2d(width, 1, 4, stride=1, padding=0)  # (B, width, 4, 4) -> (B, 1, 1, 1)
        normal_init_(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        batch = x.shape[0]
        if x.shape[1:] != (self.channels, self.image_size, self.image_size):
            raise ValueError(
                f"Discriminator expects images of shape (B, {self.channels}, {self.image_size}, {self.image_size}),"
                f" got {tuple(x.shape)}; match the datamodule's image_size/channels to the network's."
            )
        emb = self.label_embedding(labels, batch)
        if emb is not None:
            x = torch.cat([x, emb.view(batch, 1, self.image_size, self.image_size)], dim=1)
        if batch % self.pack:
            raise ValueError(f"Batch size {batch} is not divisible by pack={self.pack}.")
        x = x.reshape(batch // self.pack, -1, self.image_size, self.image_size)  # (B/pack, pack*C, S, S)
        if self.per_class_statistics and self.training:
            return per_class_batches(self._logits, x, labels, self.num_classes)
        return self._logits(x)

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x)).view(-1)  # (B, C', S, S) -> (B,)


class DCGANEncoder(Network):
    """DCGAN-style convolutional encoder image -> latent code (the discriminator's trunk with a linear
    head), the encoder of the convolutional autoencoder."""

    def __init__(
        self,
        channels: int = 1,
        image_size: int = 32,
        latent_dim: int = 64,
        base_width: int = 64,
        norm: Norm = "batch",
        guidelines: bool = True,
        resampling: Resampling = "strided",
        activation: Activation = "dcgan",
    ) -> None:
        super().__init__()
        norm, resampling, activation = _components(guidelines, norm, resampling, activation)
        self.channels, self.image_size, self.latent_dim = channels, image_size, latent_dim
        self.trunk, width = _down_trunk(channels, image_size, base_width, norm, resampling, activation, 0.2)
        self.head = nn.Linear(width * 16, latent_dim)
        normal_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x).flatten(1))  # (B, latent_dim)
