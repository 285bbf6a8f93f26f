"""CLIP evaluation helpers against hand computations: retrieval recall with repeated captions, the linear probe."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lightning_gen.metrics.clip_eval import linear_probe_accuracy, parse_clip_metric_names, retrieval_recall


def test_retrieval_recall_counts_identical_captions_and_classes() -> None:
    # images are the unit vectors e0, e1, e2; captions "a", "c", "b" (classes 0, 0, 1)
    images = torch.eye(3)
    texts = torch.tensor([[0.6, 0, 0.8], [0, 1, 0], [0, 0.8, 0.6]])
    captions = ["a", "c", "b"]
    labels = torch.tensor([0, 0, 1])
    recall = retrieval_recall(images, texts, captions, ks=(1, 2), labels=labels)
    # image -> caption (similarity = column i of the captions): image 0 -> caption 0 (hit), image 1 -> caption 1
    # (hit), image 2 -> caption 0 = "a" (0.8 > 0.6: miss), then its own caption 2 (hit at k = 2)
    assert recall["image_to_text_R@1"] == pytest.approx(2 / 3)
    assert recall["image_to_text_R@2"] == 1.0
    assert recall["image_to_text_class_R@1"] == pytest.approx(2 / 3)
    # caption -> image: caption 0 -> image 2 (its caption "b": miss), caption 1 -> image 1 (hit), caption 2 ->
    # image 1 (caption "c": miss; and image 1 is of class 0, caption 2 of class 1: a class miss too)
    assert recall["text_to_image_R@1"] == pytest.approx(1 / 3)
    assert recall["text_to_image_class_R@1"] == pytest.approx(1 / 3)
    # two identical captions ("a", "a": identical embeddings) are one caption: caption 0 finding caption 1's
    # image is a hit, and image -> text ranks the two distinct captions, so R@2 covers them all
    same = retrieval_recall(images, torch.tensor([[0, 1.0, 0], [0, 1, 0], [0, 0, 1]]), ["a", "a", "b"], ks=(1, 2))
    assert same["text_to_image_R@1"] == 1.0 and same["image_to_text_R@2"] == 1.0
    with pytest.raises(ValueError, match="as many captions as images"):
        retrieval_recall(images, texts[:2], captions[:2])


def test_linear_probe_separates_separable_classes_and_metric_names_are_checked() -> None:
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(200) % 4
    features = F.one_hot(labels, 4).float() * 3 + 0.3 * torch.randn(200, 4, generator=gen)
    assert linear_probe_accuracy(features[:100], labels[:100], features[100:], labels[100:]) == 1.0
    assert parse_clip_metric_names("zeroshot, retrieval") == ("zeroshot", "retrieval")
    with pytest.raises(ValueError, match="choose from zeroshot, retrieval, linear_probe"):
        parse_clip_metric_names("fid")
