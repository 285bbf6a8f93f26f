"""The text-conditional denoiser: diffusers' ``UNet2DConditionModel`` behind lightning-gen's ``(x_t, t[, cond])``.

Imagen (Saharia et al. 2022, section 2 and appendix F) conditions its U-Nets on a frozen text encoder's
token embeddings through cross-attention, and adds a pooled text embedding to the timestep embedding;
GLIDE (Nichol et al. 2022) and unCLIP (Ramesh et al. 2022) feed their decoders "context tokens" the same
way. diffusers' ``UNet2DConditionModel`` is that U-Net (residual blocks, self- and cross-attention
transformer blocks at chosen resolutions and in the middle block); this wrapper only

- builds it from plain arguments (:class:`~lightning_gen.nn.spec.Network`, so checkpoints rebuild it);
- layer-normalises the context tokens and the pooled embedding (Saharia et al. report that Layer Normalization
  of the text embeddings in the attention and pooling layers improves Imagen; here it also puts a frozen
  encoder's features, e.g. MiniLM's unit-norm pooled vector, on a scale the U-Net can use), projects
  the tokens from the encoder's ``context_dim`` to the attention width (``encoder_hid_dim``) and masks padding
  tokens (``encoder_attention_mask``);
- adds an MLP of the pooled embedding to the timestep embedding (``class_embed_type="projection"``);
- replaces the context of the rows flagged in ``null_mask`` by a learned null embedding (one null token
  and a null pooled vector): the unconditional branch of classifier-free guidance (Ho & Salimans 2022),
  trained by text dropout;
- concatenates conditioning images on the channel axis and takes the conditioning-augmentation level of a
  super-resolution stage (Ho et al. 2021, section 4.2; Imagen's SR stages), embedded sinusoidally and fed
  to the same projection as the pooled embedding.

It takes tensors, not strings: a text-to-image model encodes its prompts first, and an unCLIP decoder can
pass context tokens made from a CLIP image embedding.
"""

from __future__ import annotations

import torch
from diffusers import UNet2DConditionModel
from diffusers.models.embeddings import get_timestep_embedding
from torch import nn

from lightning_gen.nn.spec import Network
from lightning_gen.nn.unet import attention_levels

__all__ = ["TextConditionalUNet"]


class TextConditionalUNet(Network):
    """Denoiser ``(x_t, t, cond=None, *, context, context_mask, pooled, null_mask, cond_level) -> prediction``.

    Args:
        image_size: side of the (square) images.
        channels: image channels (of ``x_t`` and of the prediction).
        context_dim: features per context token (the text encoder's ``token_dim``).
        pooled_dim: features of the pooled embedding added to the timestep embedding (0: none).
        cond_channels: channels of a conditioning image concatenated to ``x_t`` (0: none).
        cond_level_input: take ``cond_level`` (conditioning augmentation level, timestep units) as an input.
        widths: channels per resolution level; level ``i`` works at ``image_size / 2**i``.
        layers_per_block: residual blocks per level.
        attention_resolutions: resolutions whose blocks get self- and cross-attention (the middle block
            always has them).
        cross_attention_dim: width of the attention's keys/values after projecting the context
            (None: the widest level).
        heads: attention heads (every width must be divisible by it).
        dropout: dropout in the residual blocks.
        norm_groups: GroupNorm groups (must divide every width).
    """

    num_classes = 0  # no class labels: the condition is the context

    def __init__(
        self,
        image_size: int,
        channels: int = 1,
        context_dim: int = 384,
        pooled_dim: int = 384,
        cond_channels: int = 0,
        cond_level_input: bool = False,
        widths: tuple[int, ...] | list[int] = (32, 64, 64),
        layers_per_block: int = 1,
        attention_resolutions: tuple[int, ...] | list[int] = (7,),
        cross_attention_dim: int | None = None,
        heads: int = 4,
        dropout: float = 0.0,
        norm_groups: int = 8,
    ) -> None:
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if not widths:
            raise ValueError("widths must list at least one level, e.g. [32, 64, 64].")
        for name, value in (("image_size", image_size), ("channels", channels), ("context_dim", context_dim),
                            ("layers_per_block", layers_per_block), ("heads", heads)):  # fmt: skip
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}.")
        if cond_channels < 0 or pooled_dim < 0:
            raise ValueError(f"cond_channels and pooled_dim must be >= 0, got {cond_channels} and {pooled_dim}.")
        attention = attention_levels(image_size, widths, attention_resolutions, norm_groups)
        bad = [w for w in widths if w % heads]
        if bad:
            raise ValueError(f"heads={heads} must divide every width; it does not divide {bad}.")
        self.image_size = image_size
        self.channels = channels
        self.context_dim = context_dim
        self.pooled_dim = pooled_dim
        self.cond_channels = cond_channels
        self.cond_level_input = cond_level_input
        self.level_dim = widths[0] if cond_level_input else 0
        embed_input = pooled_dim + self.level_dim
        self.unet = UNet2DConditionModel(
            sample_size=image_size,
            in_channels=channels + cond_channels,
            out_channels=channels,
            block_out_channels=widths,
            layers_per_block=layers_per_block,
            down_block_types=tuple("CrossAttnDownBlock2D" if a else "DownBlock2D" for a in attention),
            up_block_types=tuple("CrossAttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attention)),
            mid_block_type="UNetMidBlock2DCrossAttn",
            cross_attention_dim=cross_attention_dim or widths[-1],
            encoder_hid_dim=context_dim,
            encoder_hid_dim_type="text_proj",
            attention_head_dim=heads,  # diffusers' legacy name for the number of heads
            dropout=dropout,
            norm_num_groups=norm_groups,
            class_embed_type="projection" if embed_input else None,
            projection_class_embeddings_input_dim=embed_input or None,
        )
        # the unconditional branch: one learned null token (the context of a dropped caption) and a null pooled
        self.null_context = nn.Parameter(torch.randn(1, context_dim) * 0.02)
        self.null_pooled = nn.Parameter(torch.zeros(pooled_dim))
        self.context_norm = nn.LayerNorm(context_dim)
        self.pooled_norm = nn.LayerNorm(pooled_dim) if pooled_dim else nn.Identity()

    def null_inputs(self, batch: int, length: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The null embedding for ``batch`` rows, padded to ``length`` tokens: (context, mask, pooled)."""
        context = torch.zeros(batch, length, self.context_dim, device=self.null_context.device, dtype=self.null_context.dtype)
        context[:, :1] = self.null_context
        mask = torch.zeros(batch, length, dtype=torch.bool, device=context.device)
        mask[:, 0] = True
        return context, mask, self.null_pooled.expand(batch, -1)

    def forward(
        self,
        x_t: torch.Tensor,
        t: torch.Tensor,
        cond: torch.Tensor | None = None,
        *,
        context: torch.Tensor | None = None,
        context_mask: torch.Tensor | None = None,
        pooled: torch.Tensor | None = None,
        null_mask: torch.Tensor | None = None,
        cond_level: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict the model target (noise, v or x0, as trained) for ``x_t`` (B, C, H, W) at timesteps ``t`` (B,).

        Args:
            cond: (B, cond_channels, H, W) conditioning image, required iff ``cond_channels > 0``.
            context: (B, L, context_dim) context tokens; None means the null embedding for every row.
            context_mask: (B, L) bool, True at real tokens (None: all real).
            pooled: (B, pooled_dim) pooled embedding, required with ``context`` when ``pooled_dim > 0``.
            null_mask: (B,) bool, rows whose context is replaced by the null embedding (text dropout, the
                unconditional half of classifier-free guidance).
            cond_level: (B,) conditioning-augmentation level, required iff ``cond_level_input``.
        """
        batch = x_t.shape[0]
        if (cond is None) != (self.cond_channels == 0):
            raise ValueError(
                f"This denoiser takes a {self.cond_channels}-channel conditioning image; got "
                f"{'none' if cond is None else tuple(cond.shape)}."
            )
        if cond is not None:
            x_t = torch.cat([x_t, cond.to(x_t.dtype)], dim=1)  # (B, C + cond_channels, H, W)
        context, context_mask, pooled = self._context(batch, context, context_mask, pooled, null_mask)
        embed_inputs = [self.pooled_norm(pooled.to(x_t.dtype))] if self.pooled_dim else []
        if self.cond_level_input:
            if cond_level is None:
                raise ValueError("This denoiser takes the conditioning augmentation level; pass cond_level.")
            embed_inputs.append(get_timestep_embedding(cond_level.reshape(batch), self.level_dim, flip_sin_to_cos=True).to(x_t))
        elif cond_level is not None:
            raise ValueError("This denoiser was built with cond_level_input=False; do not pass cond_level.")
        class_input = torch.cat(embed_inputs, dim=-1) if embed_inputs else None  # (B, pooled_dim + level_dim)
        return self.unet(
            x_t, t, encoder_hidden_states=self.context_norm(context.to(x_t.dtype)), encoder_attention_mask=context_mask,
            class_labels=class_input,
        ).sample

    def _context(
        self,
        batch: int,
        context: torch.Tensor | None,
        mask: torch.Tensor | None,
        pooled: torch.Tensor | None,
        null_mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(context (B, L, D), mask (B, L) bool, pooled (B, Dp)) with the null embedding where asked."""
        if context is None:
            return self.null_inputs(batch)
        if context.dim() != 3 or context.shape[0] != batch or context.shape[-1] != self.context_dim:
            raise ValueError(
                f"context must be (batch={batch}, tokens, context_dim={self.context_dim}), got {tuple(context.shape)}; "
                "the text encoder's token_dim must equal the denoiser's context_dim."
            )
        mask = torch.ones(context.shape[:2], dtype=torch.bool, device=context.device) if mask is None else mask.bool()
        if self.pooled_dim:
            if pooled is None or tuple(pooled.shape) != (batch, self.pooled_dim):
                raise ValueError(
                    f"This denoiser adds a pooled embedding of {self.pooled_dim} features to the timestep embedding; "
                    f"pass pooled of shape ({batch}, {self.pooled_dim}), got {None if pooled is None else tuple(pooled.shape)}."
                )
        else:
            pooled = context.new_zeros(batch, 0)
        if null_mask is not None:
            null_context, null_mask_tokens, null_pooled = self.null_inputs(batch, context.shape[1])
            rows = null_mask.reshape(batch).bool()
            context = torch.where(rows[:, None, None], null_context.to(context.dtype), context)
            mask = torch.where(rows[:, None], null_mask_tokens, mask)
            pooled = torch.where(rows[:, None], null_pooled.to(pooled.dtype), pooled)
        return context, mask, pooled
