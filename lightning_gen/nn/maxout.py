"""The maxout discriminator of the PacGAN 2-D experiments (Lin et al., 2018; authors' code
github.com/fjxmlzn/PacGAN, ``synthetic_data_experiments``).

Maxout units (Goodfellow et al., 2013): each unit is the max over ``pieces`` affine maps. The PacGAN
toy discriminator has 3 maxout layers of 200 units with 5 pieces and a linear output; packing (``pack=m``)
concatenates m samples along the feature axis, so only the input width changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lightning_gen.nn.init import normal_init_
from lightning_gen.nn.spec import Network

__all__ = ["Maxout", "MaxoutDiscriminator"]


class Maxout(nn.Module):
    """``out[:, j] = max_k (x W_k + b_k)[:, j]`` over ``pieces`` affine maps (Goodfellow et al., 2013)."""

    def __init__(self, in_features: int, out_features: int, pieces: int) -> None:
        super().__init__()
        if pieces < 1:
            raise ValueError(f"pieces must be >= 1, got {pieces}.")
        self.out_features, self.pieces = out_features, pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.linear(x).view(x.shape[0], self.out_features, self.pieces)  # (B, out, pieces)
        return h.max(dim=2).values  # (B, out); max's backward routes to the argmax piece


class MaxoutDiscriminator(Network):
    """PacGAN's toy discriminator: x (B, dim) -> one logit per pack of ``pack`` samples.

    Weights are initialised N(0, 0.02) and biases 0, as in the authors' code.

    Args:
        input_dim: dimension of one sample (2 for the ring and grid toys).
        hidden_dims: width of each maxout layer (PacGAN: three of 200).
        pieces: affine pieces per maxout unit (PacGAN: 5).
        pack: samples per discriminator input (PacGAN m; 1 is the unpacked GAN).
    """

    def __init__(
        self, input_dim: int = 2, hidden_dims: Sequence[int] = (200, 200, 200), pieces: int = 5, pack: int = 1
    ) -> None:
        super().__init__()
        if pack < 1:
            raise ValueError(f"pack must be >= 1, got {pack}.")
        if not hidden_dims:
            raise ValueError("hidden_dims must name at least one maxout layer.")
        self.input_dim, self.pack = input_dim, pack
        sizes = [pack * input_dim, *hidden_dims]
        self.body = nn.Sequential(*(Maxout(a, b, pieces) for a, b in zip(sizes[:-1], sizes[1:], strict=True)))
        self.head = nn.Linear(sizes[-1], 1)
        normal_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        if batch % self.pack:
            raise ValueError(f"Batch size {batch} is not divisible by pack={self.pack}; use a multiple of it.")
        h = x.reshape(batch // self.pack, self.pack * self.input_dim)  # (B / pack, pack * dim)
        return self.head(self.body(h)).view(-1)
