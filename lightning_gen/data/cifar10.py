"""CIFAR-10 read from the official ``cifar-10-batches-py`` pickles, and a writer of that format.

CIFAR-10 (Krizhevsky, 2009, "Learning Multiple Layers of Features from Tiny Images"): 50,000 training
and 10,000 test 32x32 RGB images in 10 classes. The reader follows torchvision's ``CIFAR10`` but does not
verify checksums when loading (checksums belong to downloading: batches re-created in the official
format must load). The pickles are unpickled, so load only files you trust.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from lightning_gen.data.base import BaseDataModule, check_val_fraction, require_files
from lightning_gen.data.tensor_dataset import TensorImageDataset
from lightning_gen.utils.images import load_image, to_uint8
from lightning_gen.utils.validation import check_choice

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10DataModule",
    "cifar10_files",
    "read_cifar10",
    "read_cifar10_classes",
    "write_cifar10_batches",
]

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
_FIX = (
    "Fix: pass download=True (fetches the official archive with torchvision.datasets.CIFAR10(root, "
    "download=True)), or put the official files there (write_cifar10_batches builds them from JPEGs)."
)


def _plain(value: object) -> object:
    """bytes -> str, recursively in lists (official py2 pickles and py3-written ones read alike)."""
    if isinstance(value, bytes):
        return value.decode("latin1")
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _load_pickle(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as f:
            entry = pickle.load(f, encoding="latin1")
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise ValueError(f"Cannot read CIFAR-10 batch {path}: {err}") from err
    if not isinstance(entry, dict):
        raise ValueError(f"{path} is not a CIFAR-10 batch (a pickled dict), got {type(entry).__name__}.")
    return {str(_plain(k)): v for k, v in entry.items()}


def cifar10_files(root: str | Path, split: str) -> list[Path]:
    """Paths of ``split`` ("train" or "test") and ``batches.meta``, checked to exist.

    Raises:
        FileNotFoundError: naming every missing file and how to get it.
    """
    check_choice("split", split, ("train", "test"))
    folder = Path(root) / FOLDER
    names = TRAIN_BATCHES if split == "train" else ("test_batch",)
    paths = [folder / n for n in (*names, "batches.meta")]
    require_files(paths, f"CIFAR-10 {split} split", _FIX)
    return paths[:-1]


def read_cifar10_classes(root: str | Path) -> list[str]:
    """The class names in ``root/cifar-10-batches-py/batches.meta`` (label order)."""
    path = Path(root) / FOLDER / "batches.meta"
    require_files([path], "CIFAR-10", _FIX)
    meta = _load_pickle(path)
    if "label_names" not in meta:
        raise ValueError(f"{path} has no 'label_names' entry (keys: {sorted(meta)}).")
    return list(_plain(meta["label_names"]))  # type: ignore[arg-type]


def read_cifar10(root: str | Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10 ``split`` ("train" or "test"): ``(images (N, 3, 32, 32) uint8, labels (N,) long)``.

    Raises:
        FileNotFoundError: a batch or ``batches.meta`` is missing (all missing files are named).
        ValueError: a batch is not a readable pickle or lacks ``data``/``labels`` (names the file).
    """
    images, labels = [], []
    for path in cifar10_files(root, split):
        entry = _load_pickle(path)
        if "data" not in entry or "labels" not in entry:
            raise ValueError(f"{path} lacks 'data' or 'labels' (keys: {sorted(entry)}).")
        data = np.asarray(entry["data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or data.shape[0] != len(entry["labels"]):  # type: ignore[arg-type]
            raise ValueError(f"{path}: 'data' must be (N, 3072) with N labels, got {data.shape}.")
        images.append(torch.from_numpy(data.reshape(-1, 3, 32, 32).copy()))
        labels.append(torch.as_tensor(entry["labels"], dtype=torch.long))
    return torch.cat(images), torch.cat(labels)


def write_cifar10_batches(jpeg_root: str, out_root: str, per_class: int | None = None) -> Path:
    """Write official-format CIFAR-10 batches from the extracted JPEG layout; return the batch folder.

    Reads ``jpeg_root/train/<class>/*.jpg`` and ``jpeg_root/test/<class>/*.jpg`` (sorted by name; the first
    ``per_class`` of each class when given) and writes ``out_root/cifar-10-batches-py/``: ``data_batch_1..5``
    (train split in 5 near-equal parts), ``test_batch`` and ``batches.meta``. Each batch is a dict with
    ``b"data"`` (N, 3072) uint8 (row-major R, G, B planes), ``b"labels"``, ``b"filenames"`` and
    ``b"batch_label"``; the meta file has ``b"label_names"``. Items are shuffled with a fixed seed so each
    batch mixes classes, as in the official files.

    Raises:
        FileNotFoundError: a split or class folder is missing (all are named).
        ValueError: an image is unreadable or not 32x32 (names the file).
    """
    jpeg_root_path, out = Path(jpeg_root), Path(out_root) / FOLDER
    folders = [jpeg_root_path / s / c for s in ("train", "test") for c in CIFAR10_CLASSES]
    fix = "Fix: unpack the train/ and test/ JPEG trees (one folder per class) into jpeg_root."
    require_files([], "CIFAR-10 JPEG tree", fix, folders=folders)
    out.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        items = []
        for label, name in enumerate(CIFAR10_CLASSES):
            files = sorted((jpeg_root_path / split / name).glob("*.jpg"))
            items += [(f, label) for f in files[:per_class]]
        order = torch.randperm(len(items), generator=torch.Generator().manual_seed(0)).tolist()
        items = [items[i] for i in order]
        parts = np.array_split(np.arange(len(items)), 5) if split == "train" else [np.arange(len(items))]
        names = TRAIN_BATCHES if split == "train" else ("test_batch",)
        for number, (name, part) in enumerate(zip(names, parts, strict=True), start=1):
            rows, labels, filenames = [], [], []
            for i in part:
                path, label = items[i]
                image = to_uint8(load_image(path, "RGB"))  # (3, H, W)
                if image.shape != (3, 32, 32):
                    raise ValueError(f"{path} is {tuple(image.shape[1:])}, CIFAR-10 images are 32x32.")
                rows.append(image.reshape(-1).numpy())
                labels.append(label)
                filenames.append(f"{CIFAR10_CLASSES[label]}_{path.name}".encode())
            data = np.stack(rows) if rows else np.zeros((0, 3072), dtype=np.uint8)
            label_text = f"training batch {number} of 5" if split == "train" else "testing batch 1 of 1"
            entry = {
                b"data": data,
                b"labels": labels,
                b"filenames": filenames,
                b"batch_label": label_text.encode(),
            }
            with (out / name).open("wb") as f:
                pickle.dump(entry, f, protocol=2)
    meta = {
        b"label_names": [c.encode() for c in CIFAR10_CLASSES],
        b"num_cases_per_batch": 10_000,
        b"num_vis": 3072,
    }
    with (out / "batches.meta").open("wb") as f:
        pickle.dump(meta, f, protocol=2)
    return out


class CIFAR10DataModule(BaseDataModule):
    """CIFAR-10 (Krizhevsky, 2009) from the official ``cifar-10-batches-py`` pickles; 3x32x32 images.

    No official val split: ``val_fraction`` of the 50,000 training images (seeded; default 0.1 = 5,000)
    form the val set; ``val_fraction=0`` trains on all 50,000 (the usual GAN/FID protocol) and validates on
    the test set. The test set is the official ``test_batch``.

    Args:
        root: folder that holds ``cifar-10-batches-py/`` (torchvision's layout).
        classes: keep only these class names (e.g. ``["horse", "deer"]``); labels are then positions in
            this list. None keeps all ten with the official label order.
        download: fetch the archive with ``torchvision.datasets.CIFAR10(root, download=True)`` in
            ``prepare_data`` (the only network access).
        val_fraction: share of the training set held out for validation.
        batch_size, num_workers, seed, limit: see :class:`~lightning_gen.data.base.BaseDataModule`.
    """

    def __init__(
        self,
        root: str,
        classes: list[str] | None = None,
        download: bool = False,
        val_fraction: float = 0.1,
        batch_size: int = 64,
        num_workers: int = 0,
        seed: int = 0,
        limit: int | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed, limit=limit)
        self.root = root
        if classes is not None:
            if not classes or len(set(classes)) != len(classes):
                raise ValueError(f"classes must be a non-empty list without repeats, got {classes!r}.")
            for name in classes:
                check_choice("classes", name, CIFAR10_CLASSES)
        self._classes = list(classes) if classes is not None else list(CIFAR10_CLASSES)
        self.download = download
        self.val_fraction = check_val_fraction(val_fraction)

    @property
    def classes(self) -> list[str]:
        """Class names; label ``i`` is ``classes[i]``."""
        return list(self._classes)

    @property
    def channels(self) -> int:
        """3 (RGB)."""
        return 3

    @property
    def image_size(self) -> int:
        """32."""
        return 32

    @property
    def num_classes(self) -> int:
        """Number of kept classes (10 unless ``classes`` is given)."""
        return len(self._classes)

    def prepare_data(self) -> None:
        """With ``download=True``, fetch and unpack the official archive through torchvision."""
        if self.download:
            from torchvision.datasets import CIFAR10

            CIFAR10(self.root, train=True, download=True)

    def _dataset(self, split: str) -> TensorImageDataset:
        images, labels = read_cifar10(self.root, split)
        file_classes = read_cifar10_classes(self.root)
        # Official label id -> position in self._classes (-1: dropped).
        remap = torch.full((len(file_classes),), -1, dtype=torch.long)
        for position, name in enumerate(self._classes):
            if name not in file_classes:
                raise ValueError(
                    f"Class {name!r} is not in {self.root}/{FOLDER}/batches.meta ({file_classes})."
                )
            remap[file_classes.index(name)] = position
        labels = remap[labels]
        keep = labels >= 0
        if not keep.all():
            images, labels = images[keep], labels[keep]
        return TensorImageDataset(images, labels)

    def build_fit_datasets(self) -> tuple[Dataset, Dataset]:
        return self.split_train_val(self._dataset("train"), self.val_fraction)

    def build_test_dataset(self) -> Dataset:
        return self._dataset("test")
