"""MNIST and CIFAR-10 with captions made from their labels: the text-to-image and CLIP course datasets.

Each class gets captions through several templates (CLIP's prompt ensembles, Radford et al., 2021), the
digits in number words and in numerals ("a handwritten digit seven", "the number 7"); ``heldout_templates``
keeps some wordings out of training, so that zero-shot accuracy and prompt accuracy can be measured on a
phrasing the model never saw (the frozen-encoder question of Imagen, Saharia et al., 2022). Everything
else (files, splits, sizes) is :class:`~lightning_gen.data.mnist.MNISTDataModule`'s and
:class:`~lightning_gen.data.cifar10.CIFAR10DataModule`'s. See :mod:`lightning_gen.data.captioned`.
"""

from __future__ import annotations

import functools

from lightning_gen.data.captioned import CaptionedDataModule, CaptionSplit, with_article
from lightning_gen.data.cifar10 import CIFAR10DataModule
from lightning_gen.data.mnist import MNISTDataModule, ResizeMode

__all__ = [
    "CIFAR10_TEMPLATES",
    "DIGIT_TEMPLATES",
    "DIGIT_WORDS",
    "CaptionedCIFAR10DataModule",
    "CaptionedMNISTDataModule",
    "digit_fields",
    "name_fields",
]

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# Fields: {word} "seven", {numeral} "7", {a_word} "a seven", {a_numeral} "a 7" / "an 8".
DIGIT_TEMPLATES = (
    "a handwritten digit {word}",
    "the number {numeral}",
    "a picture of {a_numeral}",
    "an image of the digit {word}",
    "a photo of the number {word}",
    "the digit {numeral}, written by hand",
    "a black and white image of {a_numeral}",
    "a handwritten {word}",
    "a scan of the numeral {numeral}",
    "{a_word} drawn in white ink on black",
)

# Fields: {name} "horse", {a_name} "a horse" / "an airplane".
CIFAR10_TEMPLATES = (
    "a photo of {a_name}",
    "a low-resolution photo of the {name}",
    "a blurry photo of {a_name}",
    "a close-up photo of the {name}",
    "a photo of a small {name}",
    "a pixelated picture of {a_name}",
    "an image of the {name}",
    "a cropped photo of {a_name}",
    "a dark photo of the {name}",
    "a tiny color photo of {a_name}",
)


def digit_fields(label: int) -> dict[str, str]:
    """Template fields of digit ``label``: word, numeral and both with their article."""
    word, numeral = DIGIT_WORDS[label], str(label)
    return {
        "word": word,
        "numeral": numeral,
        "a_word": with_article(word),
        "a_numeral": with_article(numeral),
    }


def name_fields(label: int, names: tuple[str, ...]) -> dict[str, str]:
    """Template fields of class ``names[label]``: the name and the name with its article."""
    return {"name": names[label], "a_name": with_article(names[label])}


class CaptionedMNISTDataModule(CaptionedDataModule, MNISTDataModule):
    """MNIST (LeCun et al., 1998) with label captions in words and numerals; batches are captioned dicts.

    Args:
        root, image_size, resize_mode, download, val_fraction: see
            :class:`~lightning_gen.data.mnist.MNISTDataModule`.
        heldout_templates: indices into :data:`DIGIT_TEMPLATES` that training never uses.
        caption_split: the templates that caption val and test: ``"seen"`` (training wordings),
            ``"heldout"`` (only the held-out ones) or ``"all"``.
        batch_size, num_workers, seed, limit: see :class:`~lightning_gen.data.base.BaseDataModule`;
            ``seed`` also picks each item's template.
    """

    def __init__(
        self,
        root: str,
        image_size: int = 28,
        resize_mode: ResizeMode = "pad",
        download: bool = False,
        val_fraction: float = 1 / 12,
        heldout_templates: list[int] | None = None,
        caption_split: CaptionSplit = "seen",
        batch_size: int = 64,
        num_workers: int = 0,
        seed: int = 0,
        limit: int | None = None,
    ) -> None:
        super().__init__(
            root, image_size, resize_mode, download, val_fraction, batch_size, num_workers, seed, limit
        )
        self.set_captions(DIGIT_TEMPLATES, digit_fields, 10, heldout_templates, caption_split)

    @property
    def class_names(self) -> list[str]:
        """``["zero", ..., "nine"]``: label ``i`` is the digit ``i``."""
        return list(DIGIT_WORDS)


class CaptionedCIFAR10DataModule(CaptionedDataModule, CIFAR10DataModule):
    """CIFAR-10 (Krizhevsky, 2009) with label captions ("a photo of a horse", ...); captioned dict batches.

    Args:
        root, classes, download, val_fraction: see :class:`~lightning_gen.data.cifar10.CIFAR10DataModule`.
        heldout_templates: indices into :data:`CIFAR10_TEMPLATES` that training never uses.
        caption_split: the templates that caption val and test (``"seen"``, ``"heldout"`` or ``"all"``).
        batch_size, num_workers, seed, limit: see :class:`~lightning_gen.data.base.BaseDataModule`;
            ``seed`` also picks each item's template.
    """

    def __init__(
        self,
        root: str,
        classes: list[str] | None = None,
        download: bool = False,
        val_fraction: float = 0.1,
        heldout_templates: list[int] | None = None,
        caption_split: CaptionSplit = "seen",
        batch_size: int = 64,
        num_workers: int = 0,
        seed: int = 0,
        limit: int | None = None,
    ) -> None:
        super().__init__(root, classes, download, val_fraction, batch_size, num_workers, seed, limit)
        fields = functools.partial(name_fields, names=tuple(self.classes))
        self.set_captions(CIFAR10_TEMPLATES, fields, self.num_classes, heldout_templates, caption_split)

    @property
    def class_names(self) -> list[str]:
        """The kept class names in label order (``classes``)."""
        return self.classes
