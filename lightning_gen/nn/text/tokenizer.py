"""A byte-level BPE tokenizer trained on the training captions, serialisable into a checkpoint.

Byte-level BPE (Sennrich et al. 2016; byte-level variant of GPT-2, Radford et al. 2019, which CLIP's text
tower also uses, Radford et al. 2021): the 256 byte symbols are always in the vocabulary, so any string,
including words, digits, emoji or accents never seen in training, tokenises (into more, shorter pieces).
Training on a few thousand captions takes well under a second with the ``tokenizers`` library.

A sequence is ``<|startoftext|> pieces... <|endoftext|>`` followed by ``<|pad|>`` up to the longest
string of the batch. **Prompts longer than the context are truncated, with a warning** that names the
prompt and the limit (CLIP's reference tokenizer raises instead; a warning keeps batch sampling
running, and the end-of-text token is kept as the last token so end-of-text pooling still works).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable

import torch

__all__ = ["SPECIAL_TOKENS", "BPETokenizer"]

PAD, SOT, EOT = "<|pad|>", "<|startoftext|>", "<|endoftext|>"
#: special tokens, in id order: pad = 0, start = 1, end = 2
SPECIAL_TOKENS = (PAD, SOT, EOT)
_MIN_VOCAB = 256 + len(SPECIAL_TOKENS)


def _import_tokenizers():
    try:
        import tokenizers
    except ImportError as err:  # pragma: no cover - the text extra is part of the install
        raise ImportError(
            "The BPE tokenizer needs the `tokenizers` package: pip install 'lightning-gen[text]'."
        ) from err
    return tokenizers


class BPETokenizer:
    """Byte-level BPE with a fixed vocabulary budget and context length.

    Args:
        vocab_size: vocabulary budget, special tokens and the 256 bytes included (>= 259); training
            merges pieces until it is reached (a small corpus may stop earlier: ids stay below it).
        max_length: context length in tokens, start and end tokens included (>= 3).
        lowercase: lower-case (after NFKC normalisation) before tokenising.

    ``fit(texts)`` trains it; ``encode(texts) -> (ids, mask)``; ``to_json()`` / ``from_json()`` make
    the string that a checkpoint stores (see :class:`~lightning_gen.nn.text.transformer.TransformerTextEncoder`).
    """

    pad_id, sot_id, eot_id = 0, 1, 2

    def __init__(self, vocab_size: int = 1024, max_length: int = 32, lowercase: bool = True) -> None:
        if vocab_size < _MIN_VOCAB:
            raise ValueError(f"vocab_size must be >= {_MIN_VOCAB} (256 bytes + 3 special tokens), got {vocab_size}.")
        if max_length < 3:
            raise ValueError(f"max_length must be >= 3 (start, one token, end), got {max_length}.")
        self.vocab_size = vocab_size
        self.max_length = max_length
        self.lowercase = lowercase
        self._tokenizer = None

    # ------------------------------------------------------------------ training and (de)serialisation
    @property
    def fitted(self) -> bool:
        return self._tokenizer is not None

    def fit(self, texts: Iterable[str]) -> BPETokenizer:
        """Train the merges on ``texts`` (the training captions); returns ``self``."""
        tokenizers = _import_tokenizers()
        from tokenizers import decoders, models, normalizers, pre_tokenizers, trainers

        corpus = [t for t in texts]
        if not corpus or not all(isinstance(t, str) for t in corpus):
            raise ValueError("BPETokenizer.fit needs a non-empty list of strings (the training captions).")
        tokenizer = tokenizers.Tokenizer(models.BPE())
        steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if self.lowercase else [])
        tokenizer.normalizer = normalizers.Sequence(steps)
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=self.vocab_size,
            special_tokens=list(SPECIAL_TOKENS),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte: no unknown token, ever
            show_progress=False,
        )
        tokenizer.train_from_iterator(corpus, trainer=trainer)
        ids = [tokenizer.token_to_id(t) for t in SPECIAL_TOKENS]
        if ids != [self.pad_id, self.sot_id, self.eot_id]:  # pragma: no cover - tokenizers puts specials first
            raise RuntimeError(f"Unexpected special token ids {ids}.")
        self._tokenizer = tokenizer
        return self

    def to_json(self) -> str:
        """The whole tokenizer (merges, vocabulary, options) as one JSON string."""
        self._require_fitted()
        config = {"vocab_size": self.vocab_size, "max_length": self.max_length, "lowercase": self.lowercase}
        return json.dumps({"config": config, "tokenizer": self._tokenizer.to_str()})

    @classmethod
    def from_json(cls, text: str) -> BPETokenizer:
        """Inverse of :meth:`to_json`."""
        tokenizers = _import_tokenizers()
        data = json.loads(text)
        tokenizer = cls(**data["config"])
        tokenizer._tokenizer = tokenizers.Tokenizer.from_str(data["tokenizer"])
        return tokenizer

    def _require_fitted(self) -> None:
        if self._tokenizer is None:
            raise RuntimeError(
                "The BPE tokenizer is not fitted yet: call fit(training_captions) (a model owning the text encoder "
                "does it at setup('fit') from datamodule.training_captions()), or load a checkpoint that holds one."
            )

    # ------------------------------------------------------------------ encoding
    def encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(ids, mask)``: (B, L) long ids and (B, L) bool, L = the longest sequence (<= ``max_length``).

        Raises:
            ValueError: an empty list, or an item that is not a string.
        Warns:
            UserWarning: a prompt longer than ``max_length`` tokens (it is truncated, end token kept).
        """
        self._require_fitted()
        if isinstance(texts, str):
            raise ValueError(f"encode takes a list of strings, got one string {texts!r}; pass [{texts!r}].")
        if len(texts) == 0:
            raise ValueError("Empty prompt list: pass at least one string.")
        bad = [t for t in texts if not isinstance(t, str)]
        if bad:
            raise ValueError(f"Prompts must be strings, got {type(bad[0]).__name__} {bad[0]!r}.")
        body = self.max_length - 2
        rows = []
        for text, encoding in zip(texts, self._tokenizer.encode_batch(list(texts), add_special_tokens=False), strict=True):
            pieces = encoding.ids
            if len(pieces) > body:
                warnings.warn(
                    f"Prompt {text!r} is {len(pieces) + 2} tokens long, more than the text encoder's context of "
                    f"{self.max_length} tokens; it is truncated to {self.decode(pieces[:body])!r}.",
                    stacklevel=3,
                )
                pieces = pieces[:body]
            rows.append([self.sot_id, *pieces, self.eot_id])
        length = max(len(r) for r in rows)
        ids = torch.full((len(rows), length), self.pad_id, dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask = torch.arange(length)[None, :] < torch.tensor([len(r) for r in rows])[:, None]
        return ids, mask

    def decode(self, ids: list[int] | torch.Tensor) -> str:
        """The text of ``ids`` (special tokens dropped); the inverse of encoding up to normalisation."""
        self._require_fitted()
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        return self._tokenizer.decode([i for i in ids if i >= len(SPECIAL_TOKENS)], skip_special_tokens=True).strip()

    def __len__(self) -> int:
        """The number of tokens in the trained vocabulary (<= ``vocab_size``)."""
        self._require_fitted()
        return self._tokenizer.get_vocab_size()

    def __repr__(self) -> str:
        state = f"{len(self)} tokens" if self.fitted else "not fitted"
        return f"BPETokenizer(vocab_size={self.vocab_size}, max_length={self.max_length}, {state})"
