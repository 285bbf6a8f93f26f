"""What every datamodule shares: the common arguments, the dataloaders, the split and file checks.

Subclasses implement :meth:`BaseDataModule.build_fit_datasets` (train and val) and, when the dataset has
a test split, :meth:`BaseDataModule.build_test_dataset`; the base class does the rest:

- ``batch_size``, ``num_workers``, ``seed`` and ``limit`` (use only the first N training items);
- deterministic shuffling: epoch e of the train loader is a permutation seeded by (``seed``, e), so a
  run resumed at an epoch boundary sees the same order as an uninterrupted one;
- ``drop_last=True`` on the train loader (GAN batch statistics), never on val/test;
- ``predict_dataloader`` is the val loader; ``test_dataloader`` is the val loader where no test split
  exists.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, Subset

from lightning_gen.utils.validation import check_positive

__all__ = [
    "BaseDataModule",
    "EpochSeededRandomSampler",
    "check_val_fraction",
    "limit_dataset",
    "missing_files_error",
    "require_files",
    "split_indices",
]


def check_val_fraction(val_fraction: float, *, allow_zero: bool = True) -> float:
    """Return ``val_fraction`` if it is in [0, 1) (or (0, 1) without ``allow_zero``); else a ValueError."""
    low_ok = val_fraction >= 0.0 if allow_zero else val_fraction > 0.0
    if not (low_ok and val_fraction < 1.0):
        interval = "[0, 1)" if allow_zero else "(0, 1) (this dataset has no test split to validate on)"
        raise ValueError(f"val_fraction must be in {interval}, got {val_fraction!r}.")
    return val_fraction


def split_indices(num_items: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Deterministically split ``range(num_items)`` into (train, val) index lists, both sorted.

    ``round(num_items * val_fraction)`` items go to val, chosen by a permutation seeded with ``seed``: the
    same seed gives the same split on every machine. Sorting keeps the dataset's own order inside each
    part, so ``limit`` takes the first N training items in file order.

    Raises:
        ValueError: ``val_fraction`` is not in [0, 1).
    """
    check_val_fraction(val_fraction)
    generator = torch.Generator().manual_seed(seed)
    permutation = torch.randperm(num_items, generator=generator)
    num_val = round(num_items * val_fraction)
    return sorted(permutation[num_val:].tolist()), sorted(permutation[:num_val].tolist())


def limit_dataset(dataset: Dataset, limit: int | None) -> Dataset:
    """The first ``limit`` items of ``dataset`` (all of it when ``limit`` is None or larger)."""
    if limit is None or limit >= len(dataset):  # type: ignore[arg-type]
        return dataset
    return Subset(dataset, range(limit))


def missing_files_error(missing: Sequence[str | Path], dataset: str, fix: str) -> FileNotFoundError:
    """The error for missing dataset files: one line per missing path, then how to get them."""
    listed = "\n".join(f"  {m}" for m in missing)
    return FileNotFoundError(f"{dataset}: missing file(s):\n{listed}\n{fix}")


def require_files(paths: Sequence[Path], dataset: str, fix: str, *, folders: Sequence[Path] = ()) -> None:
    """Raise :func:`missing_files_error` for every file in ``paths`` / folder in ``folders`` that is absent."""
    missing = [str(p) for p in paths if not p.is_file()]
    missing += [f"{p}/ (folder)" for p in folders if not p.is_dir()]
    if missing:
        raise missing_files_error(missing, dataset, fix)


class EpochSeededRandomSampler(Sampler[int]):
    """A random permutation that depends only on ``(seed, epoch)``.

    Lightning calls ``set_epoch`` before every epoch (as for ``DistributedSampler``), so epoch e sees the
    same order in an uninterrupted run and in a run resumed from a checkpoint at an epoch boundary.
    """

    def __init__(self, dataset: Dataset, seed: int) -> None:
        self.num_items = len(dataset)  # type: ignore[arg-type]
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(torch.randperm(self.num_items, generator=generator).tolist())

    def __len__(self) -> int:
        return self.num_items


class BaseDataModule(pl.LightningDataModule):
    """Common arguments and dataloaders of lightning-gen's datamodules (subclass it; not used directly).

    Args:
        batch_size: items per batch.
        num_workers: DataLoader worker processes (0 reads in the main process).
        seed: seeds the val split (where the subclass makes one) and the train shuffling.
        limit: use only the first ``limit`` training items (fast tests and benchmarks); None uses all.
    """

    def __init__(self, *, batch_size: int, num_workers: int, seed: int, limit: int | None) -> None:
        super().__init__()
        check_positive("batch_size", batch_size)
        check_positive("num_workers", num_workers, allow_zero=True)
        if limit is not None:
            check_positive("limit", limit)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.limit = limit
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None
        # Records the subclass's constructor arguments too (Lightning walks the __init__ frames).
        self.save_hyperparameters()

    # ----- what subclasses provide -------------------------------------------------------------------
    def build_fit_datasets(self) -> tuple[Dataset, Dataset]:
        """Return the (train, val) datasets, full size (the base class applies ``limit``)."""
        raise NotImplementedError

    def build_test_dataset(self) -> Dataset:
        """Return the test dataset; by default the val dataset (datasets without a test split)."""
        self.setup("fit")
        assert self.val_set is not None
        return self.val_set

    def split_train_val(self, dataset: Dataset, val_fraction: float) -> tuple[Dataset, Dataset]:
        """Hold out ``val_fraction`` of ``dataset`` as val (seeded by ``seed``).

        ``val_fraction=0`` trains on all of ``dataset`` and validates on :meth:`build_test_dataset` (only
        for subclasses that have a test split).
        """
        if val_fraction == 0:
            return dataset, self.build_test_dataset()
        train, val = split_indices(len(dataset), val_fraction, self.seed)  # type: ignore[arg-type]
        return Subset(dataset, train), Subset(dataset, val)

    def train_sampler(self, dataset: Dataset) -> Sampler:
        """The train loader's sampler: a permutation seeded by (``seed``, epoch). Subclasses may replace it
        (the captioned datamodules yield ``(index, epoch)`` keys, so each item's caption can depend on the epoch)."""
        return EpochSeededRandomSampler(dataset, self.seed)

    # ----- LightningDataModule hooks -----------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        """Build the datasets ``stage`` needs (all for None); later calls reuse them."""
        if stage in (None, "fit", "validate", "predict") and self.train_set is None:
            train, val = self.build_fit_datasets()
            self.train_set, self.val_set = limit_dataset(train, self.limit), val
        if stage in (None, "test") and self.test_set is None:
            self.test_set = self.build_test_dataset()

    def _loader(self, dataset: Dataset, *, train: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=self.train_sampler(dataset) if train else None,
            drop_last=train,
            # the loader's own generator: creating an iterator then draws nothing from the global RNG
            generator=torch.Generator().manual_seed(self.seed),
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )

    def train_dataloader(self) -> DataLoader:
        """Shuffled (per-epoch permutation seeded by ``seed`` and the epoch), ``drop_last=True``."""
        self.setup("fit")
        assert self.train_set is not None
        size = len(self.train_set)  # type: ignore[arg-type]
        if size < self.batch_size:
            raise ValueError(
                f"{type(self).__name__}: the train split has {size} items, fewer than batch_size="
                f"{self.batch_size}, so drop_last=True would yield no batch. Lower batch_size or raise limit."
            )
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> DataLoader:
        """In order, all items."""
        self.setup("validate")
        assert self.val_set is not None
        return self._loader(self.val_set, train=False)

    def test_dataloader(self) -> DataLoader:
        """The test split in order (the val split where the dataset has no test split)."""
        self.setup("test")
        assert self.test_set is not None
        return self._loader(self.test_set, train=False)

    def predict_dataloader(self) -> DataLoader:
        """Same as :meth:`val_dataloader`."""
        return self.val_dataloader()
