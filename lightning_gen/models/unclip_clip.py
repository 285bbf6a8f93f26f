"""The frozen CLIP that the unCLIP prior and decoder are trained with (Ramesh et al., 2022).

Both stages of unCLIP live in the embedding space of one CLIP (Radford et al., 2021): the prior maps its
text embedding to its image embedding, the decoder inverts its image embedding. So a checkpoint must say
which CLIP it was trained with, and a prior and a decoder of different CLIPs must never be chained.

Decision: the CLIP is **stored inside each unCLIP checkpoint, once**, in
CLIP's own checkpoint format, not referenced by path. A path breaks when the file moves or is retrained in
place, and principle 5 (a checkpoint alone is enough to sample) would not hold; a CLIP trained here is a few
MB. It is stored once per checkpoint: its weights are taken out of the model's ``state_dict`` (so the
``clip.*`` tensors are not written twice) and put back from the rebuilt CLIP when the checkpoint is
loaded. The CLIP is never trained: no gradient, in no optimizer, always in eval mode, outside the EMA. The
record also keeps the CLIP's fingerprint (:func:`~lightning_gen.models.clip.clip_fingerprint`) and where
it was loaded from (for the user's information only).
"""

from __future__ import annotations

import contextvars
import os
import tempfile
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn

from lightning_gen.data.transforms import resize
from lightning_gen.models.base import CHECKPOINT_KEY, read_checkpoint_info
from lightning_gen.nn.text import TextEncoder, TextEncoding

__all__ = [
    "CLIPMismatchError",
    "FrozenCLIPMixin",
    "check_same_clip",
    "clip_from_record",
    "clip_image_embeddings",
    "clip_text_features",
]


class CLIPMismatchError(ValueError):
    """Two unCLIP stages (or a resumed run and its checkpoint) were trained with different CLIPs."""


def _clip_api():
    from lightning_gen.models.clip import clip_fingerprint, load_frozen_clip

    return clip_fingerprint, load_frozen_clip


def _load_outside_cli(load: Any, path: str) -> nn.Module:
    """``load(path)`` in an empty context: LightningCLI instantiates the unCLIP model inside a context that
    hands *its* configured arguments to every ``save_hyperparameters`` call, so a CLIP loaded in the model's
    ``__init__`` would otherwise record the unCLIP model's hyper-parameters as its own."""
    return contextvars.Context().run(load, path)


def resolve_clip(clip: str | Path | nn.Module) -> tuple[nn.Module, str]:
    """The frozen CLIP module of ``clip`` (a CLIP checkpoint path or a CLIP module) and where it came from."""
    _, load_frozen_clip = _clip_api()
    if isinstance(clip, str | Path):
        path = Path(clip)
        if not path.is_file():
            raise FileNotFoundError(
                f"CLIP checkpoint not found: {path}. Train one first (lightning-gen fit --config configs/clip_mnist.yaml) "
                "and pass its .ckpt as the model's `clip` argument."
            )
        return _load_outside_cli(load_frozen_clip, str(path)), str(path)
    for name in ("encode_text", "encode_image", "embed_dim"):
        if not hasattr(clip, name):
            raise TypeError(f"`clip` must be a CLIP module or a CLIP checkpoint path; {type(clip).__name__} has no `{name}`.")
    clip.eval().requires_grad_(False)
    return clip, f"<{type(clip).__name__} module>"


def clip_text_features(clip: nn.Module, texts: list[str]) -> tuple[torch.Tensor, TextEncoding]:
    """CLIP's L2-normalised text embedding (B, D) and its text tower's token features of ``texts``."""
    if not texts:
        raise ValueError("Got an empty list of prompts; give at least one text.")
    tower = getattr(clip, "text_tower", None)
    if not isinstance(tower, TextEncoder):
        raise TypeError(f"{type(clip).__name__} has no TextEncoder text_tower; the unCLIP prior needs CLIP's token features.")
    with torch.no_grad():
        return clip.encode_text(texts), tower(texts)


def clip_image_embeddings(clip: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """CLIP's L2-normalised image embeddings (B, D) of [-1, 1] images, resized to CLIP's input size first
    (the same antialiased resize as the datamodules), so a decoder may work at another resolution."""
    size = getattr(getattr(clip, "image_tower", None), "image_size", None)
    with torch.no_grad():
        return clip.encode_image(images if size is None else resize(images, int(size)))


def clip_checkpoint(clip: nn.Module) -> dict[str, Any]:
    """The CLIP as a checkpoint dict of its own class (what ``trainer.save_checkpoint`` would write)."""
    checkpoint: dict[str, Any] = {
        "state_dict": clip.state_dict(),
        "hyper_parameters": dict(getattr(clip, "hparams", {})),
        "pytorch-lightning_version": pl.__version__,
    }
    clip.on_save_checkpoint(checkpoint)
    return checkpoint


def clip_from_record(record: dict[str, Any]) -> nn.Module:
    """Rebuild the frozen CLIP stored by :class:`FrozenCLIPMixin` and check its fingerprint."""
    clip_fingerprint, load_frozen_clip = _clip_api()
    fd, name = tempfile.mkstemp(suffix=".ckpt")
    os.close(fd)
    try:
        torch.save(record["checkpoint"], name)
        clip = _load_outside_cli(load_frozen_clip, name)
    finally:
        os.unlink(name)
    if clip_fingerprint(clip) != record["fingerprint"]:
        raise CLIPMismatchError(
            f"The CLIP stored in this checkpoint has fingerprint {clip_fingerprint(clip)}, not the recorded "
            f"{record['fingerprint']}: the checkpoint is damaged."
        )
    return clip


def check_same_clip(first: Any, second: Any) -> None:
    """Raise :class:`CLIPMismatchError` unless two unCLIP stages were trained with the same CLIP."""
    a, b = first.clip_fingerprint, second.clip_fingerprint
    if a != b:
        raise CLIPMismatchError(
            f"The {type(first).__name__} was trained with CLIP {a} ({first.clip_source}) but the {type(second).__name__} "
            f"with CLIP {b} ({second.clip_source}); their embedding spaces differ, so the pair cannot be chained. "
            "Train both stages with the same CLIP checkpoint."
        )


class FrozenCLIPMixin:
    """For a :class:`~lightning_gen.models.base.GenerativeModule` with a ``clip`` constructor argument listed
    in its ``network_names``: freezes it, keeps it in eval mode and stores it once in the checkpoint."""

    clip: nn.Module
    clip_source: str
    clip_fingerprint: str

    def attach_clip(self, clip: str | Path | nn.Module) -> None:
        module, source = resolve_clip(clip)
        clip_fingerprint, _ = _clip_api()
        self.clip = module
        self.clip_source = source
        self.clip_fingerprint = clip_fingerprint(module)

    def train(self, mode: bool = True):
        super().train(mode)  # type: ignore[misc]
        self.clip.eval()  # frozen: no dropout, fixed normalisation statistics
        return self

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)  # type: ignore[misc]
        state = checkpoint["state_dict"]
        for key in [k for k in state if k.startswith("clip.")]:
            del state[key]
        info = checkpoint[CHECKPOINT_KEY]
        info["networks"].pop("clip", None)
        info["clip"] = {
            "fingerprint": self.clip_fingerprint,
            "source": self.clip_source,
            "checkpoint": clip_checkpoint(self.clip),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)  # type: ignore[misc]
        record = checkpoint.get(CHECKPOINT_KEY, {}).get("clip")
        if record is None:
            raise ValueError("This checkpoint has no CLIP record; it was not written by an unCLIP model.")
        if record["fingerprint"] != self.clip_fingerprint:
            raise CLIPMismatchError(
                f"The checkpoint was trained with CLIP {record['fingerprint']} ({record['source']}) but this model "
                f"holds CLIP {self.clip_fingerprint} ({self.clip_source}); resume with the CLIP it was trained with."
            )
        checkpoint["state_dict"].update({f"clip.{k}": v for k, v in self.clip.state_dict().items()})

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path: str | Path, map_location: Any = None, **kwargs: Any):
        """Like :meth:`GenerativeModule.load_from_checkpoint`; the CLIP comes from the checkpoint itself."""
        if "clip" not in kwargs:
            kwargs["clip"] = clip_from_record(read_checkpoint_info(checkpoint_path)["clip"])
        return super().load_from_checkpoint(checkpoint_path, map_location=map_location, **kwargs)  # type: ignore[misc]
