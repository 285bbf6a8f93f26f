"""TwoDigitMNISTDataModule: real MNIST digit pairs, placed as captioned, with held-out ordered pairs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lightning_gen.data import PAIR_TEMPLATES, TwoDigitMNISTDataModule, digit_halves, read_mnist
from lightning_gen.data.transforms import uint8_to_float
from lightning_gen.data.two_digit import DigitPairsDataset, draw_pairs, shrink_digits

HELDOUT = [(3, 7), (7, 3), (0, 0), (5, 9)]


def _pairs_of(dataset: DigitPairsDataset) -> set[tuple[int, int]]:
    labels = dataset.labels[dataset.pairs]  # (N, 2) digits, left and right
    return {(int(a), int(b)) for a, b in labels}


def _plain(dataset):
    """The DigitPairsDataset under the caption wrapper (and the limit's Subset, if any)."""
    dataset = dataset.images
    return getattr(dataset, "dataset", dataset)


@pytest.mark.shared_data
def test_each_half_is_a_real_digit_of_the_labelled_class(mnist_root: Path) -> None:
    dm = TwoDigitMNISTDataModule(str(mnist_root), num_samples=200, val_samples=20, batch_size=40, seed=1)
    batch = next(iter(dm.train_dataloader()))
    images, labels = batch["image"], batch["label"]
    assert images.shape == (40, 1, 32, 32) and (dm.channels, dm.image_size, dm.num_classes) == (1, 32, 100)
    digits, digit_labels = read_mnist(mnist_root, "train")
    pool = uint8_to_float(shrink_digits(digits))  # (M, 1, 16, 16): every real digit, shrunk
    left, right = digit_halves(images)
    assert left.shape == right.shape == (40, 1, 16, 16)
    for side, digit in ((left, labels // 10), (right, labels % 10)):
        for box, expected in zip(side, digit.tolist(), strict=True):
            match = (pool - box).abs().flatten(1).amax(1) < 1e-6  # exactly one of MNIST's digits
            assert match.any() and set(digit_labels[match].tolist()) == {expected}
    # pixel sums: ink only in the two boxes, and each box carries a digit's worth of ink
    ink = (images + 1) / 2
    assert ink[..., :8, :].sum() == 0 and ink[..., 24:, :].sum() == 0
    assert (ink[..., :16].flatten(1).sum(1) > 5).all() and (ink[..., 16:].flatten(1).sum(1) > 5).all()
    for i, (l_box, r_box) in enumerate(zip(left, right, strict=True)):
        assert torch.isclose(ink[i, :, :, :16].sum(), ((l_box + 1) / 2).sum())
        assert torch.isclose(ink[i, :, :, 16:].sum(), ((r_box + 1) / 2).sum())
    for text, label in zip(batch["text"], labels.tolist(), strict=True):
        assert text in dm.prompts_for(label, "seen")


def test_captions_state_the_order() -> None:
    dm = TwoDigitMNISTDataModule("unused")
    assert len(PAIR_TEMPLATES) >= 8
    prompts = dm.prompts_for(37)
    assert prompts[0] == "a 3 on the left and a 7 on the right" and prompts[1] == "7 to the right of 3"
    assert "3 and then 7" in prompts and "three followed by seven" in prompts
    assert dm.prompts_for(81)[0] == "an 8 on the left and a 1 on the right"
    assert dm.class_names[37] == "3 7"
    # every caption of (3, 7) differs from every caption of (7, 3): the order is in the words
    assert not set(dm.prompts_for(37)) & set(dm.prompts_for(73))


@pytest.mark.shared_data
def test_heldout_pairs_never_in_training_and_served_for_evaluation(mnist_root: Path) -> None:
    dm = TwoDigitMNISTDataModule(
        str(mnist_root),
        num_samples=3000,
        val_samples=200,
        heldout_pairs=HELDOUT,
        eval_pairs="heldout",
        seed=2,
    )
    dm.setup()
    train_pairs = _pairs_of(_plain(dm.train_set))
    assert not train_pairs & set(HELDOUT) and len(train_pairs) == 100 - len(HELDOUT)  # all the others
    assert _pairs_of(_plain(dm.val_set)) == set(HELDOUT) and _pairs_of(_plain(dm.test_set)) == set(HELDOUT)
    assert {int(dm.train_set[i]["label"]) for i in range(len(dm.train_set))}.isdisjoint({37, 73, 0, 59})
    # val/test digits are the MNIST test split's images; the held-out list is normalised to sorted tuples
    assert dm.heldout_pairs == sorted(HELDOUT) and dm.pairs("seen") == sorted(train_pairs)
    seen_eval = TwoDigitMNISTDataModule(
        str(mnist_root), num_samples=50, val_samples=500, heldout_pairs=HELDOUT, eval_pairs="seen"
    )
    seen_eval.setup("fit")
    assert not _pairs_of(_plain(seen_eval.val_set)) & set(HELDOUT)


@pytest.mark.shared_data
def test_pairing_is_deterministic_from_the_seed(mnist_root: Path) -> None:
    def pairs(seed: int) -> torch.Tensor:
        dm = TwoDigitMNISTDataModule(str(mnist_root), num_samples=100, val_samples=10, seed=seed)
        dm.setup("fit")
        return _plain(dm.train_set).pairs

    assert torch.equal(pairs(0), pairs(0)) and not torch.equal(pairs(0), pairs(1))


def test_draw_pairs_is_balanced_over_allowed_pairs() -> None:
    labels = torch.arange(10).repeat_interleave(torch.arange(1, 11))  # digit d has d + 1 images
    allowed = [(1, 2), (9, 0)]
    drawn = draw_pairs(labels, allowed, 4000, torch.Generator().manual_seed(0))
    digits = labels[drawn]
    assert {tuple(p) for p in digits.tolist()} == set(allowed)
    assert abs((digits[:, 0] == 1).float().mean().item() - 0.5) < 0.05  # pair classes uniform
    nines = drawn[digits[:, 0] == 9, 0]
    assert len(nines.unique()) == 10  # every image of a digit can be drawn
    with pytest.raises(ValueError, match=r"No image of digit\(s\) \[3\]"):
        draw_pairs(labels[labels != 3], [(3, 1)], 5, torch.Generator())


def test_bad_pair_options_are_named() -> None:
    with pytest.raises(ValueError, match="heldout_pairs must be distinct"):
        TwoDigitMNISTDataModule("x", heldout_pairs=[(3, 10)])
    with pytest.raises(ValueError, match="heldout_pairs must be distinct"):
        TwoDigitMNISTDataModule("x", heldout_pairs=[(3, 7), (3, 7)])
    with pytest.raises(ValueError, match="all 100"):
        TwoDigitMNISTDataModule("x", heldout_pairs=[(a, b) for a in range(10) for b in range(10)])
    with pytest.raises(ValueError, match="eval_pairs='heldout' needs heldout_pairs"):
        TwoDigitMNISTDataModule("x", eval_pairs="heldout")
    with pytest.raises(ValueError, match="eval_pairs='new' is not supported"):
        TwoDigitMNISTDataModule("x", eval_pairs="new")
