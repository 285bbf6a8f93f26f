"""CelebA read from its official files, laid out as torchvision does (``root/celeba/``).

CelebA (Liu, Luo, Wang & Tang, 2015, "Deep Learning Face Attributes in the Wild", ICCV): 202,599
aligned 178x218 face images with 40 binary attributes and an official train/valid/test partition.

Files: ``img_align_celeba/*.jpg``; ``list_attr_celeba.txt`` (line 1 the image count, line 2 the 40
attribute names, then ``<file> <40 values of 1/-1>`` per image; CRLF line ends and runs of spaces occur,
so lines are split on whitespace); ``list_eval_partition.txt`` (``<file> <0 train | 1 valid | 2 test>``).

Preprocessing: a central ``crop_size`` square (default 178, the full width: this equals the PyTorch DCGAN
example's ``Resize(64)`` + ``CenterCrop(64)``), then a bilinear antialiased resize to ``image_size``.
``crop_size=108`` is the original DCGAN code's face crop; 148 and 140 are common tighter crops.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal, get_args

import torch
from torch.utils.data import Dataset

from lightning_gen.data.base import BaseDataModule, require_files
from lightning_gen.data.transforms import center_crop_resize
from lightning_gen.utils.images import load_image
from lightning_gen.utils.validation import check_choice, check_positive

__all__ = [
    "CELEBA_ATTRIBUTES",
    "CelebAAttribute",
    "CelebADataModule",
    "CelebADataset",
    "CelebASplit",
    "read_celeba_attributes",
    "read_celeba_partition",
]

CelebAAttribute = Literal[
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips",
    "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby",
    "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male",
    "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose",
    "Receding_Hairline", "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair",
    "Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young",
]  # fmt: skip
CELEBA_ATTRIBUTES: tuple[str, ...] = get_args(CelebAAttribute)
CelebASplit = Literal["train", "valid", "test", "all"]
_SPLIT_CODES = {"train": 0, "valid": 1, "test": 2}
_FIX = (
    "Fix: download CelebA's aligned images and annotation files from "
    "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html (or torchvision.datasets.CelebA(root, "
    "download=True)) and lay them out as root/celeba/{img_align_celeba/, list_attr_celeba.txt, "
    "list_eval_partition.txt}."
)


def _celeba_dir(root: str | Path) -> Path:
    folder = Path(root) / "celeba"
    require_files(
        [folder / "list_attr_celeba.txt", folder / "list_eval_partition.txt"],
        "CelebA",
        _FIX,
        folders=[folder / "img_align_celeba"],
    )
    return folder


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8") as f:
        return [line.split() for line in f.read().splitlines() if line.strip()]


def read_celeba_attributes(root: str | Path) -> tuple[list[str], list[str], torch.Tensor]:
    """Parse ``root/celeba/list_attr_celeba.txt``.

    Returns:
        ``(filenames, attribute_names, attributes)``: attributes is (N, 40) long with 1 where the file says
        1 and 0 where it says -1.

    Raises:
        FileNotFoundError: a CelebA file or folder is missing (all are named).
        ValueError: the file is malformed (count, names, row width or values; names the file and line).
    """
    path = _celeba_dir(root) / "list_attr_celeba.txt"
    filenames, names, attributes = _parse_attributes(str(path), path.stat().st_mtime_ns)
    return list(filenames), list(names), attributes.clone()


@functools.lru_cache(maxsize=2)
def _parse_attributes(path: str, mtime_ns: int) -> tuple[tuple[str, ...], tuple[str, ...], torch.Tensor]:
    """Cached per (path, modification time): the three splits of a datamodule parse the file once."""
    rows = _rows(Path(path))
    if len(rows) < 2 or len(rows[0]) != 1 or not rows[0][0].isdigit():
        raise ValueError(f"{path}: line 1 must be the image count and line 2 the attribute names.")
    count, names, body = int(rows[0][0]), rows[1], rows[2:]
    if count != len(body):
        raise ValueError(f"{path}: line 1 says {count} images but {len(body)} rows follow.")
    filenames, values = [], []
    for number, row in enumerate(body, start=3):
        if len(row) != len(names) + 1 or any(v not in ("1", "-1") for v in row[1:]):
            raise ValueError(
                f"{path}, line {number}: expected a file name and {len(names)} values of 1/-1, got {row!r}."
            )
        filenames.append(row[0])
        values.append([v == "1" for v in row[1:]])
    attributes = torch.tensor(values, dtype=torch.long).reshape(len(body), len(names))
    return tuple(filenames), tuple(names), attributes


def read_celeba_partition(root: str | Path) -> dict[str, int]:
    """Parse ``root/celeba/list_eval_partition.txt``: file name -> 0 (train), 1 (valid) or 2 (test)."""
    path = _celeba_dir(root) / "list_eval_partition.txt"
    partition = {}
    for number, row in enumerate(_rows(path), start=1):
        if len(row) != 2 or row[1] not in ("0", "1", "2"):
            raise ValueError(f"{path}, line {number}: expected '<file> <0|1|2>', got {row!r}.")
        partition[row[0]] = int(row[1])
    return partition


class CelebADataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """One split of CelebA (Liu et al., 2015): items ``(image (3, S, S) in [-1, 1], label long)``.

    Images are read lazily from ``img_align_celeba/`` (a missing or unreadable file raises an error naming
    it). The label is the 0/1 value of ``attribute``, or 0 when ``attribute`` is None.

    Attributes:
        filenames: image file names of this split, in the partition file's order.
        attribute_names: the 40 attribute names, in the file's column order.
        attributes: (N, 40) long tensor of 0/1 values, rows aligned with ``filenames``.
    """

    def __init__(
        self,
        root: str | Path,
        split: CelebASplit = "train",
        image_size: int = 64,
        crop_size: int = 178,
        attribute: CelebAAttribute | None = None,
    ) -> None:
        check_choice("split", split, CelebASplit)
        if attribute is not None:
            check_choice("attribute", attribute, CelebAAttribute)
        self.image_dir = Path(root) / "celeba" / "img_align_celeba"
        files, self.attribute_names, all_attributes = read_celeba_attributes(root)
        partition = read_celeba_partition(root)
        row_of = {name: i for i, name in enumerate(files)}
        chosen = [f for f, code in partition.items() if split == "all" or code == _SPLIT_CODES[split]]
        without_row = [f for f in chosen if f not in row_of]
        if without_row:
            raise ValueError(
                f"{len(without_row)} image(s) of list_eval_partition.txt have no row in list_attr_celeba.txt, "
                f"e.g. {without_row[:3]}."
            )
        self.filenames = chosen
        self.attributes = all_attributes[[row_of[f] for f in chosen]]
        self.attribute = attribute
        if attribute is None:
            self.labels = torch.zeros(len(chosen), dtype=torch.long)
        else:
            if attribute not in self.attribute_names:
                raise ValueError(f"attribute {attribute!r} is not a column of list_attr_celeba.txt.")
            self.labels = self.attributes[:, self.attribute_names.index(attribute)].clone()
        self.transform = functools.partial(center_crop_resize, size=image_size, crop_size=crop_size)

    def __len__(self) -> int:
        return len(self.filenames)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = load_image(self.image_dir / self.filenames[index], "RGB")
        return self.transform(image), self.labels[index]


class CelebADataModule(BaseDataModule):
    """CelebA faces (Liu et al., 2015) with the official train / valid / test partition; 3 channels.

    Args:
        root: folder that holds ``celeba/`` (torchvision's layout).
        image_size: output side.
        crop_size: side of the central square cropped from the 178x218 image before resizing (default
            178: the PyTorch DCGAN example's preprocessing; 108 is the original DCGAN code's).
        attribute: None gives labels 0 (``num_classes`` 0); an attribute name (e.g. ``"Smiling"``) gives
            its 0/1 value as the label (``num_classes`` 2).
        batch_size, num_workers, seed, limit: see :class:`~lightning_gen.data.base.BaseDataModule`.
    """

    def __init__(
        self,
        root: str,
        image_size: int = 64,
        crop_size: int = 178,
        attribute: CelebAAttribute | None = None,
        batch_size: int = 64,
        num_workers: int = 0,
        seed: int = 0,
        limit: int | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed, limit=limit)
        self.root = root
        self._image_size = check_positive("image_size", image_size)
        self.crop_size = check_positive("crop_size", crop_size)
        if attribute is not None:
            check_choice("attribute", attribute, CelebAAttribute)
        self.attribute = attribute

    @property
    def channels(self) -> int:
        """3 (RGB)."""
        return 3

    @property
    def image_size(self) -> int:
        """Side of the square images."""
        return self._image_size

    @property
    def num_classes(self) -> int:
        """2 with an ``attribute``, else 0 (unlabeled)."""
        return 0 if self.attribute is None else 2

    def _dataset(self, split: CelebASplit) -> CelebADataset:
        return CelebADataset(self.root, split, self._image_size, self.crop_size, self.attribute)

    def build_fit_datasets(self) -> tuple[Dataset, Dataset]:
        return self._dataset("train"), self._dataset("valid")

    def build_test_dataset(self) -> Dataset:
        return self._dataset("test")
