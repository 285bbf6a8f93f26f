"""Captions made from labels through templates, with some wordings held out; the captioned batch layout.

A captioned batch is the dict ``{"image": (B, C, H, W) in [-1, 1], "text": list[str], "label": (B,) long}``
(the default collate of the items :class:`CaptionedDataset` yields). Tokenisation happens in the model.

Captions follow CLIP's prompt templates (Radford et al., 2021, "Learning Transferable Visual Models From
Natural Language Supervision", section 3.1.4: "a photo of a {label}." and its variants, averaged for
zero-shot classification). :class:`CaptionTemplates` holds the templates of a dataset and which of them
are held out of training, to measure generalisation to an unseen phrasing (Imagen's question, Saharia et
al., 2022); the caption of train item ``i`` in epoch ``e`` is one of the seen templates, chosen by a hash
of (``seed``, ``e``, ``i``), so an image meets several wordings over the epochs and a resumed run sees the
captions an uninterrupted one would. Val and test items use epoch 0 and the templates of ``caption_split``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

import torch
from torch.utils.data import Dataset

from lightning_gen.data.base import BaseDataModule, EpochSeededRandomSampler
from lightning_gen.utils.validation import check_choice

__all__ = [
    "CaptionSplit",
    "CaptionTemplates",
    "CaptionedDataModule",
    "CaptionedDataset",
    "EpochKeySampler",
    "caption_draw",
    "with_article",
]

CaptionSplit = Literal["seen", "heldout", "all"]
Fields = Callable[[int], Mapping[str, str]]


def with_article(word: str) -> str:
    """``word`` with its indefinite article by sound: "a horse", "an airplane", "an 8", "an eight", "a one"."""
    vowel_sound = word[:1].lower() in "aeiou8" and not word.lower().startswith("one")
    return f"an {word}" if vowel_sound else f"a {word}"


def caption_draw(seed: int, epoch: int, index: int) -> int:
    """A 64-bit integer that depends only on (seed, epoch, index): stable across processes and machines."""
    digest = hashlib.blake2b(f"{seed}/{epoch}/{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class CaptionTemplates:
    """The caption templates of a labelled dataset, some of them held out of training.

    Args:
        templates: ``str.format`` patterns; their fields are filled by ``fields(label)``.
        fields: label -> the template fields (a picklable function: DataLoader workers receive it).
        num_classes: labels are ``0 .. num_classes - 1``.
        heldout: indices of templates kept out of training (their wordings are for evaluation only).

    Raises:
        ValueError: a held-out index is out of range or repeated, every template is held out, or a
            template uses a field that ``fields`` does not give.
    """

    def __init__(
        self, templates: Sequence[str], fields: Fields, num_classes: int, heldout: Sequence[int] = ()
    ) -> None:
        self.templates = tuple(templates)
        self.fields = fields
        self.num_classes = num_classes
        heldout = [int(i) for i in heldout]
        bad = [i for i in heldout if not 0 <= i < len(self.templates)]
        if bad or len(set(heldout)) != len(heldout):
            raise ValueError(
                f"heldout_templates must be distinct indices in 0..{len(self.templates) - 1}, got {heldout}. "
                f"The templates are: {self.describe()}"
            )
        if len(heldout) == len(self.templates):
            raise ValueError("heldout_templates holds out every template: leave at least one for training.")
        self.heldout = tuple(sorted(heldout))
        self.seen = tuple(i for i in range(len(self.templates)) if i not in self.heldout)
        for template in self.templates:  # fails now, not in the middle of an epoch
            try:
                template.format(**fields(0))
            except (KeyError, IndexError) as err:
                raise ValueError(f"Caption template {template!r} uses an unknown field {err}.") from err

    def describe(self) -> str:
        """``"0: '...', 1: '...'"``: the templates with their indices (for error messages and docs)."""
        return ", ".join(f"{i}: {t!r}" for i, t in enumerate(self.templates))

    def indices(self, split: CaptionSplit) -> tuple[int, ...]:
        """Template indices of ``split``: the ``"seen"`` (training) ones, the ``"heldout"`` ones, or ``"all"``.

        Raises:
            ValueError: ``split="heldout"`` but no template is held out.
        """
        check_choice("caption_split", split, CaptionSplit)
        if split == "heldout" and not self.heldout:
            raise ValueError(
                "caption_split='heldout' needs held-out templates: pass heldout_templates=[...]."
            )
        return {"seen": self.seen, "heldout": self.heldout, "all": tuple(range(len(self.templates)))}[split]

    def caption(self, label: int, template: int) -> str:
        """The caption of ``label`` through template number ``template``."""
        if not 0 <= label < self.num_classes:
            raise ValueError(f"label must be in 0..{self.num_classes - 1}, got {label}.")
        return self.templates[template].format(**self.fields(label))

    def prompts_for(self, label: int, split: CaptionSplit = "all") -> list[str]:
        """Every caption of ``label`` in ``split``, in template order (zero-shot classifiers average them)."""
        return [self.caption(label, t) for t in self.indices(split)]

    def class_prompts(self, split: CaptionSplit = "all") -> list[list[str]]:
        """``prompts_for`` of every label: ``[num_classes][templates in split]``."""
        return [self.prompts_for(label, split) for label in range(self.num_classes)]

    def choose(self, label: int, split: CaptionSplit, seed: int, epoch: int, index: int) -> str:
        """The caption of item ``index`` (label ``label``) in ``epoch``: a template of ``split`` chosen by
        :func:`caption_draw`."""
        choices = self.indices(split)
        return self.caption(label, choices[caption_draw(seed, epoch, index) % len(choices)])


class CaptionedDataset(Dataset[dict[str, Any]]):
    """Items ``{"image", "text", "label"}`` of an ``(image, label)`` dataset, captioned by templates.

    Keys are an index (epoch 0) or an ``(index, epoch)`` pair, as :class:`EpochKeySampler` yields them.

    Args:
        images: a dataset of ``(image (C, H, W) in [-1, 1], label)`` items.
        templates: the captions.
        split: which templates caption the items.
        seed: seeds the choice of template.
    """

    def __init__(self, images: Dataset, templates: CaptionTemplates, split: CaptionSplit, seed: int) -> None:
        templates.indices(split)  # checks split now
        self.images = images
        self.templates = templates
        self.split = split
        self.seed = seed

    def __len__(self) -> int:
        return len(self.images)  # type: ignore[arg-type]

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        index, epoch = key if isinstance(key, tuple) else (key, 0)
        image, label = self.images[index]
        label = torch.as_tensor(label, dtype=torch.long)
        text = self.templates.choose(int(label), self.split, self.seed, epoch, index)
        return {"image": image, "text": text, "label": label}


class EpochKeySampler(EpochSeededRandomSampler):
    """:class:`~lightning_gen.data.base.EpochSeededRandomSampler`'s permutation as ``(index, epoch)`` keys."""

    def __iter__(self) -> Iterator[tuple[int, int]]:  # type: ignore[override]
        return ((index, self.epoch) for index in super().__iter__())


class CaptionedDataModule(BaseDataModule):
    """Mixin that captions an image datamodule's ``(image, label)`` splits (put it first in the bases).

    The subclass builds its datasets as usual and calls :meth:`set_captions` in ``__init__``; after ``setup`` every split is a :class:`CaptionedDataset`:
    train on the seen templates (the caption depends on the epoch), val and test on ``caption_split``.
    """

    captions: CaptionTemplates
    caption_split: CaptionSplit

    def set_captions(
        self,
        templates: Sequence[str],
        fields: Fields,
        num_classes: int,
        heldout_templates: Sequence[int] | None,
        caption_split: CaptionSplit,
    ) -> None:
        """Set ``captions`` and ``caption_split`` (call it in ``__init__``); checks both now.

        Raises:
            ValueError: bad held-out indices, an unknown ``caption_split``, or ``"heldout"`` without any.
        """
        self.captions = CaptionTemplates(templates, fields, num_classes, heldout_templates or ())
        self.caption_split = check_choice("caption_split", caption_split, CaptionSplit)
        self.captions.indices(caption_split)

    @property
    def templates(self) -> tuple[str, ...]:
        """All caption templates; ``heldout_templates`` indexes them."""
        return self.captions.templates

    def prompts_for(self, label: int, split: CaptionSplit = "all") -> list[str]:
        """Every caption of ``label`` through the templates of ``split`` (see :class:`CaptionTemplates`)."""
        return self.captions.prompts_for(label, split)

    def class_prompts(self, split: CaptionSplit = "all") -> list[list[str]]:
        """``[num_classes][templates]`` prompts: the input of a zero-shot classifier or a prompt benchmark."""
        return self.captions.class_prompts(split)

    def training_captions(self) -> list[str]:
        """Every caption the train split can show (each class through the seen templates): the corpus a
        text encoder's tokenizer is fitted on."""
        return [prompt for prompts in self.class_prompts("seen") for prompt in prompts]

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        for name, split in (
            ("train_set", "seen"),
            ("val_set", self.caption_split),
            ("test_set", self.caption_split),
        ):
            dataset = getattr(self, name)
            if dataset is not None and not isinstance(dataset, CaptionedDataset):
                setattr(self, name, CaptionedDataset(dataset, self.captions, split, self.seed))

    def train_sampler(self, dataset: Dataset) -> EpochKeySampler:
        return EpochKeySampler(dataset, self.seed)
