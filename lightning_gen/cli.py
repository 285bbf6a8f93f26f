"""The ``lightning-gen`` command.

``lightning-gen fit|validate|test|predict --config configs/X.yaml`` is LightningCLI (every trainer, model
and data option can be overridden on the command line, ``--print_config`` works, unknown keys are errors).
``lightning-gen sample|reconstruct|...`` are the checkpoint tools listed in
:data:`lightning_gen.commands.COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.utilities.exceptions import SIGTERMException

from lightning_gen.callbacks.preemption import PreemptionCheckpoint
from lightning_gen.commands import COMMANDS
from lightning_gen.models.base import CHECKPOINT_KEY, GenerativeModule, constructor_arguments
from lightning_gen.nn.spec import resolve_class_path
from lightning_gen.sampling import read_checkpoint_safely

__all__ = ["BATCH_COUNT_OPTIONS", "SIGTERM_EXIT_CODE", "LightningGenCLI", "batch_counts", "main"]

#: exit status of a fit stopped by SIGTERM (128 + 15, the shells' convention), so that a job script can requeue
SIGTERM_EXIT_CODE = 143

#: Trainer options where Lightning reads an int as a number of batches and a float as a fraction of them.
BATCH_COUNT_OPTIONS = (
    "limit_train_batches",
    "limit_val_batches",
    "limit_test_batches",
    "limit_predict_batches",
    "overfit_batches",
    "val_check_interval",
)


def batch_counts(trainer: Any) -> None:
    """Make every integral value of :data:`BATCH_COUNT_OPTIONS` in a parsed ``trainer`` config an ``int``.

    Lightning reads ``limit_val_batches=1`` as one batch and ``1.0`` as all of them, but jsonargparse may
    parse the ``1`` of a YAML file or of ``--trainer.limit_val_batches=1`` into ``Optional[Union[int, float]]``
    as ``1.0`` (Lightning #2989, #12678), which silently runs every batch. In lightning-gen's CLI an integral
    number is therefore always a batch count (``1``, ``1.0``, ``80``), a number in (0, 1) a fraction, and
    ``null`` (the default) all batches."""
    for key in BATCH_COUNT_OPTIONS:
        value = trainer.get(key) if trainer is not None else None
        if isinstance(value, float) and value.is_integer():
            trainer[key] = int(value)


class LightningGenCLI(LightningCLI):
    """LightningCLI over every :class:`GenerativeModule` and every ``LightningDataModule``."""

    def __init__(self, args: Sequence[str] | None = None, run: bool = True) -> None:
        extra = ", ".join(sorted(COMMANDS))
        super().__init__(
            model_class=GenerativeModule,
            datamodule_class=pl.LightningDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            save_config_kwargs={"overwrite": True},
            # a preempted job (SIGTERM) stops after its current batch with a last.ckpt to resume from
            trainer_defaults={"callbacks": [PreemptionCheckpoint()]},
            parser_kwargs={
                "description": f"lightning-gen: train with fit/validate/test/predict; also: {extra}.",
                # an abbreviated or misspelt option is an error, never silently expanded (subcommands inherit it)
                "allow_abbrev": False,
            },
            args=list(args) if args is not None else None,
            run=run,
        )

    def parse_arguments(self, parser: Any, args: Any) -> None:
        """LightningCLI's parse, then integral batch limits become counts (:func:`batch_counts`)."""
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        batch_counts((self.config[subcommand] if subcommand else self.config).get("trainer"))

    def before_instantiate_classes(self) -> None:
        """``--ckpt_path`` is restored with ``weights_only=True`` unless the user explicitly asks otherwise
        (Lightning leaves the choice to the torch default, which older torch versions set to False)."""
        config = self.config.get(self.subcommand) if self.subcommand else None
        if config is not None and "weights_only" in config and config.get("weights_only") is None:
            config["weights_only"] = True

    def _parse_ckpt_path(self) -> None:
        """Lightning's merge of the hyper-parameters of ``--ckpt_path FILE`` into the config, with the model's
        class path taken from ``_class_path`` or, where the hyper-parameters lack it (the DDPM family leaves it
        out, so ``load_from_checkpoint`` can pass them all to ``__init__``; checkpoints of older versions), from
        ``checkpoint["lightning_gen"]["model"]``, so the merge (and the resume) works for every lightning-gen
        checkpoint. The checkpoint is read once, weights-only (:func:`read_checkpoint_safely`); a file that
        holds anything else stops the command with an error that says so, before any of it is unpickled."""
        subcommand = self.config.get("subcommand")
        ckpt_path = self.config[subcommand].get("ckpt_path") if subcommand else None
        if not ckpt_path or not Path(ckpt_path).is_file():
            return
        try:
            checkpoint = read_checkpoint_safely(ckpt_path)
        except ValueError as err:
            self.parser.error(str(err))
        hparams = dict(checkpoint.get("hyper_parameters", {}))
        hparams.pop("_instantiator", None)
        if not hparams:
            return
        class_path = hparams.pop("_class_path", None) or checkpoint.get(CHECKPOINT_KEY, {}).get("model")
        if class_path:  # checkpoints of earlier versions also kept options a subclass fixes itself: drop them
            accepted = constructor_arguments(resolve_class_path(class_path))
            hparams = {name: value for name, value in hparams.items() if name in accepted}
        model = {"class_path": class_path, "dict_kwargs": hparams} if class_path else hparams
        try:
            self.config = self.parser.parse_object({subcommand: {"model": model}}, self.config)
        except SystemExit:
            sys.stderr.write("Parsing of ckpt_path hyperparameters failed!\n")
            raise

    def before_fit(self) -> None:
        """``--ckpt_path last`` resumes from the newest ``last.ckpt`` under ``trainer.default_root_dir``
        (a new run gets a new logger version, so Lightning alone would look in an empty folder)."""
        config = self.config_init[self.subcommand]
        if config.get("ckpt_path") == "last":
            root = Path(self.trainer.default_root_dir)
            candidates = sorted(root.rglob("last*.ckpt"), key=lambda p: p.stat().st_mtime)
            if not candidates:
                raise FileNotFoundError(
                    f"--ckpt_path last: no last.ckpt under {root}. Train with a ModelCheckpoint(save_last=True) "
                    "callback first (the configs have one), or pass the checkpoint's path."
                )
            config["ckpt_path"] = str(candidates[-1])
            print(f"Resuming from {candidates[-1]}")

    def after_fit(self) -> None:
        callback = self.trainer.checkpoint_callback
        if callback is not None and self.trainer.is_global_zero:
            path = callback.last_model_path or callback.best_model_path
            if path:
                print(f"Checkpoint: {path}")
                print(f"Sample from it: lightning-gen sample --ckpt {path} --num 64 --out samples.png")


def _run_command(name: str, argv: Sequence[str]) -> int:
    module = importlib.import_module(COMMANDS[name])
    parser = argparse.ArgumentParser(prog=f"lightning-gen {name}", description=module.DESCRIPTION)
    module.add_arguments(parser)
    args = parser.parse_args(list(argv))
    try:
        return module.run(args)
    except (FileNotFoundError, ValueError) as err:
        print(f"lightning-gen {name}: error: {err}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    explicit = argv is not None
    argv = list(argv if explicit else sys.argv[1:])
    if argv and argv[0] in COMMANDS:
        return _run_command(argv[0], argv[1:])
    # From the console script, LightningCLI reads sys.argv itself (passing both warns on every run).
    try:
        LightningGenCLI(args=argv if explicit else None)
    except SIGTERMException:
        print("lightning-gen: stopped by SIGTERM; resume with --ckpt_path last", file=sys.stderr)
        return SIGTERM_EXIT_CODE
    return 0


if __name__ == "__main__":
    sys.exit(main())
