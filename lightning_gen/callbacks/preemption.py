"""Checkpoint on SIGTERM: a preempted cluster job stops after the current batch with a resumable checkpoint."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.exceptions import SIGTERMException

__all__ = ["PreemptionCheckpoint"]


class PreemptionCheckpoint(pl.Callback):
    """Write ``last.ckpt`` when a fit is stopped by SIGTERM (what SLURM, Kubernetes and most schedulers send
    before they kill a preempted job), so that ``lightning-gen fit ... --ckpt_path last`` resumes from it.

    Lightning's signal connector turns SIGTERM into a flag; the training loop finishes the current batch and
    raises :class:`~lightning.pytorch.utilities.exceptions.SIGTERMException` on every rank, which reaches
    ``on_exception`` here. The checkpoint goes where ``ModelCheckpoint(save_last=True)`` writes ``last.ckpt``
    (its ``dirpath``), else to ``default_root_dir/checkpoints``; any other exception (a NaN loss, a crash)
    writes nothing, so the checkpoints already there stay the last good state. ``lightning-gen fit|...``
    installs this callback in every run.

    Args:
        filename: name of the checkpoint written (``last.ckpt``: the file ``--ckpt_path last`` looks for).
    """

    def __init__(self, filename: str = "last.ckpt") -> None:
        if not filename.endswith(".ckpt"):
            raise ValueError(f"filename must end in .ckpt, got {filename!r}.")
        self.filename = filename
        self.saved_path: Path | None = None

    def checkpoint_path(self, trainer: pl.Trainer) -> Path:
        """Where the preemption checkpoint goes (see the class docstring)."""
        callback = trainer.checkpoint_callback
        folder = getattr(callback, "dirpath", None) if callback is not None else None
        return Path(folder or Path(trainer.default_root_dir) / "checkpoints") / self.filename

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if not isinstance(exception, SIGTERMException) or trainer.state.fn != TrainerFn.FITTING:
            return
        path = self.checkpoint_path(trainer)
        callback = trainer.checkpoint_callback
        if isinstance(callback, ModelCheckpoint) and Path(callback.dirpath or "") == path.parent:
            # recorded as ModelCheckpoint's own last checkpoint (its state is saved in the file), so the resumed
            # run overwrites it instead of writing last-v1.ckpt next to it
            callback.last_model_path = str(path)
        trainer.save_checkpoint(path)  # every rank calls it (Lightning writes on rank 0 and synchronises)
        self.saved_path = path
        rank_zero_info(f"SIGTERM: checkpoint at step {trainer.global_step} written to {path}; resume with "
                       "--ckpt_path last (or this path).")
