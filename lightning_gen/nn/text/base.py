"""The one interface of every text encoder: ``encoder(texts) -> TextEncoding``.

Implementations: a tokenizer + small transformer tower trained here (CLIP's text tower, Radford et al. 2021),
the frozen pretrained all-MiniLM-L6-v2 (Imagen's recipe of a frozen pretrained text encoder, Saharia et al.
2022), and the frozen text tower of a CLIP checkpoint trained here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lightning_gen.nn.spec import Network

__all__ = ["TextEncoder", "TextEncoding"]


@dataclass
class TextEncoding:
    """What a text encoder gives for a batch of B strings.

    Attributes:
        tokens: (B, L, token_dim) per-token features (the cross-attention context of a denoiser).
        mask: (B, L) bool, True where ``tokens`` holds a real token (False: padding).
        pooled: (B, pooled_dim) one vector per string (CLIP's end-of-text feature, or mean pooling).
    """

    tokens: torch.Tensor
    mask: torch.Tensor
    pooled: torch.Tensor

    def __getitem__(self, index: slice | torch.Tensor) -> TextEncoding:
        """Rows ``index`` of every field (slicing a batch of encodings)."""
        return TextEncoding(self.tokens[index], self.mask[index], self.pooled[index])

    def to(self, device: torch.device | str) -> TextEncoding:
        """The same encoding on ``device``."""
        return TextEncoding(self.tokens.to(device), self.mask.to(device), self.pooled.to(device))


class TextEncoder(Network):
    """Base class: ``forward(texts: list[str]) -> TextEncoding``.

    Subclasses set ``token_dim``, ``pooled_dim`` and ``max_length`` (tokens beyond it are truncated with a
    warning, see the subclass), and ``trainable`` (False for frozen pretrained towers: the owning model puts
    none of their parameters in an optimizer and runs them under ``torch.no_grad``).
    An encoder tokenises inside ``forward`` and puts the result on the device of its own parameters.
    """

    token_dim: int
    pooled_dim: int
    max_length: int
    trainable: bool = True

    def forward(self, texts: list[str]) -> TextEncoding:  # pragma: no cover - interface
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        for tensor in (*self.parameters(), *self.buffers()):
            return tensor.device
        return torch.device("cpu")
