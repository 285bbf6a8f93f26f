"""Evaluation: IS / FID / KID / precision-recall on torchmetrics, offline feature networks, mode counting."""

from lightning_gen.metrics.feature_nets import FeatureNetwork, load_feature_network, mnist_feature_split
from lightning_gen.metrics.image_metrics import METRIC_NAMES, ImageMetrics, MetricName, parse_metric_names
from lightning_gen.metrics.mode_counting import (
    ModeCount,
    count_modes,
    histogram_kl_to_uniform,
    stacked_mnist_modes,
)
from lightning_gen.metrics.precision_recall import PrecisionRecall, precision_recall

__all__ = [
    "METRIC_NAMES",
    "FeatureNetwork",
    "ImageMetrics",
    "MetricName",
    "ModeCount",
    "PrecisionRecall",
    "count_modes",
    "histogram_kl_to_uniform",
    "load_feature_network",
    "mnist_feature_split",
    "parse_metric_names",
    "precision_recall",
    "stacked_mnist_modes",
]
