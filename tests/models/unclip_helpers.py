"""Tiny real CLIPs, unCLIP priors and decoders, and captioned real MNIST for the unCLIP tests (2 CPU cores)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from lightning_gen.data.captioned_labels import DIGIT_TEMPLATES, CaptionedMNISTDataModule, digit_fields
from lightning_gen.models.clip import CLIP
from lightning_gen.models.unclip_decoder import UnCLIPDecoder
from lightning_gen.models.unclip_prior import UnCLIPPrior
from lightning_gen.nn.image_towers import ResNetImageTower
from lightning_gen.nn.prior import DiffusionPriorNetwork
from lightning_gen.nn.text.transformer import TransformerTextEncoder
from lightning_gen.nn.unclip_decoder import ImageEmbeddingUNet

EMBED, WIDTH, TOKENS = 8, 16, 32


def all_captions() -> list[str]:
    return [template.format(**digit_fields(k)) for k in range(10) for template in DIGIT_TEMPLATES]


def tiny_clip(seed: int = 0, size: int = 8) -> CLIP:
    """A randomly initialised real CLIP (ResNet image tower, BPE + transformer text tower) on 8x8 digits."""
    torch.manual_seed(seed)
    text = TransformerTextEncoder(width=WIDTH, layers=1, heads=2, vocab_size=512, max_length=TOKENS)
    text.fit_tokenizer(all_captions())
    clip = CLIP(ResNetImageTower(channels=1, image_size=size, width=8, blocks=(1, 1)), text, embed_dim=EMBED)
    return clip.eval().requires_grad_(False)


def tiny_prior(clip: Any, **kwargs: Any) -> UnCLIPPrior:
    network = DiffusionPriorNetwork(embed_dim=EMBED, text_token_dim=WIDTH, max_text_tokens=TOKENS, width=16,
                                    num_layers=1, num_heads=2)  # fmt: skip
    options: dict[str, Any] = dict(num_timesteps=50, ema_decay=0.9, val_steps=2, statistics_batches=2)
    options.update(kwargs)
    return UnCLIPPrior(network, clip, **options)


def tiny_decoder(clip: Any, size: int = 8, text: bool = False, **kwargs: Any) -> UnCLIPDecoder:
    unet = dict(image_size=size, channels=1, widths=[8, 16], attention_resolutions=[size // 2], heads=2, norm_groups=4)
    network = ImageEmbeddingUNet(embed_dim=EMBED, unet=unet, context_dim=16, text_token_dim=WIDTH if text else 0)
    options: dict[str, Any] = dict(num_timesteps=50, ema_decay=0.9, lr=1e-3, val_steps=2)
    options.update(kwargs)
    return UnCLIPDecoder(network, clip, **options)


def captioned_mnist(root: Path, size: int = 8, limit: int = 64, batch_size: int = 16) -> CaptionedMNISTDataModule:
    """Real MNIST digits (the t10k files, see the ``mnist_root`` fixture), resized, with label captions."""
    return CaptionedMNISTDataModule(str(root), image_size=size, resize_mode="resize", limit=limit, batch_size=batch_size)
