"""What every lightning-gen LightningModule shares: manual optimisation plumbing, self-describing
checkpoints, NaN guards, gradient clipping, DDP set-up and seeded sampling.

A subclass declares ``network_names`` (its nn.Module constructor arguments) and writes its
``training_step`` as the paper's algorithm box, one :meth:`optimization_step` per phase.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, ClassVar, Literal

import lightning.pytorch as pl
import torch
from lightning.pytorch.strategies import ParallelStrategy
from torch import nn
from torch.nn.parallel import DistributedDataParallel

import lightning_gen
from lightning_gen.models.finite_guard import FiniteGuard, NonFiniteLossError
from lightning_gen.nn.ema import EMA
from lightning_gen.nn.spec import build_network, network_spec, resolve_class_path
from lightning_gen.utils.validation import check_choice, check_range

__all__ = ["CHECKPOINT_KEY", "GenerativeModule", "NonFiniteLossError", "mix_seed", "read_checkpoint_info", "reseed_global_rngs"]

CHECKPOINT_KEY = "lightning_gen"
ClipAlgorithm = Literal["norm", "value"]


def read_checkpoint_info(path: str | Path | IO[bytes]) -> dict[str, Any]:
    """The ``lightning_gen`` entry of a checkpoint (model class, network specs, EMA names).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a checkpoint, or not one written by lightning-gen.
    """
    return _read_checkpoint(path)[CHECKPOINT_KEY]


def _read_checkpoint(path: str | Path | IO[bytes]) -> dict[str, Any]:
    """The whole checkpoint (weights only), checked to be a lightning-gen one (see :func:`read_checkpoint_info`)."""
    if isinstance(path, str | Path) and not Path(path).is_file():
        raise FileNotFoundError(f"Checkpoint not found: {path}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means "not a checkpoint we can read"
        raise ValueError(f"{path} is not a readable PyTorch checkpoint ({type(err).__name__}: {err}).") from err
    if not isinstance(checkpoint, dict) or CHECKPOINT_KEY not in checkpoint:
        raise ValueError(
            f"{path} is not a lightning-gen checkpoint (it has no '{CHECKPOINT_KEY}' entry). Pass a .ckpt written "
            "by `lightning-gen fit` or by a Trainer fitting a lightning_gen.models module."
        )
    return checkpoint


class GenerativeModule(pl.LightningModule):
    """Base LightningModule of every method (manual optimisation, ``automatic_optimization = False``).

    Args:
        gradient_clip_val: clip each phase's gradients (Lightning refuses trainer-level clipping under
            manual optimisation, so it is a model option). None disables clipping.
        gradient_clip_algorithm: ``"norm"`` (global L2 norm) or ``"value"``.
        accumulate_grad_batches: N > 1 accumulates the gradients of N training batches (micro-batches) before
            each optimiser step, for an effective batch N times larger (Lightning refuses its Trainer flag under
            manual optimisation, so it is a model option). Each micro-batch's loss is divided by the window's
            size and back-propagated; DDP does not all-reduce on the micro-batches that do not step
            (``strategy.block_backward_sync``); gradients are zeroed before a window's first backward; the EMA
            and per-step schedules advance on real steps only. A window ends every N batches and at the
            epoch's last batch (a shorter last window is averaged over its own size). The result equals one
            step on the concatenated batch (tested), up to what depends on the batch split: BatchNorm sees
            micro-batch statistics. Multi-phase models accumulate each phase over the window (GAN: all D
            micro-steps, one D step, then G's phase over the window's batches with the stepped D);
            ``supports_accumulation`` says which models do.
    """

    network_names: ClassVar[tuple[str, ...]] = ()
    #: options of a parent's constructor that this class sets itself, so they are not its constructor arguments
    fixed_options: ClassVar[tuple[str, ...]] = ()
    #: name of the network that ``sample`` runs (and that EMA averages)
    sampling_network: ClassVar[str] = ""

    #: whether ``accumulate_grad_batches`` > 1 gives the large-batch step: always for one optimiser; a model
    #: with several (phases that read each other's updates) sets it when its training_step handles the window
    supports_accumulation: ClassVar[bool] = False

    def __init__(
        self,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: ClipAlgorithm = "norm",
        accumulate_grad_batches: int = 1,
    ) -> None:
        super().__init__()
        check_choice("gradient_clip_algorithm", gradient_clip_algorithm, ClipAlgorithm)
        if gradient_clip_val is not None and gradient_clip_val <= 0:
            raise ValueError(f"gradient_clip_val must be > 0 or None, got {gradient_clip_val}.")
        if isinstance(accumulate_grad_batches, bool) or not isinstance(accumulate_grad_batches, int) or accumulate_grad_batches < 1:
            raise ValueError(f"accumulate_grad_batches must be an int >= 1 (1: no accumulation), got {accumulate_grad_batches!r}.")
        self.automatic_optimization = False
        self._clip_val = gradient_clip_val
        self._clip_algorithm = gradient_clip_algorithm
        self.accumulate_grad_batches = accumulate_grad_batches
        self._finite_guard = FiniteGuard()
        self._zeroed: set[int] = set()  # optimisers whose gradients hold this window's sum so far

    # ------------------------------------------------------------------ hyper-parameters and checkpoints
    def save_init_hyperparameters(self, init: Any, arguments: dict[str, Any]) -> None:
        """Save the constructor's arguments as hyper-parameters, less the networks; call it in a family's
        ``__init__`` as ``self.save_init_hyperparameters(Family.__init__, locals())``.

        Lightning's ``save_hyperparameters`` records the arguments of every ``__init__`` of the call chain
        (a subclass's values winning) or, under LightningCLI, the configured arguments of the class the CLI
        built. The latter lack the options a subclass passes to this ``__init__`` itself (BigBiGAN's
        ``loss``), which this class's loop still reads, so ``init``'s own ``arguments`` are added where
        missing. What a checkpoint keeps is :meth:`constructor_hparams`."""
        self.save_hyperparameters(ignore=list(self.network_names))
        named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        own = {
            name: arguments[name]
            for name, p in inspect.signature(init).parameters.items()
            if p.kind in named and name != "self" and name not in self.network_names and name in arguments
        }
        for hparams in (self._hparams, self._hparams_initial):
            hparams.pop("_instantiator", None)
            for name, value in own.items():
                hparams.setdefault(name, value)

    def constructor_hparams(self) -> dict[str, Any]:
        """The hyper-parameters a checkpoint keeps: exactly the keyword arguments ``type(self)(...)`` accepts.

        In memory, ``self.hparams`` (:meth:`save_init_hyperparameters`) may carry keys the class does not take:
        an option a subclass fixes itself (``fixed_options``: ConditionalGAN's ``num_val_samples``, BigBiGAN's
        ``loss``) or LightningCLI's ``_class_path``. The checkpoint keeps only the accepted ones
        (:func:`constructor_arguments`, which follows ``**options`` forwarded to the parent), so
        ``load_from_checkpoint`` and ``lightning-gen validate/test/predict --ckpt_path`` can pass them all to
        ``__init__``; the model class is ``checkpoint["lightning_gen"]["model"]``."""
        accepted = constructor_arguments(type(self))
        return {name: value for name, value in self.hparams.items() if name in accepted}

    @classmethod
    def refuse_fixed_options(cls, options: dict[str, Any]) -> None:
        """Raise if ``options`` (forwarded to the parent's constructor) name one of :attr:`fixed_options`."""
        for name in cls.fixed_options:
            if name in options:
                raise ValueError(f"{cls.__name__} sets {name} itself; drop it from the model's options.")

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.CHECKPOINT_HYPER_PARAMS_KEY in checkpoint:
            checkpoint[self.CHECKPOINT_HYPER_PARAMS_KEY] = self.constructor_hparams()
        checkpoint[CHECKPOINT_KEY] = {
            "format": 1,
            "version": lightning_gen.__version__,
            "model": f"{type(self).__module__}.{type(self).__qualname__}",
            "networks": {name: network_spec(getattr(self, name)) for name in self.network_names},
            # the training randomness is a function of (noise seed, counters, rank): the seed is all there is
            "rng": {"noise_seed": self.noise_seed},
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # A resumed run continues the stream of the run that wrote the checkpoint. (Checkpoints of format 1
        # before this held rank 0's global RNG states, which are no longer restored on any rank.)
        saved = checkpoint.get(CHECKPOINT_KEY, {}).get("rng") or {}
        if "noise_seed" in saved:
            self._noise_seed = int(saved["noise_seed"])

    # ------------------------------------------------------------------ training randomness
    @property
    def noise_seed(self) -> int:
        """The seed of all training randomness: the checkpoint's when resuming, else the ``noise_seed``
        hyper-parameter (DDPM), else the run's ``seed_everything`` seed, else 0."""
        seed = getattr(self, "_noise_seed", None)
        if seed is None:
            seed = self.hparams.get("noise_seed")
        if seed is None:
            seed = int(os.environ.get("PL_GLOBAL_SEED", 0))
        return int(seed)

    def seeded_generator(self, *keys: int) -> torch.Generator:
        """A ``torch.Generator`` on the model's device, seeded by a hash of the integers ``keys``.

        Draws happen where they are used (no CPU draw and copy). The same keys give the same numbers on
        the same device type; a CUDA generator's stream differs from a CPU one's for the same seed (and may
        differ across GPU generations), so a run is reproducible per device type, not across them."""
        return torch.Generator(device=self.device).manual_seed(mix_seed(*keys))

    def step_generator(self) -> torch.Generator:
        """The one source of a training batch's random draws (latents, label-smoothing targets, diffusion
        noise and timesteps, image-pool choices, ...), seeded by (noise seed, batch index, rank).

        Under DDP every rank draws different noise (``seed_everything`` seeds the global RNG identically on
        all ranks, so drawing from it would make a second GPU repeat the first one's fakes), and a resumed
        run draws exactly what an uninterrupted one does. The batch index is the trainer's running count of
        training batches, not ``global_step``: it advances once per batch whatever the number of optimiser
        steps (two per batch in GANs, none on an accumulation micro-batch). Successive calls within one
        batch continue the same stream."""
        trainer = self._trainer
        index = trainer.fit_loop.epoch_loop.total_batch_idx if trainer is not None else 0
        key = (self.noise_seed, index, self.global_rank, str(self.device))
        cached = getattr(self, "_step_rng", None)
        if cached is None or cached[0] != key:
            cached = (key, batch_generator(self.noise_seed, index, self.global_rank, self.device))
            self._step_rng = cached
        return cached[1]

    def draw_normal(self, shape: tuple[int, ...], dtype: torch.dtype | None = None) -> torch.Tensor:
        """N(0, I) noise of ``shape`` for the current training batch, on the model's device, from
        :meth:`step_generator`."""
        return torch.randn(shape, generator=self.step_generator(), device=self.device, dtype=dtype)

    def on_train_epoch_start(self) -> None:
        """Reseed the global RNGs (torch, numpy, random: dropout, shuffling, augmentation) from (noise seed,
        epoch, rank), so that they too are per rank and a run resumed at an epoch boundary continues as an
        uninterrupted one (instead of restoring one rank's saved state on every rank)."""
        reseed_global_rngs(mix_seed(_EPOCH_STREAM, self.noise_seed, self.current_epoch, self.global_rank))

    @classmethod
    def load_from_checkpoint(  # type: ignore[override]
        cls,
        checkpoint_path: str | Path,
        map_location: Any = None,
        hparams_file: str | Path | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> GenerativeModule:
        """Load a checkpoint written by this class; networks are rebuilt from the checkpoint unless given.

        Raises:
            ValueError: the file is not a lightning-gen checkpoint, or was written by another model class.
        """
        checkpoint = _read_checkpoint(checkpoint_path)
        info = checkpoint[CHECKPOINT_KEY]
        written_by = info.get("model", "?")
        if not _is_subclass_path(written_by, cls):
            raise ValueError(
                f"{checkpoint_path} holds a {written_by} checkpoint, not a {cls.__name__} one. Load it with "
                f"{written_by.rsplit('.', 1)[-1]}.load_from_checkpoint or lightning_gen.sampling.load_model."
            )
        for name, spec in info["networks"].items():
            if name not in kwargs:
                kwargs[name] = build_network(spec, name)
        hparams = checkpoint.get(cls.CHECKPOINT_HYPER_PARAMS_KEY) or {}
        stale = set(hparams) - constructor_arguments(cls)
        if stale and _takes_var_keywords(cls):
            # a checkpoint of an earlier version, whose hyper-parameters carried _class_path and the options a
            # subclass fixes; a class forwarding **options would pass them on to its parent's __init__
            checkpoint[cls.CHECKPOINT_HYPER_PARAMS_KEY] = {k: v for k, v in hparams.items() if k not in stale}
            checkpoint_path = io.BytesIO()
            torch.save(checkpoint, checkpoint_path)
            checkpoint_path.seek(0)
        del checkpoint
        parent = super().load_from_checkpoint.__func__  # type: ignore[attr-defined]
        model = parent(cls, checkpoint_path, map_location=map_location, hparams_file=hparams_file, strict=strict, **kwargs)
        return model

    # ------------------------------------------------------------------ training plumbing
    def check_ddp_setup(self) -> None:
        """Refuse DDP without ``find_unused_parameters`` for a model with several optimisers, with the fix.

        One DDP wrapper holds all networks (Lightning issues #20328, #20866), and each phase's backward reaches
        only the networks of its optimiser (``toggled`` freezes the others), so DDP must look for unused
        parameters, or it fails at the second iteration with "Expected to have finished reduction". That
        search costs a traversal of the autograd graph per backward, so single-optimiser models (DDPM, the
        autoencoders, the cascade stages) keep DDP's default (False) under a plain ``strategy="ddp"``. The
        setting is the user's, through Lightning's public routes (``strategy="ddp_find_unused_parameters_true"``
        or ``DDPStrategy(find_unused_parameters=True)``); this check reads it from the DDP wrapper's public
        ``find_unused_parameters`` and is called once, at the first :meth:`optimization_step`, on every rank
        alike."""
        wrapper = self.trainer.strategy.model if self._trainer is not None else None
        if not isinstance(wrapper, DistributedDataParallel) or wrapper.find_unused_parameters:
            return
        optimizers = len(self.trainer.optimizers)
        if optimizers > 1:
            raise RuntimeError(
                f"{type(self).__name__} trains {optimizers} optimisers in turn, and each phase's backward reaches "
                "only its own networks, which DDP must be told: pass --trainer.strategy "
                "ddp_find_unused_parameters_true (in Python: Trainer(strategy='ddp_find_unused_parameters_true') "
                "or DDPStrategy(find_unused_parameters=True)) instead of a plain 'ddp'."
            )

    def optimization_step(
        self, optimizer: Any, loss: torch.Tensor, phase: str, *, step: bool | None = None, window: int | None = None
    ) -> None:
        """One phase of the algorithm: check the loss, zero, backward, step (clipping happens in the step).

        Call it inside ``with self.toggled(optimizer):`` (around the phase's forward too), so that only
        ``optimizer``'s parameters take part in the backward.

        Under gradient accumulation (``accumulate_grad_batches`` > 1) the call is one micro-batch's share:
        ``loss / window`` is back-propagated into the window's gradient sum (zeroed before the window's first
        backward; no DDP all-reduce unless this call steps), and the optimiser steps when ``step`` is True,
        by default at the window's last batch (:meth:`is_accumulation_boundary`). ``window`` defaults to the
        size of the current window (:meth:`accumulation_window`); a training_step that runs a phase over a
        window's cached batches passes both.

        A NaN/inf loss raises :class:`NonFiniteLossError` before the step, on every DDP rank at once, without a
        per-phase stall of the accelerator: see :mod:`lightning_gen.models.finite_guard`. With ``step=False``
        the check waits for the step of the next ``optimization_step`` on ``optimizer``.
        """
        trainer = self._trainer
        if trainer is not None and getattr(self, "_ddp_checked_for", None) != id(trainer.strategy):
            self.check_ddp_setup()
            self.check_accumulation_support()
            self._ddp_checked_for = id(trainer.strategy)
        world_size = trainer.world_size if trainer is not None else 1
        self._finite_guard.watch(optimizer, loss, phase, self.global_rank, world_size)
        step = self.is_accumulation_boundary() if step is None else step
        window = self.accumulation_window() if window is None else window
        key = id(getattr(optimizer, "optimizer", optimizer))
        if key not in self._zeroed:
            optimizer.zero_grad(set_to_none=True)
            self._zeroed.add(key)
        if window > 1:
            loss = loss / window
        strategy = trainer.strategy if trainer is not None else None
        blocked = not step and isinstance(strategy, ParallelStrategy)
        with strategy.block_backward_sync() if blocked else contextlib.nullcontext():
            self.manual_backward(loss)
        if step:
            self._finite_guard.raise_if_bad(optimizer, step=self.global_step, epoch=self.current_epoch,
                                            rank=self.global_rank)
            optimizer.step()
            self._zeroed.discard(key)

    # ------------------------------------------------------------------ gradient accumulation
    def _batch_position(self) -> tuple[int, int | float]:
        """(index of the current training batch in its epoch, number of training batches of the epoch)."""
        trainer = self._trainer
        if trainer is None or not trainer.training:
            return 0, 1
        return trainer.fit_loop.epoch_loop.batch_idx, trainer.num_training_batches

    def step_index(self, batch_idx: int) -> int:
        """The index (in the epoch) of the optimiser step that training batch ``batch_idx`` contributes to:
        ``batch_idx`` itself without accumulation, ``batch_idx // accumulate_grad_batches`` with it. Schedules
        counted in batches (GAN's ``d_steps_per_g_step``) count these large batches."""
        return batch_idx // self.accumulate_grad_batches

    def accumulation_window(self) -> int:
        """The number of micro-batches in the current batch's accumulation window (1 without accumulation)."""
        n = self.accumulate_grad_batches
        if n == 1:
            return 1
        index, total = self._batch_position()
        start = index - index % n
        return int(min(n, total - start)) if total != float("inf") else n

    def is_accumulation_boundary(self) -> bool:
        """Whether the current training batch ends an accumulation window (the optimisers step on it);
        always True without accumulation."""
        n = self.accumulate_grad_batches
        if n == 1:
            return True
        index, total = self._batch_position()
        return (index + 1) % n == 0 or index + 1 >= total

    def check_accumulation_support(self) -> None:
        """Refuse ``accumulate_grad_batches`` > 1 where it would not give the large-batch step."""
        if self.accumulate_grad_batches == 1 or self._trainer is None:
            return
        if len(self.trainer.optimizers) > 1 and not type(self).supports_accumulation:
            raise ValueError(
                f"{type(self).__name__} does not implement accumulate_grad_batches > 1: its phases read each "
                "other's updates, so accumulating them batch by batch would not equal one step on the large "
                "batch. Use a larger data.batch_size (or more devices) instead, or accumulate_grad_batches=1."
            )

    def on_before_optimizer_step(self, optimizer: Any) -> None:
        """Clip here: Lightning calls this hook inside ``optimizer.step()``, after the precision plugin has
        unscaled the gradients (``16-mixed``'s GradScaler multiplies the loss by up to 2**16) and before the
        update, so the threshold applies to the true gradients under every precision. Clipping before
        ``step()`` would clip the *scaled* gradients, and the scaler would then divide them again: a clipped
        norm of ``gradient_clip_val / scale`` (issue 12, defect 1). A subclass overriding this hook calls
        ``super().on_before_optimizer_step(optimizer)``."""
        if self._clip_val is not None:
            self.clip_gradients(optimizer, gradient_clip_val=self._clip_val, gradient_clip_algorithm=self._clip_algorithm)

    @contextlib.contextmanager
    def toggled(self, optimizer: Any) -> Iterator[None]:
        """Freeze every parameter not owned by ``optimizer`` for the duration of the block."""
        if len(self.trainer.optimizers) > 1:
            self.toggle_optimizer(optimizer)
            try:
                yield
            finally:
                self.untoggle_optimizer(optimizer)
        else:
            yield

    def is_logging_step(self) -> bool:
        """Whether the Trainer writes this training step's logs (every ``trainer.log_every_n_steps``).

        Each ``self.log`` call costs Lightning ~0.5 ms of bookkeeping, a measurable share of a small model's
        step (benchmarks/results/overhead.md), so training steps compute and log their metrics only then.
        """
        trainer = self._trainer
        if trainer is None:
            return True
        connector = getattr(trainer, "_logger_connector", None)
        return bool(getattr(connector, "should_update_logs", True) or trainer.fast_dev_run)

    # ------------------------------------------------------------------ sampling helpers
    def sampler_network(self, use_ema: bool = True) -> nn.Module:
        """The network ``sample`` runs: its EMA average when one exists and ``use_ema``."""
        ema = getattr(self, "ema", None)
        if use_ema and isinstance(ema, EMA):
            return ema.shadow
        return getattr(self, self.sampling_network)

    @contextlib.contextmanager
    def eval_mode(self, network: nn.Module) -> Iterator[None]:
        was_training = network.training
        network.eval()
        try:
            with torch.inference_mode():
                yield
        finally:
            network.train(was_training)

    def random_generator(self, seed: int | None) -> torch.Generator | None:
        if seed is None:
            return None
        gen = torch.Generator(device=self.device)
        gen.manual_seed(seed)
        return gen

    def averaged_networks(self) -> dict[str, str]:
        """``{EMA attribute: the network attribute it averages}``: ``{"ema": sampling_network}`` when the model
        keeps an EMA, else empty. A model that also averages a network trained with it (a text tower) adds it;
        :meth:`update_ema`, checkpoints and ``lightning-gen export`` treat every pair alike."""
        return {"ema": self.sampling_network} if isinstance(getattr(self, "ema", None), EMA) else {}

    def update_ema(self) -> None:
        """Advance every EMA (:meth:`averaged_networks`), on optimiser steps only (not on accumulation
        micro-batches)."""
        averaged = self.averaged_networks()
        if averaged and self.is_accumulation_boundary():
            for ema, network in averaged.items():
                getattr(self, ema).update(getattr(self, network))

    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Check a labelled batch's class labels once, on the host, before Lightning moves it to the device:
        the networks check labels only when they are host tensors (a per-step check of a GPU tensor would
        stall the device, issue 12 defect 8), so this is where a GPU run meets a bad label."""
        num_classes = int(getattr(self, "num_classes", 0) or 0)
        if num_classes and isinstance(batch, list | tuple) and len(batch) > 1:
            labels = batch[1]
            if isinstance(labels, torch.Tensor) and not labels.is_floating_point() and labels.dim() <= 1:
                check_range("Labels", labels, 0, num_classes - 1)
        return batch


_TRAIN_STREAM, _EPOCH_STREAM = 0, 1  # domain separation of the seeds derived by GenerativeModule


def batch_generator(
    noise_seed: int, batch_index: int, rank: int = 0, device: torch.device | str = "cpu"
) -> torch.Generator:
    """The generator of training batch ``batch_index`` on ``rank`` (what :meth:`GenerativeModule.step_generator`
    returns): a plain training loop draws from it to reproduce a module's training noise exactly."""
    return torch.Generator(device=device).manual_seed(mix_seed(_TRAIN_STREAM, noise_seed, batch_index, rank))


def mix_seed(*keys: int) -> int:
    """A 63-bit seed from integer ``keys`` (BLAKE2b of their bytes): distinct keys give unrelated seeds,
    unlike sums or bit shifts, which collide once a counter outgrows its field."""
    data = b"".join((int(k) & (2**64 - 1)).to_bytes(8, "little") for k in keys)
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") & (2**63 - 1)


def reseed_global_rngs(seed: int) -> None:
    """Seed torch (CPU and every CUDA device), numpy and Python's ``random`` with ``seed``."""
    import random

    import numpy as np

    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def constructor_arguments(cls: type) -> set[str]:
    """The keyword arguments ``cls(...)`` accepts: its ``__init__``'s named parameters and, where that
    ``__init__`` forwards ``**options`` to its parent's, the parent's too (recursively), less the
    ``fixed_options`` a subclass sets itself."""
    names: set[str] = set()
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        parameters = inspect.signature(klass.__init__).parameters
        names |= {name for name, p in parameters.items() if p.kind in named and name != "self"}
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            break
    return names - set(getattr(cls, "fixed_options", ()))


def _takes_var_keywords(cls: type) -> bool:
    parameters = inspect.signature(cls.__init__).parameters.values()
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def _is_subclass_path(class_path: str, cls: type) -> bool:
    try:
        obj = resolve_class_path(class_path)
    except (ImportError, AttributeError, ValueError):
        return False
    return isinstance(obj, type) and issubclass(obj, cls)
