"""Improved precision and recall (Kynkäänniemi, Karras, Laine, Lehtinen & Aila, 2019).

Each set of feature vectors defines a manifold: the union of balls centred on its points, each ball's
radius the distance to the point's k-th nearest neighbour in the same set (k = 3 in the paper).
Precision = the fraction of generated samples inside the real manifold (quality); recall = the fraction
of real samples inside the generated manifold (coverage).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

__all__ = ["PrecisionRecall", "knn_radii", "manifold_coverage", "precision_recall"]


def knn_radii(features: Tensor, k: int, chunk: int = 1024) -> Tensor:
    """Distance from each row to its k-th nearest other row (N,). Needs N > k."""
    if features.shape[0] <= k:
        raise ValueError(f"k-NN radii need more than k={k} samples, got {features.shape[0]}.")
    radii = []
    for start in range(0, features.shape[0], chunk):
        d = torch.cdist(features[start : start + chunk], features)  # (c, N), includes the 0 self-distance
        radii.append(d.kthvalue(k + 1, dim=1).values)
    return torch.cat(radii)


def manifold_coverage(queries: Tensor, points: Tensor, radii: Tensor, chunk: int = 1024) -> Tensor:
    """Fraction of ``queries`` that lie within ``radii[j]`` of some ``points[j]``."""
    inside = 0
    for start in range(0, queries.shape[0], chunk):
        d = torch.cdist(queries[start : start + chunk], points)  # (c, M)
        inside += int((d <= radii[None, :]).any(dim=1).sum())
    return torch.tensor(inside / queries.shape[0], dtype=torch.float64)


def precision_recall(real: Tensor, fake: Tensor, k: int = 3) -> tuple[Tensor, Tensor]:
    """(precision, recall) of ``fake`` against ``real`` feature sets, both (N, D)."""
    real, fake = real.double(), fake.double()
    precision = manifold_coverage(fake, real, knn_radii(real, k))
    recall = manifold_coverage(real, fake, knn_radii(fake, k))
    return precision, recall


class PrecisionRecall(Metric):
    """Kynkäänniemi et al. (2019) precision and recall as a torchmetrics Metric (DDP: features are gathered
    from every process before ``compute``).

    ``update(features_or_images, real)``: with ``feature`` given, images are passed through it first.

    Args:
        feature: an ``nn.Module`` mapping images to (B, D) features, or None to feed features directly.
        k: neighbourhood size (paper: 3).
        reset_real_features: whether ``reset()`` also forgets the real features (False keeps them, so
            in-training evaluation computes them once).
    """

    full_state_update = False
    is_differentiable = False
    higher_is_better = True

    def __init__(self, feature: torch.nn.Module | None = None, k: int = 3, reset_real_features: bool = True) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}.")
        self.feature = feature
        self.k = k
        self.reset_real_features = reset_real_features
        self.add_state("real_features", default=[], dist_reduce_fx="cat")
        self.add_state("fake_features", default=[], dist_reduce_fx="cat")

    def update(self, inputs: Tensor, real: bool) -> None:
        features = self.feature(inputs) if self.feature is not None else inputs
        (self.real_features if real else self.fake_features).append(features.detach().double())

    def compute(self) -> dict[str, Tensor]:
        real = dim_zero_cat(self.real_features)
        fake = dim_zero_cat(self.fake_features)
        precision, recall = precision_recall(real, fake, self.k)
        return {"precision": precision, "recall": recall}

    def reset(self) -> None:
        if not self.reset_real_features:
            kept = list(self.real_features) if isinstance(self.real_features, list) else [self.real_features]
            super().reset()
            self.real_features = kept
        else:
            super().reset()
