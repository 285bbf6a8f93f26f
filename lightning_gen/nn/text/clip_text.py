"""The frozen text tower of a CLIP checkpoint trained here, as a :class:`TextEncoder`.

Radford et al. (2021) train the text tower jointly with the image tower; unCLIP (Ramesh et al. 2022)
and text-to-image models here can then condition on that frozen tower. The checkpoint is read directly
(``torch.load(weights_only=True)``; nn/ never imports Lightning): the tower is rebuilt from the network spec
that every lightning-gen checkpoint records, its weights (and BPE tokenizer, which is part of its state)
and the text projection are loaded, and the CLIP's fingerprint (:func:`clip_state_fingerprint`) is kept.

Outputs: ``tokens`` are the tower's final-LayerNorm token features (B, L, width) with their mask;
``pooled`` is the CLIP text embedding, projected and L2-normalised (B, embed_dim), exactly what
``CLIP.encode_text`` gives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lightning_gen.nn.spec import build_network
from lightning_gen.nn.text.base import TextEncoder, TextEncoding

__all__ = ["CLIP_TOWER_PREFIXES", "CLIPTextEncoder", "clip_state_fingerprint", "read_clip_checkpoint"]

#: the state-dict entries that make a CLIP's embedding spaces (the temperature is not part of them)
CLIP_TOWER_PREFIXES = ("image_tower.", "text_tower.", "image_projection.", "text_projection.")
_CHECKPOINT_KEY = "lightning_gen"  # models.base.CHECKPOINT_KEY (nn/ does not import models/)


def clip_state_fingerprint(state: Mapping[str, Any]) -> str:
    """sha256 over a CLIP state dict's tower entries (names, dtypes, shapes, bytes; string extra states such
    as the tokenizer by their UTF-8): equal for a model and its checkpoint, whatever device it sits on."""
    digest = hashlib.sha256()
    for name in sorted(k for k in state if k.startswith(CLIP_TOWER_PREFIXES)):
        value = state[name]
        digest.update(name.encode())
        if isinstance(value, torch.Tensor):
            tensor = value.detach().cpu().contiguous()
            digest.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
            digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
        else:
            digest.update(repr(value).encode())
    return digest.hexdigest()


def read_clip_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint dict of a CLIP trained here (weights-only load), checked to be one.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a lightning-gen checkpoint, or not a CLIP one.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"CLIP checkpoint not found: {path}. Train one with `lightning-gen fit --config configs/clip_mnist.yaml`."
        )
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    info = checkpoint.get(_CHECKPOINT_KEY) if isinstance(checkpoint, dict) else None
    if not info or "text_tower" not in info.get("networks", {}) or "text_projection.weight" not in checkpoint.get("state_dict", {}):
        written_by = info.get("model", "?") if info else "not lightning-gen"
        raise ValueError(f"{path} is not a CLIP checkpoint of lightning-gen (written by: {written_by}).")
    return checkpoint


class CLIPTextEncoder(TextEncoder):
    """The frozen text tower (and text projection) of a CLIP checkpoint trained here.

    Args:
        checkpoint: path of the CLIP ``.ckpt`` (``lightning-gen fit --config configs/clip_*.yaml``).

    ``fingerprint`` is the CLIP's :func:`clip_state_fingerprint`; a model that embeds this encoder stores
    it (extra state) and refuses to load onto a different CLIP.
    """

    trainable = False

    def __init__(self, checkpoint: str) -> None:
        super().__init__()
        ckpt = read_clip_checkpoint(checkpoint)
        state = ckpt["state_dict"]
        tower = build_network(ckpt[_CHECKPOINT_KEY]["networks"]["text_tower"], "text_tower")
        tower.load_state_dict({k.removeprefix("text_tower."): v for k, v in state.items() if k.startswith("text_tower.")})
        weight = state["text_projection.weight"]
        projection = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
        projection.load_state_dict({"weight": weight})
        self.tower = tower.eval().requires_grad_(False)
        self.projection = projection.requires_grad_(False)
        self.fingerprint = clip_state_fingerprint(state)
        self.token_dim = tower.token_dim
        self.pooled_dim = weight.shape[0]
        self.max_length = tower.max_length

    def train(self, mode: bool = True) -> CLIPTextEncoder:  # frozen: always in eval mode
        return super().train(False)

    def get_extra_state(self) -> str:
        return self.fingerprint

    def set_extra_state(self, state: str) -> None:
        if state and state != self.fingerprint:
            raise ValueError(
                f"This state was made with the CLIP of fingerprint {state[:12]}..., but {self.init_args['checkpoint']} "
                f"has fingerprint {self.fingerprint[:12]}...: the CLIP checkpoint changed since; pass the CLIP the model "
                "was trained with."
            )

    @torch.no_grad()
    def forward(self, texts: list[str]) -> TextEncoding:
        encoding = self.tower(texts)
        pooled = F.normalize(self.projection(encoding.pooled), dim=-1)  # (B, embed_dim)
        return TextEncoding(tokens=encoding.tokens, mask=encoding.mask, pooled=pooled)
