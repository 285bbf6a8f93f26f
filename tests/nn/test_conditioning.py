"""Label conditioning: per-class batch statistics of the conditional DCGAN discriminator (issue 13, item 5).

The defect: over a batch that mixes the classes, the discriminator's BatchNorm statistics hide a generator that
maps every z of a class to one image (a short cgan_mnist run: mean pairwise L2 within a class ~3 against ~17 for
real digits). In training mode the discriminator now normalises each class's samples as a batch of their own.
"""

from __future__ import annotations

import pytest
import torch

from lightning_gen.nn import DCGANDiscriminator
from lightning_gen.nn.conditioning import per_class_batches

LABELS = torch.tensor([0, 1, 2, 0, 1, 2, 0, 0, 1, 2, 2, 1])


def _discriminator(**kwargs) -> DCGANDiscriminator:
    torch.manual_seed(0)
    return DCGANDiscriminator(channels=1, image_size=16, base_width=8, num_classes=3, **kwargs)


def _by_hand(d: DCGANDiscriminator, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The logits of each class computed on that class's samples alone, in the batch's order."""
    out = torch.empty(x.shape[0])
    for k in labels.unique():
        mask = labels == k
        out[mask] = d(x[mask], labels[mask])
    return out


def test_per_class_batches_runs_each_class_alone_and_keeps_the_order():
    x = torch.randn(12, 3)
    seen = []

    def fn(chunk: torch.Tensor) -> torch.Tensor:
        seen.append(chunk.shape[0])
        return chunk - chunk.mean(0)  # depends on the sub-batch: a BatchNorm-like statistic

    out = per_class_batches(fn, x, LABELS, num_classes=4)  # class 3 absent: not run
    expected = torch.empty_like(x)
    for k in range(3):
        expected[LABELS == k] = x[LABELS == k] - x[LABELS == k].mean(0)
    torch.testing.assert_close(out, expected)
    assert seen == [4, 4, 4]
    with pytest.raises(ValueError, match="Got 11 labels for a batch of 12"):
        per_class_batches(fn, x, LABELS[:11], num_classes=3)


def test_training_logits_of_a_class_depend_only_on_that_class():
    """Fails on the old discriminator, whose BatchNorm pooled the mixed batch: replacing the samples of the other
    classes changed a class's logits (and so the gradient its fakes get)."""
    d = _discriminator().train()
    x = torch.randn(12, 1, 16, 16)
    others = x.clone()
    others[LABELS != 0] = torch.randn_like(others[LABELS != 0])
    logits = d(x, LABELS)
    torch.testing.assert_close(d(others, LABELS)[LABELS == 0], logits[LABELS == 0])
    torch.testing.assert_close(logits, _by_hand(d, x, LABELS))


def test_pooled_statistics_and_eval_mode_use_the_whole_batch():
    pooled = _discriminator(batch_statistics="pooled").train()
    x = torch.randn(12, 1, 16, 16)
    assert not torch.allclose(pooled(x, LABELS), _by_hand(pooled, x, LABELS))  # the old behaviour, on request
    d = _discriminator().eval()  # running statistics: one call, no split needed
    torch.testing.assert_close(d(x, LABELS), _by_hand(d, x, LABELS))
    unconditional = DCGANDiscriminator(channels=1, image_size=16, base_width=8)
    assert not unconditional.per_class_statistics and not _discriminator(norm="group").per_class_statistics


def test_gradients_reach_every_sample_and_the_label_plane():
    d = _discriminator().train()
    x = torch.randn(12, 1, 16, 16, requires_grad=True)
    d(x, LABELS).sum().backward()
    assert (x.grad.flatten(1).norm(dim=1) > 0).all()
    assert (d.label_embedding.embedding.weight.grad.norm(dim=1) > 0).all()


def test_bad_batch_statistics_options_are_refused():
    with pytest.raises(ValueError, match="batch_statistics"):
        _discriminator(batch_statistics="per_sample")
    with pytest.raises(ValueError, match="batch_statistics='pooled'"):
        _discriminator(pack=2)
    _discriminator(pack=2, batch_statistics="pooled")
