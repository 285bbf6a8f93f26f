"""IS / FID / KID / precision-recall over one feature network, on torchmetrics (DDP-synchronised).

- Inception Score (Salimans et al., 2016): exp E_x KL(p(y|x) || p(y)), from the feature network's logits.
- FID (Heusel et al., 2017): Fréchet distance between Gaussians fitted to real and generated features.
- KID (Bińkowski et al., 2018): unbiased MMD with a cubic polynomial kernel, mean and std over subsets.
- Precision / recall (Kynkäänniemi et al., 2019): k-NN manifolds, k = 3 (:mod:`.precision_recall`).

torchmetrics' metrics accept any ``nn.Module`` as ``feature``; with a custom module they pass images
through unchanged (the ``normalize`` flag only applies to their own Inception), so the
:class:`~lightning_gen.metrics.feature_nets.FeatureNetwork` takes the library's [-1, 1] float images and
exposes ``num_features``. Their states are sums (FID) or gathered lists (KID, IS, PR) with
``dist_reduce_fx`` set, so ``compute()`` under DDP sees every process's samples.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore
from torchmetrics.image.kid import KernelInceptionDistance

from lightning_gen.metrics.feature_nets import FeatureNetwork, load_feature_network
from lightning_gen.metrics.precision_recall import PrecisionRecall
from lightning_gen.utils.validation import check_choice

__all__ = ["METRIC_NAMES", "ImageMetrics", "MetricName", "parse_metric_names"]

MetricName = Literal["fid", "kid", "is", "pr"]
METRIC_NAMES: tuple[str, ...] = ("fid", "kid", "is", "pr")


def parse_metric_names(text: str | Iterable[str]) -> list[str]:
    """``"fid,kid"`` or ``["fid", "kid"]`` -> checked, de-duplicated list (order kept)."""
    names = [n.strip().lower() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    if not names:
        raise ValueError(f"No metrics named; choose from {', '.join(METRIC_NAMES)}.")
    for name in names:
        check_choice("metric", name, MetricName)
    return list(dict.fromkeys(names))


class ImageMetrics(nn.Module):
    """The chosen metrics over one feature network: ``update_real`` / ``update_fake`` with [-1, 1] images,
    then ``compute()`` -> ``{"fid": ..., "kid_mean": ..., "kid_std": ..., "is_mean": ..., "is_std": ...,
    "precision": ..., "recall": ...}`` (only the requested ones), all Python floats.

    Args:
        metrics: subset of ``("fid", "kid", "is", "pr")``.
        feature_net: ``"mnist"``, ``"cifar10"``, ``"inception:PATH"``, or a ready :class:`FeatureNetwork`.
        kid_subset_size: KID subset size (the usual 1000; lowered to the sample count when smaller).
        keep_real: keep the real features across ``reset()`` (in-training evaluation computes them once).
        seed: seeds the random subsets of KID and the split of IS, so repeated computes agree.
    """

    def __init__(
        self,
        metrics: Iterable[str] = METRIC_NAMES,
        feature_net: str | FeatureNetwork = "mnist",
        kid_subset_size: int = 1000,
        is_splits: int = 10,
        pr_k: int = 3,
        keep_real: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.names = parse_metric_names(metrics)
        features = feature_net if isinstance(feature_net, FeatureNetwork) else load_feature_network(feature_net)
        self.feature_net_name = features.name
        self.kid_subset_size = kid_subset_size
        self.seed = seed
        reset_real = not keep_real
        self.metrics = nn.ModuleDict()
        if "fid" in self.names:
            self.metrics["fid"] = FrechetInceptionDistance(feature=features, reset_real_features=reset_real)
        if "kid" in self.names:
            self.metrics["kid"] = KernelInceptionDistance(
                feature=features, subset_size=kid_subset_size, reset_real_features=reset_real
            )
        if "is" in self.names:
            self.metrics["is"] = InceptionScore(feature=features.with_output("logits"), splits=is_splits)
        if "pr" in self.names:
            self.metrics["pr"] = PrecisionRecall(feature=features, k=pr_k, reset_real_features=reset_real)
        self._num_real = 0
        self._num_fake = 0

    @property
    def needs_real(self) -> bool:
        return any(n in self.names for n in ("fid", "kid", "pr"))

    @torch.no_grad()
    def update_real(self, images: torch.Tensor) -> None:
        for name, metric in self.metrics.items():
            if name != "is":
                metric.update(images, real=True)
        self._num_real += images.shape[0]

    @torch.no_grad()
    def update_fake(self, images: torch.Tensor) -> None:
        for name, metric in self.metrics.items():
            if name == "is":
                metric.update(images)
            else:
                metric.update(images, real=False)
        self._num_fake += images.shape[0]

    def reset(self) -> None:
        """Forget the generated samples (and the real ones too unless ``keep_real`` was set)."""
        for metric in self.metrics.values():
            metric.reset()
        self._num_fake = 0

    @torch.no_grad()
    def compute(self) -> dict[str, float]:
        out: dict[str, float] = {}
        rng_state = torch.get_rng_state()
        torch.manual_seed(self.seed)  # KID subsets and IS split order are drawn with torch's global RNG
        try:
            for name, metric in self.metrics.items():
                if name == "kid":
                    metric.subset_size = min(self.kid_subset_size, self._min_count(metric))
                    mean, std = metric.compute()
                    out["kid_mean"], out["kid_std"] = float(mean), float(std)
                elif name == "is":
                    mean, std = metric.compute()
                    out["is_mean"], out["is_std"] = float(mean), float(std)
                elif name == "pr":
                    result = metric.compute()
                    out["precision"], out["recall"] = float(result["precision"]), float(result["recall"])
                else:
                    out["fid"] = float(metric.compute())
        finally:
            torch.set_rng_state(rng_state)
        return out

    @staticmethod
    def _min_count(metric: KernelInceptionDistance) -> int:
        # the smaller of the real and fake set sizes (after the DDP gather that compute() performs, the
        # per-process lists are what we see here; their global size is the sum over processes)
        real = sum(x.shape[0] for x in metric.real_features) if isinstance(metric.real_features, list) else metric.real_features.shape[0]
        fake = sum(x.shape[0] for x in metric.fake_features) if isinstance(metric.fake_features, list) else metric.fake_features.shape[0]
        world = torch.distributed.get_world_size() if torch.distributed.is_available() and torch.distributed.is_initialized() else 1
        return max(2, min(real, fake) * world)
