"""A user's own captioned images, in the Hugging Face ImageFolder convention.

``root`` holds the images (any sub-folders) and one metadata file next to them:

- ``metadata.jsonl``: one JSON object per line, ``{"file_name": "cats/1.png", "text": "a sleeping cat"}``;
- or ``metadata.csv`` / ``captions.csv``: a header row with the columns ``file_name`` and ``text``.

``file_name`` is relative to ``root``. An image may appear on several lines (several captions, as in
COCO). Every line is checked at setup: bad JSON, a missing ``file_name`` or caption field, an empty
caption, or a file that does not exist is an error naming the metadata file, the line number and the
fix. Images are opened when read (a corrupt one is then an error naming it and its metadata line) and
preprocessed as :class:`~lightning_gen.data.image_folder.ImageFolderDataset` does (DCGAN's center crop
and resize, Radford et al., 2016). Items are ``{"image", "text"}`` (no label: ``num_classes`` is 0).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from lightning_gen.data.base import BaseDataModule, check_val_fraction
from lightning_gen.data.image_folder import Channels
from lightning_gen.data.transforms import center_crop_resize
from lightning_gen.utils.images import load_image
from lightning_gen.utils.validation import check_choice, check_positive

__all__ = [
    "METADATA_FILES",
    "CaptionRow",
    "ImageCaptionFolderDataModule",
    "ImageCaptionFolderDataset",
    "read_caption_metadata",
]

METADATA_FILES = ("metadata.jsonl", "metadata.csv", "captions.csv")


@dataclass(frozen=True)
class CaptionRow:
    """One metadata line: the image path (resolved), its caption, and where it was written."""

    path: Path
    text: str
    source: Path
    line: int


def _row_error(source: Path, line: int, problem: str, fix: str) -> ValueError:
    return ValueError(f"{source}, line {line}: {problem}. Fix: {fix}")


def _check_row(
    record: dict[str, Any], root: Path, source: Path, line: int, caption_column: str
) -> CaptionRow:
    fields = ", ".join(repr(k) for k in record) or "none"
    for column in ("file_name", caption_column):
        if column not in record:
            fix = (
                f"pass caption_column=<the caption field> or rename it to {caption_column!r}"
                if column == caption_column
                else "give every line the image path relative to root as 'file_name'"
            )
            raise _row_error(source, line, f"no {column!r} field (fields: {fields})", fix)
    name, text = record["file_name"], record[caption_column]
    if not isinstance(name, str) or not name.strip():
        raise _row_error(
            source, line, f"'file_name' must be a non-empty path, got {name!r}", "give the image path"
        )
    if not isinstance(text, str) or not text.strip():
        raise _row_error(
            source,
            line,
            f"the caption {caption_column!r} is empty or not text ({text!r})",
            "write a caption or drop the line",
        )
    if Path(name).is_absolute():
        raise _row_error(
            source, line, f"file_name {name!r} is absolute", "make it relative to the metadata file's folder"
        )
    path = root / name
    if not path.is_file():
        raise _row_error(source, line, f"image {path} does not exist", "add the file or fix its file_name")
    return CaptionRow(path, text.strip(), source, line)


def read_caption_metadata(root: str | Path, caption_column: str = "text") -> list[CaptionRow]:
    """The checked rows of ``root``'s metadata file (see the module docstring), in file order.

    Raises:
        FileNotFoundError: ``root`` is not a folder, or it has no metadata file.
        ValueError: several metadata files, or a bad line (names the file, the line and the fix).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Captioned image folder not found: {root}")
    found = [root / name for name in METADATA_FILES if (root / name).is_file()]
    if not found:
        raise FileNotFoundError(
            f"{root} has no caption metadata: expected one of {', '.join(METADATA_FILES)}. Fix: write "
            'metadata.jsonl with one {"file_name": ..., "text": ...} object per line (Hugging Face ImageFolder).'
        )
    if len(found) > 1:
        raise ValueError(f"{root} has several metadata files ({', '.join(p.name for p in found)}); keep one.")
    source = found[0]
    rows = []
    with source.open(encoding="utf-8", newline="") as f:
        if source.suffix == ".jsonl":
            for line, content in enumerate(f, start=1):
                if not content.strip():
                    continue
                try:
                    record = json.loads(content)
                except json.JSONDecodeError as err:
                    raise _row_error(
                        source, line, f"not valid JSON ({err.msg})", "write one JSON object per line"
                    ) from err
                if not isinstance(record, dict):
                    raise _row_error(
                        source,
                        line,
                        f"a JSON {type(record).__name__}, not an object",
                        "write one JSON object per line",
                    )
                rows.append(_check_row(record, root, source, line, caption_column))
        else:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            for column in ("file_name", caption_column):
                if column not in header:
                    raise _row_error(
                        source, 1, f"the header has no {column!r} column (columns: {header})",
                        f"name the columns 'file_name' and {caption_column!r} (or pass caption_column=...)",
                    )  # fmt: skip
            for record in reader:
                if None in record:  # more cells than header columns
                    raise _row_error(
                        source,
                        reader.line_num,
                        "more cells than header columns",
                        "quote captions that contain commas",
                    )
                rows.append(_check_row(record, root, source, reader.line_num, caption_column))
    if not rows:
        raise ValueError(f"{source} has no captioned images. Fix: add one line per image.")
    return rows


class ImageCaptionFolderDataset(Dataset[dict[str, Any]]):
    """Items ``{"image": (C, S, S) in [-1, 1], "text": str}`` of a captioned folder.

    Args:
        root: the folder with the images and the metadata file.
        image_size: output side (center crop of the largest square, then resize).
        channels: 1 or 3; images are converted.
        caption_column: the caption field of the metadata.
    """

    def __init__(
        self, root: str | Path, image_size: int = 64, channels: Channels = 3, caption_column: str = "text"
    ) -> None:
        check_positive("image_size", image_size)
        self.mode = "L" if check_choice("channels", channels, Channels) == 1 else "RGB"
        self.image_size = image_size
        self.rows = read_caption_metadata(root, caption_column)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self.rows[index]
        try:
            image = load_image(row.path, self.mode)
        except (ValueError, FileNotFoundError) as err:
            raise ValueError(f"{row.source}, line {row.line}: {err}") from err
        return {"image": center_crop_resize(image, self.image_size), "text": row.text}

    @property
    def captions(self) -> list[str]:
        """Every caption in file order (to train a tokenizer on)."""
        return [row.text for row in self.rows]


class ImageCaptionFolderDataModule(BaseDataModule):
    """Captioned images of a user's folder (Hugging Face ImageFolder's ``metadata.jsonl``, or a CSV).

    ``val_fraction`` of the lines (seeded) is held out for validation; the test set is ``test_root`` (a
    second captioned folder) when given, else the val set.

    Args:
        root: the folder (see :mod:`lightning_gen.data.caption_folder` for the layout).
        image_size: output side.
        channels: 1 (grayscale) or 3 (RGB).
        caption_column: the caption field or column (Hugging Face's convention is ``"text"``).
        val_fraction: share of ``root`` held out for validation; 0 needs ``test_root``.
        test_root: an optional captioned folder with the test images.
        batch_size, num_workers, seed, limit: see :class:`~lightning_gen.data.base.BaseDataModule`.
    """

    def __init__(
        self,
        root: str,
        image_size: int = 64,
        channels: Channels = 3,
        caption_column: str = "text",
        val_fraction: float = 0.1,
        test_root: str | None = None,
        batch_size: int = 64,
        num_workers: int = 0,
        seed: int = 0,
        limit: int | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed, limit=limit)
        self.root = root
        self._image_size = int(check_positive("image_size", image_size))
        self._channels = check_choice("channels", channels, Channels)
        self.caption_column = caption_column
        self.val_fraction = check_val_fraction(val_fraction, allow_zero=test_root is not None)
        self.test_root = test_root

    @property
    def channels(self) -> int:
        """1 or 3."""
        return self._channels

    @property
    def image_size(self) -> int:
        """Side of the square images."""
        return self._image_size

    @property
    def num_classes(self) -> int:
        """0: captions, no labels."""
        return 0

    def _dataset(self, root: str) -> ImageCaptionFolderDataset:
        return ImageCaptionFolderDataset(root, self._image_size, self._channels, self.caption_column)

    def build_fit_datasets(self) -> tuple[Dataset, Dataset]:
        return self.split_train_val(self._dataset(self.root), self.val_fraction)

    def build_test_dataset(self) -> Dataset:
        return super().build_test_dataset() if self.test_root is None else self._dataset(self.test_root)

    def training_captions(self) -> list[str]:
        """The captions of the train split (what a tokenizer is trained on)."""
        self.setup("fit")
        assert self.train_set is not None
        return _captions(self.train_set)


def _captions(dataset: Dataset) -> list[str]:
    """Captions of a (possibly Subset-wrapped) :class:`ImageCaptionFolderDataset`, without reading images."""
    indices = list(range(len(dataset)))  # type: ignore[arg-type]
    while isinstance(dataset, torch.utils.data.Subset):
        indices = [dataset.indices[i] for i in indices]
        dataset = dataset.dataset
    assert isinstance(dataset, ImageCaptionFolderDataset)
    return [dataset.rows[i].text for i in indices]
