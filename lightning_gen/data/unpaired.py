"""Two unpaired image domains in CycleGAN's layout: ``root/trainA``, ``root/trainB``, ``testA``, ``testB``.

CycleGAN (Zhu, Park, Isola & Efros, 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks"). As in its ``unaligned_dataset.py``: an epoch has ``max(len A, len B)`` items, item
``i`` is ``A[i % len A]`` and a B image drawn at random, independently of A, from a generator of the
dataset's own. Reading and preprocessing reuse :class:`~lightning_gen.data.image_folder.ImageFolderDataset`.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch.utils.data import Dataset, get_worker_info

from lightning_gen.data.base import BaseDataModule, require_files
from lightning_gen.data.image_folder import Channels, ImageFolderDataset
from lightning_gen.utils.validation import check_choice, check_positive

__all__ = ["UnpairedDataset", "UnpairedImageDataModule", "UnpairedImageDataset"]


class UnpairedDataset(Dataset[dict[str, torch.Tensor]]):
    """Items ``{"a": image, "b": image}`` from any two datasets of ``(image, label)`` items (Zhu et al., 2017).

    CycleGAN's pairing rule (``unaligned_dataset.py``): ``max(len A, len B)`` items, item ``i`` is
    ``A[i % len A]`` with a B drawn at random, independently of A; labels are dropped.

    Args:
        domain_a, domain_b: the two domains' datasets.
        random_pairing: draw the B index at random (training, CycleGAN's default); False pairs
            ``B[i % len B]`` (fixed pairs for validation images).
        seed: seeds the B draws. In a DataLoader worker the generator is reseeded from the worker's seed,
            which the loader derives from its own generator, so draws stay reproducible and differ per
            worker (and per epoch unless workers persist, in which case their generators run on).
    """

    def __init__(
        self, domain_a: Dataset, domain_b: Dataset, random_pairing: bool = True, seed: int = 0
    ) -> None:
        self.domain_a = domain_a
        self.domain_b = domain_b
        self.random_pairing = random_pairing
        self.generator = torch.Generator().manual_seed(seed)
        self._worker_seed: int | None = None

    def __len__(self) -> int:
        return max(len(self.domain_a), len(self.domain_b))  # type: ignore[arg-type]

    def _b_index(self, index: int) -> int:
        size_b = len(self.domain_b)  # type: ignore[arg-type]
        if not self.random_pairing:
            return index % size_b
        worker = get_worker_info()
        if worker is not None and worker.seed != self._worker_seed:
            self._worker_seed = worker.seed
            self.generator.manual_seed(worker.seed)
        return int(torch.randint(size_b, (), generator=self.generator))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        image_a, _ = self.domain_a[index % len(self.domain_a)]  # type: ignore[arg-type]
        image_b, _ = self.domain_b[self._b_index(index)]
        return {"a": image_a, "b": image_b}


class UnpairedImageDataset(UnpairedDataset):
    """:class:`UnpairedDataset` of two image folders (Zhu et al., 2017), read as
    :class:`~lightning_gen.data.image_folder.ImageFolderDataset` (any
    :func:`~lightning_gen.data.image_folder.find_images` layout).

    Args:
        root_a, root_b: the two domains' folders.
        image_size, channels: as for :class:`~lightning_gen.data.image_folder.ImageFolderDataset`.
        random_pairing, seed: as for :class:`UnpairedDataset`.
    """

    def __init__(
        self,
        root_a: str | Path,
        root_b: str | Path,
        image_size: int = 32,
        channels: Channels = 3,
        random_pairing: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__(
            ImageFolderDataset(root_a, image_size, channels),
            ImageFolderDataset(root_b, image_size, channels),
            random_pairing=random_pairing,
            seed=seed,
        )


class UnpairedImageDataModule(BaseDataModule):
    """Unpaired domains A and B for image-to-image translation (CycleGAN, Zhu et al., 2017).

    Train: ``trainA`` and ``trainB`` (any sizes), B paired at random each item. Val and test (the same):
    ``testA`` and ``testB`` with fixed pairs ``B[i % len B]``; a missing test folder falls back to the train
    folder of that domain with a warning (CycleGAN has no val split; these images are for looking at).
    Batches are dicts ``{"a": (B, C, S, S), "b": (B, C, S, S)}``.

    Args:
        root: folder holding ``trainA/``, ``trainB/`` and optionally ``testA/``, ``testB/``.
        image_size: output side (center crop of the largest square, then resize).
        channels: 1 or 3.
        batch_size, num_workers, seed, limit: see :class:`~lightning_gen.data.base.BaseDataModule`.
    """

    def __init__(
        self,
        root: str,
        image_size: int = 32,
        channels: Channels = 3,
        batch_size: int = 1,
        num_workers: int = 0,
        seed: int = 0,
        limit: int | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed, limit=limit)
        self.root = root
        self._image_size = check_positive("image_size", image_size)
        self._channels = check_choice("channels", channels, Channels)

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
        """0: unlabeled."""
        return 0

    def _folders(self, split: str) -> tuple[Path, Path]:
        root = Path(self.root)
        train = (root / "trainA", root / "trainB")
        if split == "train":
            fix = "Expected CycleGAN's layout: root/trainA/, root/trainB/ (and optionally testA/, testB/)."
            require_files([], "Unpaired images", fix, folders=train)
            return train
        test = []
        for folder, fallback in zip((root / "testA", root / "testB"), train, strict=True):
            if not folder.is_dir():
                warnings.warn(
                    f"{folder} not found; validating and testing on {fallback} instead.", stacklevel=2
                )
                folder = fallback
            test.append(folder)
        return test[0], test[1]

    def _dataset(self, split: str, random_pairing: bool) -> UnpairedImageDataset:
        root_a, root_b = self._folders(split)
        return UnpairedImageDataset(
            root_a, root_b, self._image_size, self._channels, random_pairing=random_pairing, seed=self.seed
        )

    def build_fit_datasets(self) -> tuple[Dataset, Dataset]:
        return self._dataset("train", random_pairing=True), self._dataset("test", random_pairing=False)
