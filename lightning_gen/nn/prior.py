"""The unCLIP diffusion prior's denoiser: diffusers' ``PriorTransformer`` behind a plain-argument network.

Ramesh et al. (2022, "Hierarchical Text-Conditional Image Generation with CLIP Latents", Section 2.1): a
decoder-only (causal) Transformer over the sequence [text tokens, CLIP text embedding, diffusion timestep
embedding, noised CLIP image embedding, a final learned query token], whose output at the query predicts
the clean (un-noised) image embedding. This is the token layout of DALLE2-pytorch's ``DiffusionPriorNetwork``
and of diffusers' ``PriorTransformer`` (``added_emb_type="prd"`` is the learned query), which this wrapper
uses instead of another Transformer. It adds only

- a linear map of the text encoder's token features (any width) to the embedding width;
- the learned null text (embedding and tokens) that classifier-free guidance on the text uses
  (Ho & Salimans 2022; unCLIP drops the text conditioning for the prior 10% of the time);
- the data statistics: diffusers keeps ``clip_mean``/``clip_std`` (initialised to zeros) to map the prior's
  standardised output back to CLIP space. They are not trained; the owning model sets them from the
  training image embeddings (:meth:`set_embedding_statistics`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import PriorTransformer
from torch import nn

from lightning_gen.nn.spec import Network

__all__ = ["DiffusionPriorNetwork"]


class DiffusionPriorNetwork(Network):
    """``(x_t, t, *, text_embedding, text_tokens, text_mask, null_mask=None) -> predicted x_0`` of shape (B, D).

    Args:
        embed_dim: D, the CLIP embedding width (of the text and the image embedding).
        text_token_dim: width of the text encoder's token features.
        max_text_tokens: L, the number of token positions (the text encoder's context; shorter token
            sequences are padded and masked).
        width: the Transformer width (diffusers: heads * head dim).
        num_layers, num_heads: Transformer depth and heads (``width`` must be divisible by ``num_heads``).
        dropout: dropout inside the Transformer blocks.
    """

    def __init__(
        self,
        embed_dim: int,
        text_token_dim: int,
        max_text_tokens: int,
        width: int = 64,
        num_layers: int = 4,
        num_heads: int = 4,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        for name, value in (("embed_dim", embed_dim), ("text_token_dim", text_token_dim),
                            ("max_text_tokens", max_text_tokens), ("num_layers", num_layers)):  # fmt: skip
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}.")
        if num_heads < 1 or width % num_heads:
            raise ValueError(f"width={width} must be a multiple of num_heads={num_heads} (>= 1).")
        self.embed_dim = embed_dim
        self.text_token_dim = text_token_dim
        self.max_text_tokens = max_text_tokens
        self.transformer = PriorTransformer(
            num_attention_heads=num_heads,
            attention_head_dim=width // num_heads,
            num_layers=num_layers,
            embedding_dim=embed_dim,
            num_embeddings=max_text_tokens,
            additional_embeddings=4,  # text embedding, time, noised image embedding, learned query
            dropout=dropout,
            norm_in_type="layer",
            added_emb_type="prd",
        )
        self.transformer.clip_mean.requires_grad_(False)
        self.transformer.clip_std.requires_grad_(False)
        nn.init.normal_(self.transformer.positional_embedding, std=0.02)  # diffusers starts them at zero
        nn.init.normal_(self.transformer.prd_embedding, std=0.02)
        self.token_proj = nn.Linear(text_token_dim, embed_dim)
        self.null_text_embedding = nn.Parameter(torch.randn(embed_dim) * 0.02)
        self.null_text_tokens = nn.Parameter(torch.randn(max_text_tokens, embed_dim) * 0.02)

    # ------------------------------------------------------------------ data statistics (clip_mean / clip_std)
    @property
    def has_statistics(self) -> bool:
        """Whether :meth:`set_embedding_statistics` has run (diffusers initialises the std to zeros)."""
        return bool((self.transformer.clip_std > 0).all())

    @torch.no_grad()
    def set_embedding_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Per-dimension mean and std (D,) of the training image embeddings; std is floored at 1e-6."""
        if mean.shape != (self.embed_dim,) or std.shape != (self.embed_dim,):
            raise ValueError(f"Expected mean and std of shape ({self.embed_dim},), got {tuple(mean.shape)}, {tuple(std.shape)}.")
        self.transformer.clip_mean.copy_(mean[None])
        self.transformer.clip_std.copy_(std.clamp(min=1e-6)[None])

    def normalize(self, embedding: torch.Tensor) -> torch.Tensor:
        """CLIP image embeddings (B, D) -> the standardised space the diffusion runs in."""
        if not self.has_statistics:
            raise RuntimeError("The prior's embedding statistics are unset; the model sets them when training starts.")
        return (embedding - self.transformer.clip_mean) / self.transformer.clip_std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`normalize` (diffusers' ``post_process_latents``)."""
        return self.transformer.post_process_latents(x)

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        x_t: torch.Tensor,
        t: torch.Tensor,
        *,
        text_embedding: torch.Tensor,
        text_tokens: torch.Tensor,
        text_mask: torch.Tensor,
        null_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict the standardised clean image embedding.

        Args:
            x_t: (B, D) noised standardised image embedding; t: (B,) timesteps.
            text_embedding: (B, D) CLIP text embedding; text_tokens: (B, L', token_dim) with L' <= L;
            text_mask: (B, L') True at real tokens.
            null_mask: (B,) bool, True where the text is replaced by the learned null text (guidance).
        """
        batch, length = text_tokens.shape[:2]
        if length > self.max_text_tokens:
            raise ValueError(
                f"Got {length} text tokens but this prior has {self.max_text_tokens} positions; build it with "
                f"max_text_tokens >= the text encoder's max_length."
            )
        pad = self.max_text_tokens - length
        tokens = F.pad(self.token_proj(text_tokens), (0, 0, 0, pad))  # (B, L, D)
        mask = F.pad(text_mask.bool(), (0, pad), value=False)
        if null_mask is not None:
            drop = null_mask.to(x_t.device).bool()
            text_embedding = torch.where(drop[:, None], self.null_text_embedding.expand(batch, -1), text_embedding)
            tokens = torch.where(drop[:, None, None], self.null_text_tokens.expand(batch, -1, -1), tokens)
            mask = mask | drop[:, None]
        out = self.transformer(
            x_t, t, proj_embedding=text_embedding, encoder_hidden_states=tokens, attention_mask=mask
        )
        return out.predicted_image_embedding
