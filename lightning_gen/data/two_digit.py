"""Two real MNIST digits side by side, captioned with their order; some ordered pairs held out of training.

In the spirit of alignDRAW's captioned MNIST (Mansimov, Parisotto, Ba & Salakhutdinov, 2016, "Generating
Images from Captions with Attention", section 4.1: digits placed by the caption), built to test
composition: does a text-to-image model put each digit where the text says, also for an ordered pair it
never saw ("a 3 on the left and a 7 on the right" when only 7-then-3 was trained)?

Canvas (documented choice): 32x32, one channel, black background. Each digit's central 24x24 (the 28x28
MNIST box less a 2-pixel border, which is empty in nearly all digits) is resized to 16x16 (bilinear,
antialiased, aspect kept), and the two sit at rows 8..23, columns 0..15 (left) and 16..31 (right); see
:func:`digit_halves`. The label is ``10 * left + right`` (100 classes).

The pairs are drawn once from ``seed``: a pair class uniformly among the allowed ordered pairs, then a
random image of each digit. Train pairs come from MNIST's train split and never include a held-out pair;
val and test pairs come from the test split's digits (images the model never saw) and serve the pairs of
``eval_pairs`` (``"heldout"``: only the held-out ones, for composition tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch.utils.data import Dataset

from lightning_gen.data.captioned import CaptionedDataModule, CaptionSplit, with_article
from lightning_gen.data.captioned_labels import DIGIT_WORDS
from lightning_gen.data.mnist import MNISTSplit, read_mnist
from lightning_gen.data.transforms import center_crop_resize, uint8_to_float
from lightning_gen.utils.images import to_uint8
from lightning_gen.utils.validation import check_choice, check_positive

__all__ = [
    "CANVAS_SIZE",
    "DIGIT_BOX",
    "PAIR_TEMPLATES",
    "DigitPairsDataset",
    "PairSplit",
    "TwoDigitMNISTDataModule",
    "digit_halves",
    "draw_pairs",
    "pair_fields",
    "shrink_digits",
]

PairSplit = Literal["seen", "heldout", "all"]
CANVAS_SIZE = 32
DIGIT_BOX = 16  # each digit is DIGIT_BOX x DIGIT_BOX
TOP = (CANVAS_SIZE - DIGIT_BOX) // 2  # rows TOP .. TOP + DIGIT_BOX - 1

# Fields: {left}/{right} numerals, {left_word}/{right_word}, and each with its article ({a_left}, ...).
PAIR_TEMPLATES = (
    "{a_left} on the left and {a_right} on the right",
    "{right} to the right of {left}",
    "{left} and then {right}",
    "{left_word} followed by {right_word}",
    "{a_right} on the right and {a_left} on the left",
    "the digits {left} and {right}, from left to right",
    "{left_word} on the left, {right_word} on the right",
    "{a_left_word} to the left of {a_right_word}",
    "{a_right} with {a_left} to its left",
    "{right_word} to the right of {left_word}",
)


def pair_fields(label: int) -> dict[str, str]:
    """Template fields of pair label ``10 * left + right``."""
    fields = {}
    for side, digit in (("left", label // 10), ("right", label % 10)):
        fields[side] = str(digit)
        fields[f"{side}_word"] = DIGIT_WORDS[digit]
        fields[f"a_{side}"] = with_article(str(digit))
        fields[f"a_{side}_word"] = with_article(DIGIT_WORDS[digit])
    return fields


def shrink_digits(images: torch.Tensor, chunk: int = 10_000) -> torch.Tensor:
    """(N, 28, 28) uint8 MNIST digits -> (N, 1, 16, 16) uint8: the central 24x24, resized (antialiased)."""
    parts = [
        to_uint8(center_crop_resize(uint8_to_float(part.unsqueeze(1)), DIGIT_BOX, crop_size=24))
        for part in images.split(chunk)
    ]
    return torch.cat(parts) if parts else torch.zeros(0, 1, DIGIT_BOX, DIGIT_BOX, dtype=torch.uint8)


def digit_halves(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The (left, right) digit boxes of two-digit canvases (..., C, 32, 32): each (..., C, 16, 16)."""
    rows = images[..., TOP : TOP + DIGIT_BOX, :]
    return rows[..., :DIGIT_BOX], rows[..., DIGIT_BOX : 2 * DIGIT_BOX]


def draw_pairs(
    labels: torch.Tensor, pairs: Sequence[tuple[int, int]], num_samples: int, generator: torch.Generator
) -> torch.Tensor:
    """(num_samples, 2) indices into ``labels``: a pair class uniformly from ``pairs``, then a random
    image of each of its two digits.

    Raises:
        ValueError: a digit of ``pairs`` has no image in ``labels``.
    """
    order = torch.argsort(labels, stable=True)
    counts = torch.bincount(labels, minlength=10)
    if missing := [d for d in sorted({d for p in pairs for d in p}) if counts[d] == 0]:
        raise ValueError(f"No image of digit(s) {missing} to draw pairs from.")
    starts = torch.cumsum(counts, 0) - counts
    draws = torch.randint(len(pairs), (num_samples,), generator=generator)
    chosen = torch.tensor(pairs, dtype=torch.long)[draws]  # (N, 2) digits
    position = (torch.rand(num_samples, 2, generator=generator) * counts[chosen]).long()
    return order[starts[chosen] + position.clamp(max=counts[chosen] - 1)]


class DigitPairsDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Items ``(canvas (1, 32, 32) in [-1, 1], label 10 * left + right)`` composed on the fly.

    Args:
        digits: (M, 1, 16, 16) uint8 digit boxes (:func:`shrink_digits`).
        labels: (M,) their digits.
        pairs: (N, 2) indices into ``digits``: left, right.
    """

    def __init__(self, digits: torch.Tensor, labels: torch.Tensor, pairs: torch.Tensor) -> None:
        self.digits, self.labels, self.pairs = digits, labels.long(), pairs

    def __len__(self) -> int:
        return self.pairs.shape[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        left, right = self.pairs[index].tolist()
        canvas = torch.zeros(1, CANVAS_SIZE, CANVAS_SIZE, dtype=torch.uint8)
        canvas[:, TOP : TOP + DIGIT_BOX, :DIGIT_BOX] = self.digits[left]
        canvas[:, TOP : TOP + DIGIT_BOX, DIGIT_BOX : 2 * DIGIT_BOX] = self.digits[right]
        return uint8_to_float(canvas), 10 * self.labels[left] + self.labels[right]


class TwoDigitMNISTDataModule(CaptionedDataModule):
    """Two MNIST digits on a 32x32 canvas, captioned with their order; held-out ordered pairs.

    Args:
        root: folder holding ``MNIST/raw/`` (torchvision's layout); train pairs use the train split's
            digits, val and test pairs the test split's.
        num_samples: training canvases.
        val_samples: val canvases (test: as many, drawn independently).
        heldout_pairs: ordered (left, right) pairs that training never shows, e.g. ``[(3, 7), (5, 2)]``.
        eval_pairs: the pairs val and test serve: ``"all"`` 100, ``"seen"`` (the training ones) or
            ``"heldout"`` (only ``heldout_pairs``: the composition test).
        heldout_templates: indices into :data:`PAIR_TEMPLATES` that training never uses.
        caption_split: the templates that caption val and test (``"seen"``, ``"heldout"`` or ``"all"``).
        batch_size, num_workers, seed, limit: see :class:`~lightning_gen.data.base.BaseDataModule`;
            ``seed`` draws the pairs and picks the templates.
    """

    def __init__(
        self,
        root: str,
        num_samples: int = 60_000,
        val_samples: int = 10_000,
        heldout_pairs: list[tuple[int, int]] | None = None,
        eval_pairs: PairSplit = "all",
        heldout_templates: list[int] | None = None,
        caption_split: CaptionSplit = "seen",
        batch_size: int = 64,
        num_workers: int = 0,
        seed: int = 0,
        limit: int | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed, limit=limit)
        self.root = root
        self.num_samples = int(check_positive("num_samples", num_samples))
        self.val_samples = int(check_positive("val_samples", val_samples))
        pairs = [tuple(int(d) for d in p) for p in heldout_pairs or ()]
        valid = all(len(p) == 2 and all(0 <= d <= 9 for d in p) for p in pairs)
        if not valid or len(set(pairs)) != len(pairs):
            raise ValueError(
                f"heldout_pairs must be distinct (left, right) digit pairs in 0..9, got {heldout_pairs}."
            )
        if len(pairs) == 100:
            raise ValueError("heldout_pairs holds out all 100 ordered pairs: leave some for training.")
        self.heldout_pairs: list[tuple[int, int]] = sorted(pairs)  # type: ignore[arg-type]
        self.eval_pairs = check_choice("eval_pairs", eval_pairs, PairSplit)
        self.pairs(eval_pairs)
        self.set_captions(PAIR_TEMPLATES, pair_fields, 100, heldout_templates, caption_split)

    @property
    def channels(self) -> int:
        """1 (grayscale)."""
        return 1

    @property
    def image_size(self) -> int:
        """32."""
        return CANVAS_SIZE

    @property
    def num_classes(self) -> int:
        """100 ordered pairs (label ``10 * left + right``)."""
        return 100

    @property
    def class_names(self) -> list[str]:
        """``"3 7"`` for label 37: left digit, right digit."""
        return [f"{label // 10} {label % 10}" for label in range(100)]

    def pairs(self, split: PairSplit) -> list[tuple[int, int]]:
        """The ordered pairs of ``split``: ``"seen"`` (trained), ``"heldout"`` or ``"all"``.

        Raises:
            ValueError: ``"heldout"`` without ``heldout_pairs``.
        """
        check_choice("eval_pairs", split, PairSplit)
        if split == "heldout" and not self.heldout_pairs:
            raise ValueError("eval_pairs='heldout' needs heldout_pairs=[(left, right), ...].")
        everything = [(left, right) for left in range(10) for right in range(10)]
        if split == "all":
            return everything
        if split == "heldout":
            return list(self.heldout_pairs)
        return [p for p in everything if p not in self.heldout_pairs]

    def _split(self, split: MNISTSplit, pairs: list[tuple[int, int]], counts: Sequence[int]) -> list[Dataset]:
        images, labels = read_mnist(self.root, split)
        digits = shrink_digits(images)
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + (split == "test"))
        return [DigitPairsDataset(digits, labels, draw_pairs(labels, pairs, n, generator)) for n in counts]

    def build_fit_datasets(self) -> tuple[Dataset, Dataset]:
        (train,) = self._split("train", self.pairs("seen"), [self.num_samples])
        (val,) = self._split("test", self.pairs(self.eval_pairs), [self.val_samples])
        return train, val

    def build_test_dataset(self) -> Dataset:
        _, test = self._split("test", self.pairs(self.eval_pairs), [self.val_samples, self.val_samples])
        return test
