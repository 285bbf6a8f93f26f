"""Coupled networks of CoGAN (Liu & Tuzel, 2016, "Coupled Generative Adversarial Networks").

Two GANs, one per domain, whose generators share their *first* layers (which decode high-level semantics
from z) and whose discriminators share their *last* layers (which encode high-level semantics); the layers
for low-level details stay domain-specific. Trained on samples of each domain's marginal distribution
only, the coupled pair learns the joint distribution: the same z gives a corresponding pair of images.

Each domain's branch is a DCGAN network (:mod:`lightning_gen.nn.dcgan`, Radford et al., 2016); sharing is
done by putting the *same* layer modules into both branches, so the shared parameters are the same
``Parameter`` objects (not copies kept in sync). A layer is one (convolution, normalisation, activation)
group of the DCGAN ``Sequential``.
"""

from __future__ import annotations

import torch
from torch import nn

from lightning_gen.nn.dcgan import DCGANDiscriminator, DCGANGenerator, Norm, num_resolution_steps
from lightning_gen.nn.spec import Network

__all__ = ["CoupledDiscriminator", "CoupledGenerator"]

_G_LAYER = 3  # DCGANGenerator.net: [conv, norm, act] per layer, [conv, tanh] for the output layer
_D_FIRST = 2  # DCGANDiscriminator.trunk: [conv, act] for the input layer, then [conv, norm, act] per layer
_D_LAYER = 3


def _check_shared(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}] for these image sizes, got {value}.")


class CoupledGenerator(Network):
    """Two DCGAN generators sharing their first ``num_shared_layers`` layers: z -> (image_a, image_b).

    With ``image_size=32`` each branch has 4 layers (z -> 4x4 -> 8x8 -> 16x16 -> 32x32); the output layer is
    always domain-specific, so ``num_shared_layers`` is in [0, 3]. The paper's digit experiments share all
    but the last layer, the default here.

    Args:
        latent_dim: size of z.
        channels_a, channels_b: channels of each domain's images (may differ, e.g. RGB and depth).
        image_size: side of the square images (a DCGAN size: 8, 16, 32, 64, ...).
        base_width: DCGAN width (the layer before the output has ``base_width`` channels).
        norm: normalisation of the DCGAN layers.
        num_shared_layers: leading layers shared by the two branches (None: all but the output layer).
    """

    def __init__(
        self,
        latent_dim: int = 100,
        channels_a: int = 1,
        channels_b: int = 1,
        image_size: int = 32,
        base_width: int = 64,
        norm: Norm = "batch",
        num_shared_layers: int | None = None,
    ) -> None:
        super().__init__()
        num_layers = num_resolution_steps(image_size) + 1
        shared = num_layers - 1 if num_shared_layers is None else num_shared_layers
        _check_shared("num_shared_layers", shared, 0, num_layers - 1)
        self.latent_dim, self.image_size, self.num_shared_layers = latent_dim, image_size, shared
        self.channels_a, self.channels_b = channels_a, channels_b
        self.branch_a = DCGANGenerator(latent_dim, channels_a, image_size, base_width, norm)
        self.branch_b = DCGANGenerator(latent_dim, channels_b, image_size, base_width, norm)
        self._split = shared * _G_LAYER
        for i in range(self._split):  # the same modules, hence the same Parameter objects, in both branches
            self.branch_b.net[i] = self.branch_a.net[i]

    def shared_parameters(self) -> list[nn.Parameter]:
        """Parameters of the shared layers (the same objects in ``branch_a`` and ``branch_b``)."""
        return list(self.branch_a.net[: self._split].parameters())

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.branch_a.net[: self._split](z[:, :, None, None])  # shared layers, run once
        return self.branch_a.net[self._split :](h), self.branch_b.net[self._split :](
            h
        )  # (B, C_a, S, S), (B, C_b, S, S)


class CoupledDiscriminator(Network):
    """Two DCGAN discriminators sharing their last ``num_shared_layers`` layers (the logit layer included):
    (image_a, image_b) -> (logits_a, logits_b), one logit per image.

    With ``image_size=32`` each branch has 4 layers (32x32 -> 16x16 -> 8x8 -> 4x4 -> logit); the input layer is
    always domain-specific, so ``num_shared_layers`` is in [0, 3]. Default: all but the input layer.

    Args:
        channels_a, channels_b: channels of each domain's images.
        image_size: side of the square images.
        base_width: width of the input layer (doubled at each downsampling).
        norm: normalisation of the layers after the input layer.
        num_shared_layers: trailing layers shared by the two branches (None: all but the input layer).
    """

    def __init__(
        self,
        channels_a: int = 1,
        channels_b: int = 1,
        image_size: int = 32,
        base_width: int = 64,
        norm: Norm = "batch",
        num_shared_layers: int | None = None,
    ) -> None:
        super().__init__()
        num_layers = num_resolution_steps(image_size) + 1  # trunk layers + the logit head
        shared = num_layers - 1 if num_shared_layers is None else num_shared_layers
        _check_shared("num_shared_layers", shared, 0, num_layers - 1)
        self.image_size, self.num_shared_layers = image_size, shared
        self.branch_a = DCGANDiscriminator(channels_a, image_size, base_width, norm)
        self.branch_b = DCGANDiscriminator(channels_b, image_size, base_width, norm)
        if shared > 0:
            self.branch_b.head = self.branch_a.head
        trunk_len = len(self.branch_a.trunk)  # _D_FIRST + _D_LAYER * (num_layers - 2) modules
        for i in range(max(trunk_len - (shared - 1) * _D_LAYER, _D_FIRST), trunk_len):
            self.branch_b.trunk[i] = self.branch_a.trunk[i]

    def shared_parameters(self) -> list[nn.Parameter]:
        """Parameters of the shared layers (the same objects in ``branch_a`` and ``branch_b``)."""
        ids_b = {id(p) for p in self.branch_b.parameters()}
        return [p for p in self.branch_a.parameters() if id(p) in ids_b]

    def forward(self, x_a: torch.Tensor, x_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.branch_a(x_a), self.branch_b(x_b)  # (B_a,), (B_b,)
