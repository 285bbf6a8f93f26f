"""Small image classifiers used as the evaluation feature networks (IS / FID / KID / precision-recall).

The standard FID network (Inception-v3, Szegedy et al., 2016; FID of Heusel et al., 2017) cannot be
downloaded here, so the project trains its own feature networks on real data: a LeNet-size MNIST classifier
(after LeCun et al., 1998) and a small VGG-style CIFAR-10 classifier (Simonyan & Zisserman, 2015, with
batch normalisation, Ioffe & Szegedy, 2015). Each returns logits from ``forward`` (softmax for the Inception
Score) and its penultimate activations from ``features`` (for FID / KID / precision-recall).

Inputs are images in [-1, 1], the library's convention.
"""

from __future__ import annotations

import torch
from torch import nn

from lightning_gen.nn.spec import Network

__all__ = ["CIFAR10Classifier", "MNISTClassifier"]


class MNISTClassifier(Network):
    """LeNet-size digit classifier: (B, 1, 28, 28) -> 10 logits; ``features`` are the ``hidden``-d
    penultimate ReLU activations.

    32x32 inputs (MNIST padded by 2 pixels per side, as the DCGAN configs use) are center-cropped back to
    28x28 first, which undoes the padding exactly.
    """

    def __init__(self, width: int = 32, hidden: int = 128, dropout: float = 0.3) -> None:
        super().__init__()
        self.num_features = hidden
        self.num_classes = 10
        self.trunk = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),  # (B, w, 14, 14)
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),  # (B, 2w, 7, 7)
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(2 * width * 7 * 7, hidden), nn.ReLU(inplace=True),  # (B, hidden)
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, 10))

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 1 or x.shape[-2:] not in ((28, 28), (32, 32)):
            raise ValueError(
                f"MNISTClassifier expects (B, 1, 28, 28) or (B, 1, 32, 32) images in [-1, 1], got {tuple(x.shape)}."
            )
        return x[..., 2:30, 2:30] if x.shape[-1] == 32 else x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(self._prepare(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class CIFAR10Classifier(Network):
    """Small VGG-style CIFAR-10 classifier: (B, 3, 32, 32) -> 10 logits; ``features`` are the globally
    average-pooled last convolutional activations (``4 * width`` channels)."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.num_features = 4 * width
        self.num_classes = 10

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.trunk = nn.Sequential(
            *block(3, width), nn.MaxPool2d(2),  # (B, w, 16, 16)
            *block(width, 2 * width), nn.MaxPool2d(2),  # (B, 2w, 8, 8)
            *block(2 * width, 4 * width), nn.MaxPool2d(2),  # (B, 4w, 4, 4)
            *block(4 * width, 4 * width),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),  # (B, 4w)
        )
        self.head = nn.Linear(4 * width, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1:] != (3, 32, 32):
            raise ValueError(f"CIFAR10Classifier expects (B, 3, 32, 32) images in [-1, 1], got {tuple(x.shape)}.")
        return self.trunk(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
