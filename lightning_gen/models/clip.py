"""CLIP: contrastive language-image pre-training (Radford et al. 2021), as a LightningModule.

An image tower and a text tower (networks given as arguments), linear projections into a shared space,
L2-normalised embeddings, a learnable temperature (initialised at 0.07, the logit scale clamped at 100 as
in open_clip) and the symmetric InfoNCE loss of :mod:`lightning_gen.losses.contrastive`, gathered across
DDP ranks with gradients (open_clip's local loss). Repeated label captions are positives of each other
(``positives``). Validation logs the contrastive loss and, when the datamodule gives class prompts
(``class_prompts(split)``, the captioned datamodules) and the batch has labels, zero-shot accuracy with
prompt ensembles (Radford et al. 2021, section 3.1.4) for the seen and the held-out wordings.

Other models use a trained CLIP through :func:`load_frozen_clip`, ``encode_text`` / ``encode_image`` and
:func:`clip_fingerprint`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from lightning_gen.losses.contrastive import ContrastiveLoss, caption_groups
from lightning_gen.models.base import ClipAlgorithm, GenerativeModule
from lightning_gen.nn.text.base import TextEncoder
from lightning_gen.nn.text.clip_text import clip_state_fingerprint
from lightning_gen.utils.validation import check_choice

__all__ = ["CLIP", "PositiveGroups", "WarmupCosine", "clip_fingerprint", "load_frozen_clip"]

PositiveGroups = Literal["captions", "labels", "none"]


class WarmupCosine:
    """LR factor for ``LambdaLR``: linear warm-up over ``warmup`` steps, then a cosine decay to ``floor``
    at ``total`` steps (open_clip's ``cosine_lr``); constant after warm-up when ``total`` is None."""

    def __init__(self, warmup: int, total: int | None, floor: float = 0.0) -> None:
        self.warmup, self.total, self.floor = max(1, warmup), total, floor

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        if self.total is None or self.total <= self.warmup:
            return 1.0
        progress = min(1.0, (step - self.warmup) / (self.total - self.warmup))
        return self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * progress))


class CLIP(GenerativeModule):
    """Contrastive image-text pre-training, Radford et al. (2021), Figure 3.

    Args:
        image_tower: images in [-1, 1] -> (B, output_dim) features; exposes ``output_dim``, ``channels``
            and ``image_size`` (:class:`~lightning_gen.nn.image_towers.ResNetImageTower`, ``ViTImageTower``).
        text_tower: a :class:`~lightning_gen.nn.text.base.TextEncoder` whose ``pooled`` output is used
            (:class:`~lightning_gen.nn.text.transformer.TransformerTextEncoder`). A tower with a BPE
            tokenizer that is not fitted yet is fitted at ``setup("fit")`` on the datamodule's
            ``training_captions()``. A frozen tower (``trainable=False``) is kept out of the optimizer.
        embed_dim: size of the shared embedding space.
        init_temperature: initial softmax temperature (0.07; the logit scale starts at 1/0.07).
        max_logit_scale: the logit scale is clamped to at most this (100) after every step and when used.
        learn_temperature: train the temperature (CLIP) or keep it fixed.
        positives: which pairs of a batch are positives of each other besides each pair itself:
            ``"captions"`` (identical captions), ``"labels"`` (the same label: other wordings of a class
            too; needs labelled batches) or ``"none"`` (plain InfoNCE).
        lr, betas, eps, weight_decay: AdamW (decay on weights of dim >= 2 only, not on gains, biases or
            the temperature, as in CLIP).
        warmup_steps, cosine_steps, min_lr_ratio: linear warm-up then cosine decay to ``min_lr_ratio * lr``
            at ``cosine_steps`` (None: the trainer's estimated number of steps; constant if unbounded).
        gradient_clip_val, gradient_clip_algorithm: see :class:`GenerativeModule`.
    """

    network_names = ("image_tower", "text_tower")

    def __init__(
        self,
        image_tower: nn.Module,
        text_tower: TextEncoder,
        embed_dim: int = 64,
        init_temperature: float = 0.07,
        max_logit_scale: float = 100.0,
        learn_temperature: bool = True,
        positives: PositiveGroups = "captions",
        lr: float = 5e-4,
        betas: tuple[float, float] = (0.9, 0.98),
        eps: float = 1e-6,
        weight_decay: float = 0.1,
        warmup_steps: int = 100,
        cosine_steps: int | None = None,
        min_lr_ratio: float = 0.0,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: ClipAlgorithm = "norm",
    ) -> None:
        super().__init__(gradient_clip_val=gradient_clip_val, gradient_clip_algorithm=gradient_clip_algorithm)
        check_choice("positives", positives, PositiveGroups)
        if not hasattr(image_tower, "output_dim"):
            raise ValueError("The image tower must expose `output_dim` (ResNetImageTower and ViTImageTower do).")
        if not isinstance(text_tower, TextEncoder):
            raise TypeError(f"text_tower must be a lightning_gen TextEncoder, got {type(text_tower).__name__}.")
        if not (init_temperature > 0 and 1 / init_temperature <= max_logit_scale):
            raise ValueError(
                f"init_temperature must be > 0 with 1/init_temperature <= max_logit_scale ({max_logit_scale}), got {init_temperature}."
            )
        if embed_dim < 1 or warmup_steps < 0:
            raise ValueError(f"embed_dim must be >= 1 and warmup_steps >= 0, got {embed_dim}, {warmup_steps}.")
        self.save_init_hyperparameters(CLIP.__init__, locals())
        self.image_tower = image_tower
        self.text_tower = text_tower
        self.image_projection = nn.Linear(image_tower.output_dim, embed_dim, bias=False)
        self.text_projection = nn.Linear(text_tower.pooled_dim, embed_dim, bias=False)
        for projection in (self.image_projection, self.text_projection):
            nn.init.normal_(projection.weight, std=projection.in_features**-0.5)
        self.log_logit_scale = nn.Parameter(torch.tensor(math.log(1 / init_temperature)), requires_grad=learn_temperature)
        self._zero_shot: dict[str, torch.Tensor] = {}

    # ------------------------------------------------------------------ the embedding spaces
    @property
    def embed_dim(self) -> int:
        return self.image_projection.out_features

    @property
    def logit_scale(self) -> torch.Tensor:
        """exp(log scale), at most ``max_logit_scale``."""
        return self.log_logit_scale.exp().clamp(max=self.hparams.max_logit_scale)

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """(B, embed_dim) L2-normalised image embeddings of images in [-1, 1]."""
        return F.normalize(self.image_projection(self.image_tower(images)), dim=-1)

    def encode_text(self, texts: list[str]) -> torch.Tensor:
        """(B, embed_dim) L2-normalised text embeddings."""
        if self.text_tower.trainable:
            pooled = self.text_tower(texts).pooled
        else:
            with torch.no_grad():
                pooled = self.text_tower(texts).pooled
        return F.normalize(self.text_projection(pooled), dim=-1)

    def forward(self, images: torch.Tensor, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encode_image(images), self.encode_text(texts)

    @torch.no_grad()
    def zero_shot_classifier(self, class_prompts: list[list[str]]) -> torch.Tensor:
        """(K, embed_dim) class weights: the mean of each class's normalised prompt embeddings, normalised
        again (the prompt ensembles of Radford et al. 2021; open_clip's ``build_zero_shot_classifier``)."""
        if not class_prompts or any(not prompts for prompts in class_prompts):
            raise ValueError("zero_shot_classifier needs at least one prompt for every class.")
        weights = [self.encode_text(list(prompts)).mean(dim=0) for prompts in class_prompts]
        return F.normalize(torch.stack(weights), dim=-1)

    # ------------------------------------------------------------------ training
    def setup(self, stage: str) -> None:
        super().setup(stage)
        if stage == "fit":
            fit_text_tokenizer(self.text_tower, self.trainer.datamodule if self._trainer is not None else None)

    def configure_optimizers(self):
        hp = self.hparams
        trainable = [(n, p) for n, p in self.named_parameters() if p.requires_grad]
        if not self.text_tower.trainable:
            trainable = [(n, p) for n, p in trainable if not n.startswith("text_tower.")]
        decay = [p for _, p in trainable if p.ndim >= 2]
        no_decay = [p for _, p in trainable if p.ndim < 2]
        opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": hp.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=hp.lr, betas=tuple(hp.betas), eps=hp.eps,
        )
        total = hp.cosine_steps
        if total is None and self._trainer is not None:
            estimate = self.trainer.estimated_stepping_batches
            total = int(estimate) if math.isfinite(estimate) else None
        scheduler = torch.optim.lr_scheduler.LambdaLR(opt, WarmupCosine(hp.warmup_steps, total, hp.min_lr_ratio))
        return {"optimizer": opt, "lr_scheduler": scheduler}

    def positive_groups(self, batch: dict[str, Any]) -> torch.Tensor | None:
        """(B,) group ids of ``positives`` (None: one group per pair)."""
        mode = self.hparams.positives
        if mode == "captions":
            return caption_groups(batch["text"]).to(self.device)
        if mode == "labels":
            if batch.get("label") is None:
                raise ValueError("positives='labels' needs batches with a 'label' entry; use positives='captions'.")
            return batch["label"].long()
        return None

    def gather(self, tensor: torch.Tensor) -> torch.Tensor:
        """(world * b, ...) every rank's ``tensor``; features keep their gradients (open_clip's gather_with_grad)."""
        gathered = self.all_gather(tensor, sync_grads=tensor.is_floating_point())
        return gathered.flatten(0, 1)

    def contrastive_loss(
        self, image_features: torch.Tensor, text_features: torch.Tensor, batch: dict[str, Any], distributed: bool = True
    ) -> torch.Tensor:
        """The batch's mean symmetric InfoNCE; under DDP over every rank's pairs (``distributed``)."""
        world = self.trainer.world_size if self._trainer is not None else 1
        loss = ContrastiveLoss(self.gather if distributed and world > 1 else None, self.global_rank)
        return loss(image_features, text_features, self.logit_scale, self.positive_groups(batch)).mean()

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        images, texts = split_captioned_batch(batch)
        opt = self.optimizers()
        with self.toggled(opt):
            loss = self.contrastive_loss(*self(images, texts), batch)
            self.optimization_step(opt, loss, "clip")
        self.clamp_logit_scale()
        self.lr_schedulers().step()
        if self.is_logging_step():
            self.log("train/loss", loss.detach(), prog_bar=True, batch_size=len(texts))
            self.log("train/logit_scale", self.logit_scale.detach(), batch_size=len(texts))

    @torch.no_grad()
    def clamp_logit_scale(self) -> None:
        """open_clip's in-place clamp after each step: the logit scale stays in [0, ln max_logit_scale]."""
        self.log_logit_scale.clamp_(0.0, math.log(self.hparams.max_logit_scale))

    # ------------------------------------------------------------------ validation: loss and zero-shot
    def on_validation_epoch_start(self) -> None:
        datamodule = self.trainer.datamodule if self._trainer is not None else None
        self._zero_shot = {}
        for name, prompts in class_prompt_sets(datamodule).items():
            self._zero_shot[name] = self.zero_shot_classifier(prompts)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        images, texts = split_captioned_batch(batch)
        features, text_features = self(images, texts)
        loss = self.contrastive_loss(features, text_features, batch, distributed=False)
        self.log("val/loss", loss, sync_dist=True, prog_bar=True, batch_size=len(texts))
        labels = batch.get("label")
        if labels is None or not self._zero_shot:
            return
        for name, classifier in self._zero_shot.items():
            accuracy = ((features @ classifier.T).argmax(dim=1) == labels).float().mean()
            self.log(f"val/zeroshot_{name}", accuracy, sync_dist=True, prog_bar=name == "seen", batch_size=len(texts))


def split_captioned_batch(batch: Any) -> tuple[torch.Tensor, list[str]]:
    """(images, texts) of a captioned batch ``{"image", "text", ...}``, with a clear error otherwise."""
    if not isinstance(batch, dict) or "image" not in batch or "text" not in batch:
        got = type(batch).__name__ if not isinstance(batch, dict) else f"a dict with keys {sorted(batch)}"
        raise ValueError(
            f"CLIP needs captioned batches {{'image', 'text', 'label'?}}, got {got}; use a captioned datamodule "
            "(CaptionedMNISTDataModule, CaptionedCIFAR10DataModule, ImageCaptionFolderDataModule)."
        )
    return batch["image"], list(batch["text"])


def training_caption_corpus(datamodule: Any) -> list[str] | None:
    """The captions a tokenizer is fitted on: ``datamodule.training_captions()`` (None when it has none)."""
    captions = getattr(datamodule, "training_captions", None)
    return list(captions()) if callable(captions) else None


def fit_text_tokenizer(text_tower: nn.Module, datamodule: Any) -> None:
    """Fit ``text_tower``'s tokenizer on the datamodule's training captions if it has one and is unfitted."""
    if not hasattr(text_tower, "fit_tokenizer") or getattr(text_tower, "tokenizer_fitted", True):
        return
    corpus = training_caption_corpus(datamodule)
    if not corpus:
        raise ValueError(
            f"The text tower's tokenizer is not fitted and the datamodule ({type(datamodule).__name__}) has no "
            "training_captions() to fit it on: use a captioned datamodule, or call "
            "text_tower.fit_tokenizer(captions) before training."
        )
    text_tower.fit_tokenizer(corpus)


def class_prompt_sets(datamodule: Any) -> dict[str, list[list[str]]]:
    """``{"seen": [[prompts of class k]], "heldout": ...}`` from a captioned datamodule's ``class_prompts``
    (``heldout`` only when some wordings are held out); {} for other datamodules."""
    class_prompts = getattr(datamodule, "class_prompts", None)
    if class_prompts is None:
        return {}
    sets = {"seen": class_prompts("seen")}
    try:
        sets["heldout"] = class_prompts("heldout")
    except ValueError:  # no held-out wordings
        pass
    return sets


def clip_fingerprint(model: CLIP) -> str:
    """sha256 over the towers' and projections' state (tokenizer included): the identity of a CLIP's
    embedding spaces, equal before and after a save/load (see ``clip_state_fingerprint``)."""
    return clip_state_fingerprint(model.state_dict())


def load_frozen_clip(path: str | Path) -> CLIP:
    """A trained CLIP from its checkpoint, in eval mode, with no parameter requiring gradients."""
    model = CLIP.load_from_checkpoint(str(path), map_location="cpu")
    if not isinstance(model, CLIP):  # pragma: no cover - load_from_checkpoint checks the class
        raise ValueError(f"{path} is not a CLIP checkpoint.")
    model.eval().requires_grad_(False)
    return model
