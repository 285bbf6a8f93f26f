"""BigBiGAN networks (Donahue & Simonyan, 2019, "Large Scale Adversarial Representation Learning").

BigBiGAN = BiGAN/ALI (Donahue et al., 2017; Dumoulin et al., 2017) with a BigGAN generator, an encoder
E: x -> z, and a joint discriminator over (x, z) pairs. What is implemented from the paper (section 2):

- :class:`BigBiGANEncoder`: a residual convolutional encoder (BigGAN D blocks without spectral norm, the
  paper uses a ResNet/RevNet) followed by an MLP head that parameterises a diagonal Gaussian
  ``N(mu(x), sigma(x))`` with ``sigma = softplus(.)``; training uses a reparameterised sample (the
  paper's non-deterministic encoder), representations use ``mu``.
- :class:`BigBiGANDiscriminator`: three modules, F on x (a BigGAN D trunk), H on z (an MLP) and J on
  ``(F(x), H(z))`` (an MLP), giving the unary scores ``s_x = theta_x^T F(x)``, ``s_z = theta_z^T H(z)``
  and the joint score ``s_xz = J(F(x), H(z))``. The model sums their hinge losses (paper, section 2).
  Everything in D is spectrally normalised.

The generator is :class:`~lightning_gen.nn.BigGANGenerator` with ``num_classes=0`` (unconditional).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lightning_gen.nn.biggan import discriminator_trunk
from lightning_gen.nn.layers import linear
from lightning_gen.nn.spec import Network

__all__ = ["BigBiGANDiscriminator", "BigBiGANEncoder", "mlp"]


def mlp(in_dim: int, hidden_dim: int, num_layers: int, *, sn: bool) -> nn.Sequential:
    """``num_layers`` (linear, ReLU) pairs: (B, in_dim) -> (B, hidden_dim)."""
    if num_layers < 1:
        raise ValueError(f"num_layers must be >= 1, got {num_layers}.")
    layers: list[nn.Module] = []
    for i in range(num_layers):
        layers += [linear(in_dim if i == 0 else hidden_dim, hidden_dim, sn=sn), nn.ReLU()]
    return nn.Sequential(*layers)


def _check_image(x: torch.Tensor, channels: int, image_size: int, who: str) -> None:
    if x.dim() != 4 or x.shape[1:] != (channels, image_size, image_size):
        raise ValueError(
            f"{who} expects images of shape (B, {channels}, {image_size}, {image_size}), got {tuple(x.shape)}; "
            "match the datamodule's image size/channels to the network's."
        )


class BigBiGANEncoder(Network):
    """Encoder ``x (B, channels, S, S) -> z (B, latent_dim)``: a reparameterised sample of N(mu(x), sigma(x))
    (``stochastic=True``) or mu(x).

    Args:
        channels, image_size: input images (sizes 32, 64, 128).
        latent_dim: size of z (the generator's ``latent_dim``).
        width: channel multiplier of the residual trunk (as BigGAN's ``ch``).
        hidden_dim, num_layers: the MLP head.
        stochastic: Gaussian encoder (paper) or a deterministic one.
    """

    def __init__(
        self,
        channels: int = 3,
        image_size: int = 32,
        latent_dim: int = 128,
        width: int = 32,
        hidden_dim: int = 256,
        num_layers: int = 2,
        stochastic: bool = True,
    ) -> None:
        super().__init__()
        self.channels, self.image_size, self.latent_dim, self.stochastic = (
            channels,
            image_size,
            latent_dim,
            stochastic,
        )
        self.input_shape = (channels, image_size, image_size)
        self.trunk, self.feature_dim = discriminator_trunk(channels, image_size, width, sn=False)
        self.head = mlp(self.feature_dim, hidden_dim, num_layers, sn=False)
        self.out = linear(hidden_dim, 2 * latent_dim if stochastic else latent_dim, sn=False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Globally average-pooled trunk features (B, feature_dim)."""
        _check_image(x, self.channels, self.image_size, "BigBiGANEncoder")
        return F.relu(self.trunk(x)).mean(dim=(2, 3))

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(mu, sigma)`` of the Gaussian posterior, each (B, latent_dim); sigma is None if deterministic."""
        out = self.out(self.head(self.features(x)))
        if not self.stochastic:
            return out, None
        mu, raw_sigma = out.chunk(2, dim=1)
        return mu, F.softplus(raw_sigma) + 1e-4

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """A reparameterised sample z = mu + sigma * eps (B, latent_dim), eps from ``generator`` (on x's
        device; None: the global RNG); mu itself when the encoder is deterministic."""
        mu, sigma = self.posterior(x)
        if sigma is None:
            return mu
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + sigma * eps


class BigBiGANDiscriminator(Network):
    """Joint discriminator ``(x, z) -> scores (B, 3)``, columns ``[s_x, s_z, s_xz]`` (unreduced logits).

    Args:
        channels, image_size: images (sizes 32, 64, 128); ``latent_dim``: size of z.
        width: BigGAN ``ch`` of F's residual trunk.
        attention_resolution: self-attention in F (None: none).
        hidden_dim: width of the H and J MLPs; ``h_layers``, ``j_layers``: their depths.
    """

    def __init__(
        self,
        channels: int = 3,
        image_size: int = 32,
        latent_dim: int = 128,
        width: int = 32,
        attention_resolution: int | None = None,
        hidden_dim: int = 256,
        h_layers: int = 2,
        j_layers: int = 2,
    ) -> None:
        super().__init__()
        self.channels, self.image_size, self.latent_dim = channels, image_size, latent_dim
        self.F, feature_dim = discriminator_trunk(channels, image_size, width, attention_resolution, sn=True)
        self.H = mlp(latent_dim, hidden_dim, h_layers, sn=True)
        self.J = mlp(feature_dim + hidden_dim, hidden_dim, j_layers, sn=True)
        self.score_x = linear(feature_dim, 1)  # theta_x
        self.score_z = linear(hidden_dim, 1)  # theta_z
        self.score_xz = linear(hidden_dim, 1)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        _check_image(x, self.channels, self.image_size, "BigBiGANDiscriminator")
        if z.dim() != 2 or z.shape != (x.shape[0], self.latent_dim):
            raise ValueError(
                f"BigBiGANDiscriminator expects z of shape ({x.shape[0]}, {self.latent_dim}), got {tuple(z.shape)}."
            )
        fx = F.relu(self.F(x)).sum(dim=(2, 3))  # F(x): (B, feature_dim)
        hz = self.H(z)  # H(z): (B, hidden_dim)
        s_x = self.score_x(fx)
        s_z = self.score_z(hz)
        s_xz = self.score_xz(self.J(torch.cat([fx, hz], dim=1)))
        return torch.cat([s_x, s_z, s_xz], dim=1)  # (B, 3)
