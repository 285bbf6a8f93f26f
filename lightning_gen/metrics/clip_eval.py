"""Evaluating a CLIP (Radford et al. 2021): zero-shot classification, retrieval recall@k, linear probe.

- **Zero-shot**: each class's prompts through every template, embedded, normalised, averaged and
  normalised again (the prompt ensemble of section 3.1.4; open_clip's ``build_zero_shot_classifier``);
  an image gets the class of highest cosine similarity.
- **Retrieval**: image -> text and text -> image recall@k over a set of (image, caption) pairs. Captions
  made from labels repeat, and identical strings have identical embeddings, so image -> text ranks the
  *distinct* captions (a hit: the image's own caption among the top k), and text -> image counts any image
  whose caption is identical to the query: without that, R@k would be a lottery among ties. Even so an image
  does not determine which of its class's wordings captions it, so with T wordings per class image -> text
  R@1 is at most about 1/T; given labels, the class-level recall (a hit: an item of the query's class) is
  reported too.
- **Linear probe**: logistic regression (L-BFGS, scikit-learn, as in CLIP's section 3.2) on the frozen image
  tower's features (before the projection), fitted on training images and scored on held-out ones.

Everything takes images in [-1, 1] and runs without gradients.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch

from lightning_gen.losses.contrastive import caption_groups

__all__ = [
    "CLIP_METRIC_NAMES",
    "ClipMetric",
    "embed_images",
    "embed_texts",
    "image_features",
    "linear_probe_accuracy",
    "parse_clip_metric_names",
    "retrieval_recall",
    "zero_shot_accuracy",
]

ClipMetric = Literal["zeroshot", "retrieval", "linear_probe"]
CLIP_METRIC_NAMES: tuple[str, ...] = ("zeroshot", "retrieval", "linear_probe")


def parse_clip_metric_names(text: str) -> tuple[str, ...]:
    """``"zeroshot,retrieval"`` -> ("zeroshot", "retrieval"), with the allowed names in the error."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    bad = [n for n in names if n not in CLIP_METRIC_NAMES]
    if bad or not names:
        raise ValueError(f"Unknown CLIP metric(s) {bad or text!r}; choose from {', '.join(CLIP_METRIC_NAMES)}.")
    return names


def _batches(n: int, batch_size: int) -> range:
    return range(0, n, batch_size)


@torch.no_grad()
def embed_images(model: Any, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """(N, D) normalised image embeddings (``model.encode_image``), computed in batches on the model's device."""
    device = next(model.parameters()).device
    return torch.cat([model.encode_image(images[i : i + batch_size].to(device)).cpu() for i in _batches(len(images), batch_size)])


@torch.no_grad()
def image_features(model: Any, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """(N, F) the image tower's features before the projection (what a linear probe reads)."""
    device = next(model.parameters()).device
    return torch.cat([model.image_tower(images[i : i + batch_size].to(device)).cpu() for i in _batches(len(images), batch_size)])


@torch.no_grad()
def embed_texts(model: Any, texts: Sequence[str], batch_size: int = 500) -> torch.Tensor:
    """(N, D) normalised text embeddings; each distinct string is encoded once."""
    unique = sorted(set(texts))
    index = {t: i for i, t in enumerate(unique)}
    embedded = torch.cat([model.encode_text(unique[i : i + batch_size]).cpu() for i in _batches(len(unique), batch_size)])
    return embedded[torch.tensor([index[t] for t in texts])]


@torch.no_grad()
def zero_shot_accuracy(
    model: Any, images: torch.Tensor, labels: torch.Tensor, class_prompts: list[list[str]], batch_size: int = 500
) -> dict[str, float]:
    """Top-1 (and top-5 when there are more than 5 classes) zero-shot accuracy of ``images``.

    ``class_prompts[k]`` are class k's prompts (one per template), as ``CaptionedDataModule.class_prompts``
    gives them.
    """
    was_training = model.training
    model.eval()
    try:
        classifier = model.zero_shot_classifier(class_prompts).cpu()  # (K, D)
        logits = embed_images(model, images, batch_size) @ classifier.T  # (N, K)
    finally:
        model.train(was_training)
    result = {"top1": float((logits.argmax(1) == labels).float().mean())}
    if logits.shape[1] > 5:
        top5 = logits.topk(5, dim=1).indices
        result["top5"] = float((top5 == labels[:, None]).any(dim=1).float().mean())
    return result


def retrieval_recall(
    image_embeddings: torch.Tensor,
    text_embeddings: torch.Tensor,
    texts: Sequence[str],
    ks: Sequence[int] = (1, 5),
    labels: torch.Tensor | None = None,
) -> dict[str, float]:
    """Recall@k both ways over N (image i, caption i) pairs; identical captions count as one caption (image ->
    text ranks the distinct captions).

    Returns ``{"image_to_text_R@k": ..., "text_to_image_R@k": ...}`` for each k, and with ``labels`` (N,)
    also ``{"image_to_text_class_R@k": ..., "text_to_image_class_R@k": ...}`` (a hit: the query's class).
    """
    if not len(image_embeddings) == len(text_embeddings) == len(texts):
        raise ValueError(f"retrieval needs as many captions as images, got {len(image_embeddings)}, {len(text_embeddings)}, {len(texts)}.")
    groups = caption_groups(list(texts))
    kinds = {"": groups} | ({"class_": labels.long().cpu()} if labels is not None else {})
    similarity = image_embeddings @ text_embeddings.T  # (N images, N captions)
    first = {}
    for j, g in enumerate(groups.tolist()):
        first.setdefault(g, j)
    distinct = torch.tensor(sorted(first.values()))  # one column per distinct caption
    results = {}
    for kind, item_groups in kinds.items():
        # image -> distinct captions (N, U) and caption -> images (N, N)
        for direction, scores, gallery in (
            ("image_to_text", similarity[:, distinct], item_groups[distinct]),
            ("text_to_image", similarity.T, item_groups),
        ):
            for k in ks:
                top = scores.topk(min(k, scores.shape[1]), dim=1).indices  # (N, k) gallery positions
                hits = (gallery[top] == item_groups[:, None]).any(dim=1)
                results[f"{direction}_{kind}R@{k}"] = float(hits.float().mean())
    return results


def linear_probe_accuracy(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    c: float = 1.0,
    max_iter: int = 1000,
) -> float:
    """Accuracy of an L2-regularised logistic regression (inverse strength ``c``) on standardised features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train_features.numpy())
    probe = LogisticRegression(C=c, max_iter=max_iter)
    probe.fit(scaler.transform(train_features.numpy()), train_labels.numpy())
    predictions = probe.predict(scaler.transform(test_features.numpy()))
    return float((torch.from_numpy(predictions) == test_labels).float().mean())
