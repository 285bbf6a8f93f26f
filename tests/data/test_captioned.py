"""Captioned MNIST and CIFAR-10: captions from labels, held-out wordings, deterministic per (seed, epoch, index)."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from lightning_gen.data import (
    CIFAR10_TEMPLATES,
    DIGIT_TEMPLATES,
    CaptionedCIFAR10DataModule,
    CaptionedMNISTDataModule,
    CaptionTemplates,
    read_mnist,
)
from lightning_gen.data.captioned_labels import DIGIT_WORDS, digit_fields


def _epoch_texts(dm, epoch: int) -> list[str]:
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(epoch)
    return [text for batch in loader for text in batch["text"]]


def _epoch_batches(dm, epoch: int) -> list[dict]:
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(epoch)
    return list(loader)


def test_templates_mix_words_and_numerals_with_right_articles() -> None:
    assert len(DIGIT_TEMPLATES) >= 8 and len(CIFAR10_TEMPLATES) >= 8
    captions = CaptionTemplates(DIGIT_TEMPLATES, digit_fields, 10)
    assert captions.caption(7, 0) == "a handwritten digit seven" and captions.caption(7, 1) == "the number 7"
    for label in range(10):
        prompts = captions.prompts_for(label)
        assert len(set(prompts)) == len(DIGIT_TEMPLATES)  # every template words it differently
        with_word = sum(f" {DIGIT_WORDS[label]}" in p or p.startswith(DIGIT_WORDS[label]) for p in prompts)
        with_numeral = sum(str(label) in p for p in prompts)
        assert with_word >= 3 and with_numeral >= 3 and with_word + with_numeral == len(prompts)
    joined = " | ".join(p for label in range(10) for p in captions.prompts_for(label))
    assert "an 8" in joined and "an eight" in joined and "a one" in joined and "a 1" in joined
    assert "a 8" not in joined and "a eight" not in joined and "an one" not in joined


@pytest.mark.shared_data
def test_mnist_batches_are_captioned_dicts_naming_the_digit(mnist_root: Path) -> None:
    dm = CaptionedMNISTDataModule(str(mnist_root), image_size=32, batch_size=16, limit=64)
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"image", "text", "label"}
    assert batch["image"].shape == (16, 1, 32, 32) and -1 <= batch["image"].min() < batch["image"].max() <= 1
    assert batch["label"].dtype == torch.long and batch["label"].shape == (16,)
    assert isinstance(batch["text"], list) and len(batch["text"]) == 16
    for text, label in zip(batch["text"], batch["label"].tolist(), strict=True):
        assert text in dm.prompts_for(label, "seen")
    # the images are MNIST's own (padded 28 -> 32), in the base datamodule's order and split
    _, labels = read_mnist(mnist_root, "train")
    val = dm.val_dataloader().dataset
    plain = val.images  # the MNISTDataModule split underneath
    image, label = plain[0]
    assert torch.equal(val[0]["image"], image) and int(val[0]["label"]) == int(label)
    assert (dm.channels, dm.image_size, dm.num_classes, dm.class_names[3]) == (1, 32, 10, "three")
    assert len(dm.class_prompts("all")) == 10 and dm.templates == DIGIT_TEMPLATES
    assert int(labels[plain.indices[0]]) == int(label)


@pytest.mark.shared_data
def test_heldout_templates_never_caption_training(mnist_root: Path) -> None:
    heldout = [1, 3, 8]
    dm = CaptionedMNISTDataModule(
        str(mnist_root), heldout_templates=heldout, caption_split="heldout", batch_size=50, limit=200
    )
    banned = {p for label in range(10) for p in dm.prompts_for(label, "heldout")}
    seen_templates = set()
    for epoch in range(3):
        for batch in _epoch_batches(dm, epoch):
            for text, label in zip(batch["text"], batch["label"].tolist(), strict=True):
                assert text not in banned
                seen_templates.add(dm.prompts_for(label, "all").index(text))
    assert seen_templates == set(range(len(DIGIT_TEMPLATES))) - set(heldout)  # all the others are used
    corpus = dm.training_captions()  # what a text tower's tokenizer is fitted on: the training wordings only
    assert len(corpus) == 10 * (len(DIGIT_TEMPLATES) - len(heldout)) and not banned & set(corpus)
    assert set(corpus) == {p for label in range(10) for p in dm.prompts_for(label, "seen")}
    val_batch = next(iter(dm.val_dataloader()))
    val_templates = {
        dm.prompts_for(label, "all").index(text)
        for text, label in zip(val_batch["text"], val_batch["label"].tolist(), strict=True)
    }
    assert val_templates == set(heldout)  # caption_split="heldout": only the held-out wordings
    assert dm.prompts_for(7, "heldout") == [
        "the number 7",
        "an image of the digit seven",
        "a scan of the numeral 7",
    ]


@pytest.mark.shared_data
def test_captions_deterministic_per_seed_epoch_index(mnist_root: Path) -> None:
    def make(seed: int, num_workers: int = 0) -> CaptionedMNISTDataModule:
        return CaptionedMNISTDataModule(
            str(mnist_root), batch_size=20, limit=100, seed=seed, num_workers=num_workers
        )

    first, again = make(0), make(0)
    assert _epoch_texts(first, 0) == _epoch_texts(again, 0)
    assert _epoch_texts(first, 1) == _epoch_texts(again, 1)  # a run resumed at epoch 1 sees the same captions
    assert _epoch_texts(first, 0) != _epoch_texts(first, 1)  # an image meets other wordings in other epochs
    assert _epoch_texts(first, 0) != _epoch_texts(make(1), 0)
    # the caption of an item depends on (seed, epoch, index), not on the order it is drawn in
    dataset = first.train_dataloader().dataset
    assert (
        dataset[(5, 1)]["text"] == dataset[(5, 1)]["text"] and dataset[5]["text"] == dataset[(5, 0)]["text"]
    )
    # worker processes (persistent across epochs) give the same captions as the main process
    workers = make(0, num_workers=2)
    assert _epoch_texts(workers, 0) == _epoch_texts(first, 0)
    assert _epoch_texts(workers, 1) == _epoch_texts(first, 1)


class _RecordTexts(pl.LightningModule):
    """Records the captions Lightning feeds it per epoch (a linear layer gives the optimizer a parameter)."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(1, 1)
        self.texts: dict[int, list[str]] = {}

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        self.texts.setdefault(self.current_epoch, []).extend(batch["text"])
        return self.layer(batch["image"].mean(dim=(1, 2, 3))[:, None]).pow(2).mean()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.0)


@pytest.mark.shared_data
def test_trainer_epochs_get_the_epoch_captions(mnist_root: Path, tmp_path: Path) -> None:
    dm = CaptionedMNISTDataModule(str(mnist_root), batch_size=10, limit=30, seed=4)
    model = _RecordTexts()
    trainer = pl.Trainer(
        max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(model, train_dataloaders=dm.train_dataloader())
    reference = CaptionedMNISTDataModule(str(mnist_root), batch_size=10, limit=30, seed=4)
    assert model.texts[0] == _epoch_texts(reference, 0) and model.texts[1] == _epoch_texts(reference, 1)


@pytest.mark.shared_data
def test_cifar10_captions_name_the_class(cifar_root: Path) -> None:
    dm = CaptionedCIFAR10DataModule(
        str(cifar_root), classes=["horse", "airplane"], heldout_templates=[0], batch_size=8, val_fraction=0.25
    )
    assert dm.class_names == ["horse", "airplane"] and dm.num_classes == 2
    assert dm.prompts_for(0, "heldout") == ["a photo of a horse"]
    assert dm.prompts_for(1, "all")[:2] == [
        "a photo of an airplane",
        "a low-resolution photo of the airplane",
    ]
    for batch in _epoch_batches(dm, 0):
        assert batch["image"].shape[1:] == (3, 32, 32)
        for text, label in zip(batch["text"], batch["label"].tolist(), strict=True):
            assert text.endswith(dm.class_names[label]) or f" {dm.class_names[label]} " in text
            assert text in dm.prompts_for(label, "seen") and text not in dm.prompts_for(label, "heldout")
    assert next(iter(dm.test_dataloader()))["text"][0] in {p for c in dm.class_prompts("seen") for p in c}


def test_bad_caption_options_are_named(synthetic_mnist: Path) -> None:
    root = str(synthetic_mnist)
    with pytest.raises(ValueError, match=r"heldout_templates must be distinct indices in 0\.\.9"):
        CaptionedMNISTDataModule(root, heldout_templates=[10])
    with pytest.raises(ValueError, match="distinct"):
        CaptionedMNISTDataModule(root, heldout_templates=[2, 2])
    with pytest.raises(ValueError, match="every template"):
        CaptionedMNISTDataModule(root, heldout_templates=list(range(10)))
    with pytest.raises(ValueError, match="needs held-out templates"):
        CaptionedMNISTDataModule(root, caption_split="heldout")
    with pytest.raises(ValueError, match="caption_split='unseen' is not supported"):
        CaptionedMNISTDataModule(root, caption_split="unseen")
    with pytest.raises(ValueError, match="unknown field"):
        CaptionTemplates(["a {colour} digit"], digit_fields, 10)
    with pytest.raises(FileNotFoundError, match="t10k-images"):
        CaptionedMNISTDataModule(str(synthetic_mnist / "nowhere"), val_fraction=0).setup("test")
