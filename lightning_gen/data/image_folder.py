"""Any folder of images: flat (unlabeled) or one subfolder per class (labels from sorted folder names).

The layout is torchvision's ``ImageFolder``; each image is resized and center-cropped to a square as in
DCGAN (Radford, Metz & Chintala, 2016; the PyTorch example's ``Resize`` + ``CenterCrop``). Files are only
listed at setup, never opened: a corrupt file is found when it is read, and then either raises an error
naming it (``on_error="raise"``) or is skipped with a warning naming it (``on_error="skip"``).
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Literal

import torch
from torch.utils.data import Dataset

from lightning_gen.data.base import BaseDataModule, check_val_fraction
from lightning_gen.data.transforms import center_crop_resize
from lightning_gen.utils.images import load_image
from lightning_gen.utils.validation import check_choice, check_positive

__all__ = [
    "IMAGE_EXTENSIONS",
    "Channels",
    "ImageFolderDataModule",
    "ImageFolderDataset",
    "OnError",
    "find_images",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
Channels = Literal[1, 3]
OnError = Literal["raise", "skip"]


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def _images_under(folder: Path) -> list[Path]:
    """Image files anywhere under ``folder`` (hidden files and folders excluded), sorted."""
    found = [p for p in folder.rglob("*") if _is_image(p)]
    return sorted(p for p in found if not any(part.startswith(".") for part in p.relative_to(folder).parts))


def find_images(root: str | Path) -> tuple[list[Path], list[int], list[str]]:
    """List the images of a folder: ``(files, labels, classes)``.

    Flat layout (images directly in ``root``): labels are 0 and ``classes`` is empty. Class layout (only
    subfolders in ``root``): class ``i`` is the i-th subfolder name in sorted order and its images are
    searched recursively. Extensions: png, jpg, jpeg, bmp, webp (any case). Hidden entries are ignored.

    Raises:
        FileNotFoundError: ``root`` is not a folder.
        ValueError: no images, a class folder without images, or images and class folders mixed in ``root``.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Image folder not found: {root}")
    entries = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    subfolders = [p for p in entries if p.is_dir()]
    flat = [p for p in entries if _is_image(p)]
    extensions = ", ".join(IMAGE_EXTENSIONS)
    if flat and subfolders:
        raise ValueError(
            f"{root} mixes images and subfolders; use either a flat folder of images or one subfolder per "
            f"class (subfolders: {[p.name for p in subfolders][:5]})."
        )
    if flat:
        return flat, [0] * len(flat), []
    files, labels, empty = [], [], []
    for label, folder in enumerate(subfolders):
        found = _images_under(folder)
        if not found:
            empty.append(str(folder))
        files += found
        labels += [label] * len(found)
    if not files:
        raise ValueError(f"No images ({extensions}) found in {root}.")
    if empty:
        raise ValueError(f"Class folder(s) without images ({extensions}): {', '.join(empty)}.")
    return files, labels, [p.name for p in subfolders]


class ImageFolderDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Items ``(image (C, S, S) in [-1, 1], label long)`` of a folder laid out as in :func:`find_images`.

    Each image is center-cropped to its largest square and resized to ``image_size`` (bilinear,
    antialiased): DCGAN's preprocessing (Radford et al., 2016).

    With ``on_error="skip"``, an unreadable file is replaced by the next readable one, a warning names it,
    and ``num_skipped`` counts it (counted in the process that read it: with DataLoader workers, in the
    workers).

    Attributes:
        files, labels, classes: as returned by :func:`find_images`.
    """

    def __init__(
        self,
        root: str | Path,
        image_size: int = 64,
        channels: Channels = 3,
        on_error: OnError = "raise",
    ) -> None:
        check_positive("image_size", image_size)
        check_choice("channels", channels, Channels)
        self.on_error = check_choice("on_error", on_error, OnError)
        self.root = Path(root)
        self.files, self.labels, self.classes = find_images(root)
        self.mode = "L" if channels == 1 else "RGB"
        self.transform = functools.partial(center_crop_resize, size=image_size)
        self._skipped: set[int] = set()

    @property
    def num_skipped(self) -> int:
        """How many unreadable files were skipped so far (``on_error="skip"``)."""
        return len(self._skipped)

    def __len__(self) -> int:
        return len(self.files)

    def read(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Item ``index`` without skipping: raises FileNotFoundError / ValueError naming the file."""
        image = self.transform(load_image(self.files[index], self.mode))
        return image, torch.tensor(self.labels[index], dtype=torch.long)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.on_error == "raise":
            return self.read(index)
        for offset in range(len(self)):
            candidate = (index + offset) % len(self)
            if candidate in self._skipped:
                continue
            try:
                return self.read(candidate)
            except (ValueError, FileNotFoundError) as err:
                self._skipped.add(candidate)
                warnings.warn(f"Skipping unreadable image {self.files[candidate]}: {err}", stacklevel=2)
        raise ValueError(f"No readable image left in {self.root} ({self.num_skipped} skipped).")


class ImageFolderDataModule(BaseDataModule):
    """Images from a folder, flat (unlabeled) or one subfolder per class, with DCGAN preprocessing.

    DCGAN (Radford et al., 2016) trained on folders of images resized and center-cropped to a square; so
    does this module. The extracted CIFAR-10 JPEG tree works as is: ``root=".../train"`` (classes from the
    folder names) and ``test_root=".../test"``.

    ``val_fraction`` of ``root`` (seeded) is held out for validation. The test set is ``test_root`` when
    given (it must have the same classes), else the val set. ``val_fraction=0`` needs ``test_root`` and then
    validates on it.

    Args:
        root: the image folder.
        image_size: output side.
        channels: 1 (grayscale) or 3 (RGB); images are converted.
        on_error: unreadable image: ``"raise"`` a ValueError naming it when it is read, or ``"skip"`` it
            with a warning (see ``num_skipped``). Files are not opened at setup, which stays fast on big
            folders.
        val_fraction: share of ``root`` held out for validation.
        test_root: an optional folder with the test images.
        batch_size, num_workers, seed, limit: see :class:`~lightning_gen.data.base.BaseDataModule`.
    """

    def __init__(
        self,
        root: str,
        image_size: int = 64,
        channels: Channels = 3,
        on_error: OnError = "raise",
        val_fraction: float = 0.1,
        test_root: str | None = None,
        batch_size: int = 64,
        num_workers: int = 0,
        seed: int = 0,
        limit: int | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed, limit=limit)
        self.root = root
        self._image_size = check_positive("image_size", image_size)
        self._channels = check_choice("channels", channels, Channels)
        self.on_error = check_choice("on_error", on_error, OnError)
        self.val_fraction = check_val_fraction(val_fraction, allow_zero=test_root is not None)
        self.test_root = test_root
        self._datasets: dict[str, ImageFolderDataset] = {}

    def _dataset(self, root: str) -> ImageFolderDataset:
        if root not in self._datasets:
            self._datasets[root] = ImageFolderDataset(root, self._image_size, self._channels, self.on_error)
        return self._datasets[root]

    @property
    def channels(self) -> int:
        """1 or 3."""
        return self._channels

    @property
    def image_size(self) -> int:
        """Side of the square images."""
        return self._image_size

    @property
    def classes(self) -> list[str]:
        """Class folder names in label order (empty for a flat folder). Lists ``root`` on first use."""
        return list(self._dataset(self.root).classes)

    @property
    def num_classes(self) -> int:
        """Number of class folders (0 for a flat folder: unlabeled)."""
        return len(self.classes)

    @property
    def num_skipped(self) -> int:
        """Unreadable images skipped so far in this process (``on_error="skip"``)."""
        return sum(d.num_skipped for d in self._datasets.values())

    def build_fit_datasets(self) -> tuple[Dataset, Dataset]:
        return self.split_train_val(self._dataset(self.root), self.val_fraction)

    def build_test_dataset(self) -> Dataset:
        if self.test_root is None:
            return super().build_test_dataset()
        test = self._dataset(self.test_root)
        if test.classes != self.classes:
            raise ValueError(
                f"test_root {self.test_root} has classes {test.classes}, but root {self.root} has {self.classes}."
            )
        return test
