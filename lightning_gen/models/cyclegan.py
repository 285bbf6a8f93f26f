"""CycleGAN: unpaired image-to-image translation with cycle consistency (Zhu, Park, Isola & Efros, 2017)."""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from lightning_gen.losses import discriminator_loss, generator_loss, reconstruction_loss
from lightning_gen.models.base import GenerativeModule
from lightning_gen.nn.image_pool import ImagePool
from lightning_gen.utils.validation import check_choice, check_positive

__all__ = ["CycleGAN", "Direction", "LinearDecay", "LinearDecayLR"]

Direction = Literal["a2b", "b2a"]
#: checkpoint entry of the discriminators' image pools (per rank)
POOLS_KEY = "cyclegan_image_pools"


class LinearDecay:
    """LR factor for ``torch.optim.lr_scheduler.LambdaLR``, stepped once per epoch: 1 for the first
    ``start`` epochs, then decreasing linearly so that it would reach 0 one epoch after the last
    (``total``) one, as in the authors' code (``1 - max(0, epoch + 1 - n_epochs) / (n_epochs_decay + 1)``;
    the paper: 100 constant epochs, then 100 decaying ones), and 0 (never negative) past ``total``."""

    def __init__(self, start: int, total: int) -> None:
        if not 0 <= start <= total:
            raise ValueError(f"The LR decay needs 0 <= start ({start}) <= total epochs ({total}).")
        self.start, self.total = start, total

    def __call__(self, epoch: int) -> float:
        return max(0.0, 1.0 - max(0, epoch + 1 - self.start) / (self.total - self.start + 1))


class LinearDecayLR(torch.optim.lr_scheduler.LambdaLR):
    """``LambdaLR`` over a :class:`LinearDecay` whose horizon is the current run's, also after a resume.

    ``LambdaLR.state_dict`` stores its factor's ``start``/``total``; restoring them would keep the horizon
    of the run that wrote the checkpoint, so a resume with a larger ``trainer.max_epochs`` decayed on the
    old schedule and went below 0. This scheduler saves and restores only its counters (``last_epoch``,
    ``base_lrs``) and, on load, sets each group's learning rate to the factor of the resumed epoch under the
    new horizon (Lightning restores the optimizers, with their old learning rates, before the schedulers)."""

    def __init__(self, optimizer: torch.optim.Optimizer, decay: LinearDecay) -> None:
        super().__init__(optimizer, decay)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["lr_lambdas"] = [None] * len(self.lr_lambdas)  # the horizon is the current run's, never saved
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = {**state_dict, "lr_lambdas": [None] * len(self.lr_lambdas)}  # older checkpoints stored them
        super().load_state_dict(state)
        lrs = [base * decay(self.last_epoch) for base, decay in zip(self.base_lrs, self.lr_lambdas, strict=True)]
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = lrs


class CycleGAN(GenerativeModule):
    """CycleGAN, Zhu et al. (2017): two translators G_AB: A -> B and G_BA: B -> A trained against two
    discriminators D_A, D_B on unpaired images, with

    - the least-squares adversarial loss (Mao et al., 2017; paper section 4): G minimises (D(G(x)) - 1)^2,
      D minimises [(D(y) - 1)^2 + D(G(x))^2] / 2;
    - cycle consistency (eq. 2), ``lambda_cycle`` (10) * (|G_BA(G_AB(a)) - a|_1 + |G_AB(G_BA(b)) - b|_1);
    - identity loss (section 5.2, Taigman et al., 2017), ``lambda_identity`` (0.5 * lambda_cycle) *
      (|G_BA(a) - a|_1 + |G_AB(b) - b|_1), which needs equal channel counts in both domains;
    - D updated on a history of 50 generated images (:class:`~lightning_gen.nn.image_pool.ImagePool`);
    - Adam (2e-4, betas (0.5, 0.999)), the learning rate constant for the first half of training and
      decayed linearly to 0 over the second half (:class:`LinearDecay`, stepped at each epoch end).

    Per batch, as in the authors' code: the generator phase (both generators, discriminators frozen), then
    the discriminator phase (both discriminators, on pooled fakes).

    There is no noise prior: use :meth:`translate` (``lightning-gen translate``); :meth:`sample` raises an
    error that says so. The side of the training images is recorded from the first batch (buffer
    ``image_size``), so ``translate`` can resize new inputs to it.

    Args:
        generator_ab, generator_ba: image -> image networks (e.g. :class:`~lightning_gen.nn.cyclegan.ResnetGenerator`).
        discriminator_a, discriminator_b: image -> logits (a PatchGAN map or one per image) for domains A, B.
        lambda_cycle: weight of the cycle-consistency loss.
        lambda_identity: weight of the identity loss; None: ``0.5 * lambda_cycle``; 0 turns it off.
        pool_size: images in each discriminator's history pool (0: no pool).
        lr, betas: Adam settings of both phases.
        lr_decay_start: fraction of ``trainer.max_epochs`` after which the learning rate decays linearly to
            0 (0.5: the paper's second half); 1.0 keeps it constant.
        num_val_images: images per domain in the validation grid.
        training: :class:`~lightning_gen.models.base.GenerativeModule`'s options (clipping, accumulation).
    """

    network_names = ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b")
    sampling_network = "generator_ab"

    def __init__(
        self,
        generator_ab: nn.Module,
        generator_ba: nn.Module,
        discriminator_a: nn.Module,
        discriminator_b: nn.Module,
        lambda_cycle: float = 10.0,
        lambda_identity: float | None = None,
        pool_size: int = 50,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        lr_decay_start: float = 0.5,
        num_val_images: int = 8,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        check_positive("lambda_cycle", lambda_cycle, allow_zero=True)
        identity = 0.5 * lambda_cycle if lambda_identity is None else lambda_identity
        check_positive("lambda_identity", identity, allow_zero=True)
        check_positive("pool_size", pool_size, allow_zero=True)
        check_positive("num_val_images", num_val_images)
        if not 0.0 < lr_decay_start <= 1.0:
            raise ValueError(
                f"lr_decay_start must be in (0, 1] (a fraction of max_epochs), got {lr_decay_start}."
            )
        channels = [getattr(generator_ab, "in_channels", None), getattr(generator_ab, "out_channels", None)]
        if identity > 0 and None not in channels and channels[0] != channels[1]:
            raise ValueError(
                f"The identity loss needs domains with equal channel counts, but generator_ab maps {channels[0]} "
                f"to {channels[1]} channels; set lambda_identity=0."
            )
        self.save_init_hyperparameters(CycleGAN.__init__, locals())
        self.lambda_identity = identity
        self.generator_ab, self.generator_ba = generator_ab, generator_ba
        self.discriminator_a, self.discriminator_b = discriminator_a, discriminator_b
        self.pool_a, self.pool_b = ImagePool(pool_size, seed=0), ImagePool(pool_size, seed=1)
        self._pools_restored = False
        self.register_buffer("image_size", torch.zeros((), dtype=torch.long))
        self._val_batch: tuple[torch.Tensor, torch.Tensor] | None = None

    # ------------------------------------------------------------------ optimisation
    def configure_optimizers(self):
        hp = self.hparams
        generators = [*self.generator_ab.parameters(), *self.generator_ba.parameters()]
        discriminators = [*self.discriminator_a.parameters(), *self.discriminator_b.parameters()]
        opt_g = torch.optim.Adam(generators, lr=hp.lr, betas=tuple(hp.betas))
        opt_d = torch.optim.Adam(discriminators, lr=hp.lr, betas=tuple(hp.betas))
        total = self.trainer.max_epochs if self._trainer is not None else None
        if total is None or total < 1:
            if hp.lr_decay_start < 1.0:
                raise ValueError(
                    "CycleGAN decays the learning rate over the last part of trainer.max_epochs; set "
                    "trainer.max_epochs, or lr_decay_start=1.0 for a constant learning rate."
                )
            total = 1
        decay = LinearDecay(round(hp.lr_decay_start * total), total)  # start == total: constant
        schedulers = [LinearDecayLR(opt, decay) for opt in (opt_g, opt_d)]
        return [opt_g, opt_d], [{"scheduler": s, "interval": "epoch"} for s in schedulers]

    def on_fit_start(self) -> None:
        # Each DDP process keeps its own pools, whose choices come from the per-rank step_generator. A fit
        # starts with empty pools, unless it resumes: then on_load_checkpoint has put this rank's pools back.
        if not self._pools_restored:
            size = self.hparams.pool_size
            self.pool_a, self.pool_b = ImagePool(size), ImagePool(size)
        self._pools_restored = False

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Also save every rank's image pools (gathered, ``(world, n, C, H, W)`` each), so that a resumed run
        continues with the history an uninterrupted one would have (the authors' code restarts it empty)."""
        super().on_save_checkpoint(checkpoint)
        world = self.trainer.world_size if self._trainer is not None else 1
        pools = {}
        for name, pool in (("a", self.pool_a), ("b", self.pool_b)):
            if not pool.images:  # the same on every rank: each rank has seen as many batches
                continue
            images = torch.stack(pool.images)
            pools[name] = self.all_gather(images) if world > 1 else images.unsqueeze(0)
        checkpoint[POOLS_KEY] = pools

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        saved = checkpoint.get(POOLS_KEY)
        if saved is None:
            return
        for name, pool in (("a", self.pool_a), ("b", self.pool_b)):
            pool.images = []
            if name in saved:
                per_rank = saved[name]
                pool.images = [image.to(self.device) for image in per_rank[self.global_rank % per_rank.shape[0]]]
        self._pools_restored = True

    def on_train_epoch_end(self) -> None:
        for scheduler in self.lr_schedulers():  # manual optimisation: Lightning does not step them
            scheduler.step()

    @staticmethod
    def split_batch(batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(batch, dict) or not {"a", "b"} <= set(batch):
            raise ValueError(
                "CycleGAN trains on two domains: batches must be dicts {'a': images, 'b': images} (e.g. from "
                "UnpairedImageDataModule or DigitsMNISTDataModule)."
            )
        return batch["a"], batch["b"]

    @staticmethod
    def adversarial_loss(logits: torch.Tensor) -> torch.Tensor:
        """G's LSGAN term (D(G(x)) - 1)^2, averaged over patches and batch. ``losses.generator_loss`` carries
        Mao et al.'s factor 1/2, which CycleGAN's objective (eq. 1) does not; it is undone here so that
        lambda_cycle = 10 weighs the cycle loss against the paper's adversarial term."""
        return 2.0 * generator_loss(logits, "lsgan").mean()

    @staticmethod
    def discriminator_objective(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """D's LSGAN objective [(D(y) - 1)^2 + D(G(x))^2] / 2 (the paper halves D's objective, section 4),
        which is exactly ``losses.discriminator_loss(..., "lsgan")`` summed."""
        loss_real, loss_fake = discriminator_loss(real_logits, fake_logits, "lsgan")
        return loss_real.mean() + loss_fake.mean()

    def training_step(self, batch: Any, batch_idx: int) -> None:
        real_a, real_b = self.split_batch(batch)
        self.image_size.fill_(real_a.shape[-1])  # recorded for translate(); a queued write, no device sync
        opt_g, opt_d = self.optimizers()

        # Generators: adversarial + cycle consistency + identity; D_A and D_B are frozen
        with self.toggled(opt_g):
            fake_b, fake_a = self.generator_ab(real_a), self.generator_ba(real_b)
            adversarial = self.adversarial_loss(self.discriminator_b(fake_b)) + self.adversarial_loss(
                self.discriminator_a(fake_a)
            )
            cycle = (
                reconstruction_loss(self.generator_ba(fake_b), real_a, "l1").mean()
                + reconstruction_loss(self.generator_ab(fake_a), real_b, "l1").mean()
            )
            g_loss = adversarial + self.hparams.lambda_cycle * cycle
            if self.lambda_identity > 0:
                identity = (
                    reconstruction_loss(self.generator_ba(real_a), real_a, "l1").mean()
                    + reconstruction_loss(self.generator_ab(real_b), real_b, "l1").mean()
                )
                g_loss = g_loss + self.lambda_identity * identity
                self.log("train/identity", identity.detach())
            self.optimization_step(opt_g, g_loss, "generator")

        # Discriminators: real images vs generated ones drawn from the history pools
        with self.toggled(opt_d):
            d_a = self.discriminator_objective(
                self.discriminator_a(real_a), self.discriminator_a(self.pool_a.query(fake_a, self.step_generator()))
            )
            d_b = self.discriminator_objective(
                self.discriminator_b(real_b), self.discriminator_b(self.pool_b.query(fake_b, self.step_generator()))
            )
            self.optimization_step(opt_d, d_a + d_b, "discriminator")

        self.log_dict(
            {
                "train/g_loss": g_loss.detach(),
                "train/cycle": cycle.detach(),
                "train/d_a": d_a.detach(),
                "train/d_b": d_b.detach(),
            },
            prog_bar=True,
        )

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        real_a, real_b = self.split_batch(batch)
        if batch_idx == 0:
            n = self.hparams.num_val_images
            self._val_batch = (real_a[:n], real_b[:n])
        self._score_step(real_a, real_b, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._score_step(*self.split_batch(batch), "test")

    def _score_step(self, real_a: torch.Tensor, real_b: torch.Tensor, prefix: str) -> None:
        """The two cycle-consistency L1 errors on held-out images."""
        fake_b, fake_a = self.generator_ab(real_a), self.generator_ba(real_b)
        self.log_dict(
            {
                f"{prefix}/cycle_a": reconstruction_loss(self.generator_ba(fake_b), real_a, "l1").mean(),
                f"{prefix}/cycle_b": reconstruction_loss(self.generator_ab(fake_a), real_b, "l1").mean(),
            },
            sync_dist=True,
        )

    def predict_step(self, batch: Any, batch_idx: int) -> dict[str, torch.Tensor]:
        """The batch translated both ways: ``{"a2b": G_AB(a), "b2a": G_BA(b)}``."""
        real_a, real_b = self.split_batch(batch)
        return {"a2b": self.translate(real_a, "a2b"), "b2a": self.translate(real_b, "b2a")}

    # ------------------------------------------------------------------ translation
    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: Direction, *, batch_size: int = 256) -> torch.Tensor:
        """Translate [-1, 1] images (N, C, H, W) from A to B (``"a2b"``) or from B to A (``"b2a"``)."""
        check_choice("direction", direction, Direction)
        network = self.generator_ab if direction == "a2b" else self.generator_ba
        outputs = []
        with self.eval_mode(network):
            for start in range(0, images.shape[0], batch_size):
                outputs.append(network(images[start : start + batch_size].to(self.device)))
        return torch.cat(outputs).float()

    def sample(
        self, num: int, *, seed: int | None = None, use_ema: bool = True, batch_size: int = 256
    ) -> torch.Tensor:
        """CycleGAN has no noise prior to sample from; raises a ValueError pointing to :meth:`translate`."""
        raise ValueError(
            "A CycleGAN translates images, it has no noise prior to sample from. Use `lightning-gen translate "
            "--ckpt CKPT --direction a2b|b2a --input DIR_OR_FILE --out DIR` (or model.translate(images, 'a2b'))."
        )

    def validation_samples(self) -> torch.Tensor:
        """Rows: A, G_AB(A), G_BA(G_AB(A)), B, G_BA(B), G_AB(G_BA(B)) for the first validation images."""
        if self._val_batch is None:
            return torch.empty(0)
        real_a, real_b = self._val_batch
        fake_b, fake_a = self.translate(real_a, "a2b"), self.translate(real_b, "b2a")
        rows = [real_a, fake_b, self.translate(fake_b, "b2a"), real_b, fake_a, self.translate(fake_a, "a2b")]
        channels = max(r.shape[1] for r in rows)
        return torch.cat(
            [r.float().expand(-1, channels, -1, -1) if r.shape[1] == 1 else r.float() for r in rows]
        )
