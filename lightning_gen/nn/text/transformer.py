"""CLIP's text tower, trained here: byte-level BPE tokens -> a causal transformer -> TextEncoding.

Radford et al. (2021), section 2.4: a GPT-2-style transformer (Radford et al. 2019) over lower-cased
byte-pair-encoded text with ``[SOS]`` and ``[EOS]`` tokens, masked self-attention, a final LayerNorm, and
"the activations of the highest layer of the transformer at the [EOS] token" as the text's feature.
``pooling="mean"`` averages the real tokens' features instead.

The tokenizer lives in the module's extra state (``get_extra_state`` / ``set_extra_state``): it is a JSON
string inside ``state_dict()``, so every checkpoint of a model owning this tower carries the tokenisation
of its prompts and still loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import torch
from torch import nn

from lightning_gen.nn.layers.transformer import Transformer
from lightning_gen.nn.text.base import TextEncoder, TextEncoding
from lightning_gen.nn.text.tokenizer import BPETokenizer
from lightning_gen.utils.validation import check_choice

__all__ = ["TextPooling", "TransformerTextEncoder"]

TextPooling = Literal["eot", "mean"]


class TransformerTextEncoder(TextEncoder):
    """A small trainable transformer text encoder with its own BPE tokenizer (CLIP's text tower).

    Args:
        width: token feature size (``token_dim`` = ``pooled_dim`` = width).
        layers, heads: transformer depth and attention heads (width divisible by heads).
        vocab_size: the tokenizer's vocabulary budget (rows of the token embedding).
        max_length: context in tokens, start/end included; longer prompts are truncated with a warning.
        pooling: ``"eot"`` (the end-of-text token's feature, CLIP) or ``"mean"`` (mean over real tokens).
        causal: masked (autoregressive) self-attention as in CLIP; False attends both ways.

    The tokenizer must be fitted (``fit_tokenizer(captions)``) before the first ``forward``; models do it at
    ``setup("fit")``, and a loaded checkpoint brings its own.
    """

    def __init__(
        self,
        width: int = 128,
        layers: int = 4,
        heads: int = 4,
        vocab_size: int = 1024,
        max_length: int = 32,
        pooling: TextPooling = "eot",
        causal: bool = True,
    ) -> None:
        super().__init__()
        check_choice("pooling", pooling, TextPooling)
        self.tokenizer = BPETokenizer(vocab_size=vocab_size, max_length=max_length)
        self.token_dim = self.pooled_dim = width
        self.max_length = max_length
        self.pooling = pooling
        self.causal = causal
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.positional_embedding = nn.Parameter(torch.empty(max_length, width))
        self.transformer = Transformer(width, layers, heads)
        self.ln_final = nn.LayerNorm(width)
        nn.init.normal_(self.token_embedding.weight, std=0.02)  # CLIP's initialisation
        nn.init.normal_(self.positional_embedding, std=0.01)

    # ------------------------------------------------------------------ the tokenizer
    @property
    def tokenizer_fitted(self) -> bool:
        return self.tokenizer.fitted

    def fit_tokenizer(self, texts: Iterable[str]) -> None:
        """Train the BPE merges on the training captions (the embedding table keeps its size)."""
        self.tokenizer.fit(texts)

    def get_extra_state(self) -> str:
        """The tokenizer as a JSON string ('' while unfitted): it travels inside ``state_dict``."""
        return self.tokenizer.to_json() if self.tokenizer.fitted else ""

    def set_extra_state(self, state: str) -> None:
        if not state:
            return
        tokenizer = BPETokenizer.from_json(state)
        if (tokenizer.vocab_size, tokenizer.max_length) != (self.tokenizer.vocab_size, self.max_length):
            raise ValueError(
                f"The state's tokenizer has vocab_size={tokenizer.vocab_size}, max_length={tokenizer.max_length}, "
                f"but this text encoder was built with vocab_size={self.tokenizer.vocab_size}, "
                f"max_length={self.max_length}; build it with the checkpoint's arguments."
            )
        self.tokenizer = tokenizer

    # ------------------------------------------------------------------ forward
    def forward(self, texts: list[str]) -> TextEncoding:
        ids, mask = self.tokenizer.encode(texts)  # (B, L) each, L <= max_length
        ids, mask = ids.to(self.device), mask.to(self.device)
        x = self.token_embedding(ids) + self.positional_embedding[: ids.shape[1]]  # (B, L, width)
        # Causal attention: a real token never sees the padding after its end token, so no key mask is needed;
        # bidirectional attention masks the padding keys out.
        x = self.transformer(x, causal=True) if self.causal else self.transformer(x, key_mask=mask)
        tokens = self.ln_final(x)  # (B, L, width)
        if self.pooling == "eot":
            end = mask.sum(dim=1) - 1  # index of <|endoftext|> in each row
            pooled = tokens[torch.arange(tokens.shape[0], device=tokens.device), end]  # (B, width)
        else:
            weights = mask.to(tokens.dtype).unsqueeze(-1)
            pooled = (tokens * weights).sum(1) / weights.sum(1)
        return TextEncoding(tokens=tokens, mask=mask, pooled=pooled)
