"""Pre-LayerNorm transformer blocks shared by CLIP's text tower and the ViT image tower.

The residual attention block of GPT-2 / CLIP (Radford et al. 2019, 2021; Vaswani et al. 2017 with the
LayerNorm moved before each sub-layer): x + attn(ln_1(x)), then x + mlp(ln_2(x)). Attention runs through
``F.scaled_dot_product_attention``; ``causal=True`` is the text tower's autoregressive mask.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Transformer", "TransformerBlock"]


class TransformerBlock(nn.Module):
    """One pre-LN block on (B, L, width) tensors."""

    def __init__(self, width: int, heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width ({width}) must be divisible by heads ({heads}).")
        self.heads = heads
        self.ln_1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln_2 = nn.LayerNorm(width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))

    def attention(self, x: torch.Tensor, causal: bool, key_mask: torch.Tensor | None) -> torch.Tensor:
        b, length, width = x.shape
        q, k, v = self.qkv(x).view(b, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)  # (B, h, L, d)
        attn_mask = None if key_mask is None else key_mask[:, None, None, :]  # (B, 1, 1, L): True = attend
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=causal)  # (B, h, L, d)
        return self.proj(out.transpose(1, 2).reshape(b, length, width))

    def forward(self, x: torch.Tensor, causal: bool = False, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``key_mask`` (B, L) bool: False keys (padding) are not attended to; not combinable with ``causal``."""
        x = x + self.attention(self.ln_1(x), causal, key_mask)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    """``layers`` blocks; ``forward(x, causal, key_mask)`` keeps the shape (B, L, width)."""

    def __init__(self, width: int, layers: int, heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        if layers < 1:
            raise ValueError(f"layers must be >= 1, got {layers}.")
        self.blocks = nn.ModuleList(TransformerBlock(width, heads, mlp_ratio) for _ in range(layers))
        # GPT-2 / CLIP initialisation: residual projections scaled down with depth
        for block in self.blocks:
            for linear in (block.qkv, block.mlp[0]):
                nn.init.normal_(linear.weight, std=width**-0.5)
            for linear in (block.proj, block.mlp[2]):
                nn.init.normal_(linear.weight, std=(width**-0.5) * (2 * layers) ** -0.5)

    def forward(self, x: torch.Tensor, causal: bool = False, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, causal, key_mask)
        return x
