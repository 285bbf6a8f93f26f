"""Fully connected networks: the original GAN setup (Goodfellow et al., 2014) and the MLP autoencoder.

Images are (B, C, H, W) in [-1, 1]; 2-D toy data is (B, 2). ``output_shape``/``input_shape`` give the
per-sample shape, so the same classes serve MNIST (1, 28, 28) and the Gaussian-mixture toys (2,).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from lightning_gen.nn.conditioning import LabelEmbedding
from lightning_gen.nn.spec import Network
from lightning_gen.utils.validation import check_choice

__all__ = ["MLPDiscriminator", "MLPEncoder", "MLPGenerator"]

OutputActivation = Literal["tanh", "none"]


def _mlp(sizes: Sequence[int], act: nn.Module, *, batch_norm: bool = False, dropout: float = 0.0) -> nn.Sequential:
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers.append(nn.Linear(fan_in, fan_out))
        if batch_norm:
            layers.append(nn.BatchNorm1d(fan_out))
        layers.append(act)
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class MLPGenerator(Network):
    """MLP generator G(z[, y]) -> x (Goodfellow et al., 2014; conditional form of Mirza & Osindero, 2014).

    Also the decoder of the MLP autoencoder (latent -> image).
    """

    def __init__(
        self,
        latent_dim: int = 100,
        output_shape: Sequence[int] = (1, 28, 28),
        hidden_dims: Sequence[int] = (256, 512, 1024),
        batch_norm: bool = True,
        output_activation: OutputActivation = "tanh",
        num_classes: int = 0,
        embed_dim: int = 10,
    ) -> None:
        super().__init__()
        check_choice("output_activation", output_activation, OutputActivation)
        self.latent_dim = latent_dim
        self.output_shape = tuple(output_shape)
        self.num_classes = num_classes
        self.label_embedding = LabelEmbedding(num_classes, embed_dim)
        in_dim = latent_dim + (embed_dim if num_classes else 0)
        self.body = _mlp([in_dim, *hidden_dims], nn.ReLU(), batch_norm=batch_norm)
        self.head = nn.Linear(hidden_dims[-1] if hidden_dims else in_dim, math.prod(self.output_shape))
        self.output_activation = nn.Tanh() if output_activation == "tanh" else nn.Identity()

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.label_embedding(labels, z.shape[0])
        h = z if emb is None else torch.cat([z, emb], dim=1)  # (B, latent [+ embed])
        x = self.output_activation(self.head(self.body(h)))
        return x.view(z.shape[0], *self.output_shape)


class MLPDiscriminator(Network):
    """MLP discriminator D(x[, y]) -> one logit per sample (Goodfellow et al., 2014).

    ``pack`` > 1 makes it a PacGAN discriminator (Lin et al., 2018): it takes ``pack`` samples at once,
    concatenated along the feature axis, and returns one logit per pack.
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (1, 28, 28),
        hidden_dims: Sequence[int] = (512, 256),
        negative_slope: float = 0.2,
        dropout: float = 0.0,
        num_classes: int = 0,
        embed_dim: int = 10,
        pack: int = 1,
    ) -> None:
        super().__init__()
        if pack < 1:
            raise ValueError(f"pack must be >= 1, got {pack}.")
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes
        self.pack = pack
        self.label_embedding = LabelEmbedding(num_classes, embed_dim)
        in_dim = pack * (math.prod(self.input_shape) + (embed_dim if num_classes else 0))
        self.body = _mlp([in_dim, *hidden_dims], nn.LeakyReLU(negative_slope), dropout=dropout)
        self.head = nn.Linear(hidden_dims[-1] if hidden_dims else in_dim, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        batch = x.shape[0]
        h = x.reshape(batch, -1)  # (B, prod(input_shape))
        emb = self.label_embedding(labels, batch)
        if emb is not None:
            h = torch.cat([h, emb], dim=1)
        if batch % self.pack:
            raise ValueError(f"Batch size {batch} is not divisible by pack={self.pack}.")
        h = h.reshape(batch // self.pack, -1)  # (B / pack, pack * features)
        return self.head(self.body(h)).view(-1)


class MLPEncoder(Network):
    """MLP encoder x -> latent code, the encoder half of the MLP autoencoder (Hinton & Salakhutdinov, 2006)."""

    def __init__(
        self,
        input_shape: Sequence[int] = (1, 28, 28),
        hidden_dims: Sequence[int] = (512, 256),
        latent_dim: int = 32,
    ) -> None:
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.latent_dim = latent_dim
        self.body = _mlp([math.prod(self.input_shape), *hidden_dims], nn.ReLU())
        self.head = nn.Linear(hidden_dims[-1] if hidden_dims else math.prod(self.input_shape), latent_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x.reshape(x.shape[0], -1)))
