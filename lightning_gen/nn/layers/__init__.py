"""Building blocks of the BigGAN family (spectral norm, conditional BatchNorm, self-attention, residual
blocks). Plain torch; the networks in :mod:`lightning_gen.nn.biggan` and :mod:`lightning_gen.nn.bigbigan`
are assembled from them."""

from lightning_gen.nn.layers.attention import SelfAttention
from lightning_gen.nn.layers.conditional_norm import ConditionalBatchNorm2d
from lightning_gen.nn.layers.resblocks import DBlock, GBlock
from lightning_gen.nn.layers.spectral import (
    conv2d,
    embedding,
    is_spectrally_normalized,
    linear,
    maybe_spectral_norm,
)

__all__ = [
    "ConditionalBatchNorm2d",
    "DBlock",
    "GBlock",
    "SelfAttention",
    "conv2d",
    "embedding",
    "is_spectrally_normalized",
    "linear",
    "maybe_spectral_norm",
]
