"""The unCLIP decoder's denoiser: a text-conditional U-Net whose context is made from a CLIP image embedding.

Ramesh et al. (2022, Section 2.1), following GLIDE (Nichol et al., 2022): the decoder is conditioned on the
CLIP image embedding "by projecting and adding CLIP embeddings to the existing timestep embedding, and by
projecting CLIP embeddings into four extra tokens of context that are concatenated to the sequence of outputs
from the GLIDE text encoder". Here the U-Net is :class:`~lightning_gen.nn.unet_text.TextConditionalUNet`
(diffusers' ``UNet2DConditionModel``): the embedding is its pooled input (an MLP of it is added to the
timestep embedding) and a linear map of it gives ``num_embedding_tokens`` context tokens, followed by the
(projected) text tokens when ``text_token_dim`` > 0. The unconditional branch of guidance is the U-Net's
learned null context (``null_mask``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lightning_gen.nn.spec import Network
from lightning_gen.nn.unet_text import TextConditionalUNet

__all__ = ["ImageEmbeddingUNet"]

_SET_HERE = ("context_dim", "pooled_dim")


class ImageEmbeddingUNet(Network):
    """``(x_t, t, *, image_embedding, text_tokens=None, text_mask=None, null_mask=None) -> prediction``.

    Args:
        embed_dim: D, the CLIP image embedding width.
        unet: arguments of :class:`TextConditionalUNet` (image_size, channels, widths, ...) except
            ``context_dim`` and ``pooled_dim``, which this network sets.
        num_embedding_tokens: context tokens made from the embedding (GLIDE/unCLIP: 4).
        context_dim: width of the context tokens (None: ``embed_dim``).
        text_token_dim: width of the text tokens appended to the context (0: the decoder ignores the text).
    """

    def __init__(
        self,
        embed_dim: int,
        unet: dict[str, Any],
        num_embedding_tokens: int = 4,
        context_dim: int | None = None,
        text_token_dim: int = 0,
    ) -> None:
        super().__init__()
        if embed_dim < 1 or num_embedding_tokens < 1 or text_token_dim < 0:
            raise ValueError(
                f"Need embed_dim >= 1, num_embedding_tokens >= 1 and text_token_dim >= 0, got {embed_dim}, "
                f"{num_embedding_tokens}, {text_token_dim}."
            )
        clash = sorted(set(unet) & set(_SET_HERE))
        if clash:
            raise ValueError(f"ImageEmbeddingUNet sets {clash} of its U-Net itself; drop them from `unet`.")
        self.embed_dim = embed_dim
        self.num_embedding_tokens = num_embedding_tokens
        self.text_token_dim = text_token_dim
        width = context_dim or embed_dim
        self.unet = TextConditionalUNet(**unet, context_dim=width, pooled_dim=embed_dim)
        self.embedding_tokens = nn.Linear(embed_dim, num_embedding_tokens * width)
        self.text_proj = nn.Linear(text_token_dim, width) if text_token_dim else None

    # what DDPM reads from its denoiser
    @property
    def channels(self) -> int:
        return self.unet.channels

    @property
    def image_size(self) -> int:
        return self.unet.image_size

    num_classes = 0

    def context(
        self, image_embedding: torch.Tensor, text_tokens: torch.Tensor | None, text_mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Context tokens (B, K [+ L], width) and their mask: K from the embedding, then the text tokens."""
        batch = image_embedding.shape[0]
        tokens = self.embedding_tokens(image_embedding).reshape(batch, self.num_embedding_tokens, -1)  # (B, K, W)
        mask = torch.ones(batch, self.num_embedding_tokens, dtype=torch.bool, device=tokens.device)
        if self.text_proj is None:
            return tokens, mask
        if text_tokens is None or text_mask is None:
            raise ValueError("This decoder also reads the caption's tokens; pass text_tokens and text_mask.")
        return torch.cat([tokens, self.text_proj(text_tokens)], dim=1), torch.cat([mask, text_mask.bool()], dim=1)

    def forward(
        self,
        x_t: torch.Tensor,
        t: torch.Tensor,
        *,
        image_embedding: torch.Tensor,
        text_tokens: torch.Tensor | None = None,
        text_mask: torch.Tensor | None = None,
        null_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``image_embedding`` (B, D); ``text_tokens`` (B, L, text_token_dim) and ``text_mask`` (B, L) when the
        decoder reads text; ``null_mask`` (B,) bool: rows given the null context (guidance's unconditional)."""
        if image_embedding.shape[-1] != self.embed_dim:
            raise ValueError(f"Expected {self.embed_dim}-d image embeddings, got {tuple(image_embedding.shape)}.")
        context, mask = self.context(image_embedding, text_tokens, text_mask)
        return self.unet(x_t, t, context=context, context_mask=mask, pooled=image_embedding, null_mask=null_mask)
