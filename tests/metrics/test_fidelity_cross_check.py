"""FID, KID and IS cross-checked with an independent implementation, torch-fidelity 0.4.0 (Obukhov et al.,
2020), on the same features: agreement to 1e-3 relative.

lightning-gen's metrics run on torchmetrics; torch-fidelity is a separate code base (numpy/scipy, its own
kernels and estimators). Both take features from the same :class:`FeatureNetwork`: the shipped MNIST
classifier on real digits, and an identity network on Gaussian features the test draws.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kernel_mmd, kid_features_to_metric

from lightning_gen.metrics import FeatureNetwork, ImageMetrics, load_feature_network

REL = 1e-3


class GaussianPixels(nn.Module):
    """Features = the first 8 pixels, logits = 3 x the last 10: distributions the test controls."""

    num_features = 8
    num_classes = 10

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)[:, :8]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 3 * x.flatten(1)[:, -10:]


def _gaussian_sets() -> tuple[FeatureNetwork, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(400, 1, 3, 6, generator=gen)  # 18 pixels: 8 features, 10 logits
    fake = 0.3 + 1.2 * torch.randn(400, 1, 3, 6, generator=gen)
    return FeatureNetwork(GaussianPixels(), "gaussian-pixels"), real, fake


def _mnist_sets(shared_data) -> tuple[FeatureNetwork, torch.Tensor, torch.Tensor]:
    from lightning_gen.data import read_mnist
    from lightning_gen.data.transforms import pad_to
    from lightning_gen.metrics import mnist_feature_split

    images, _ = read_mnist(shared_data / "mnist", "test")
    _, held_out = mnist_feature_split(images.shape[0])
    x = pad_to(images[held_out[:1000]].unsqueeze(1).float() / 127.5 - 1, 32)
    noise = torch.randn(x[500:].shape, generator=torch.Generator().manual_seed(1))
    noisy = (x[500:] + 0.4 * noise).clamp(-1, 1)
    return load_feature_network("mnist"), x[:500], noisy  # real digits vs other digits with noise


@pytest.fixture(params=["gaussian", "mnist"])
def feature_sets(request) -> tuple[FeatureNetwork, torch.Tensor, torch.Tensor]:
    if request.param == "gaussian":
        return _gaussian_sets()
    return _mnist_sets(request.getfixturevalue("shared_data"))


def _lightning_gen(net: FeatureNetwork, real: torch.Tensor, fake: torch.Tensor, **kwargs) -> dict[str, float]:
    metrics = ImageMetrics(("fid", "kid", "is"), net, seed=0, **kwargs)
    metrics.update_real(real)
    metrics.update_fake(fake)
    return metrics.compute()


def test_fid_and_full_set_kid_and_single_split_is_agree_with_torch_fidelity(feature_sets) -> None:
    net, real, fake = feature_sets
    n = real.shape[0]
    # KID on one subset of all n samples is the full-set unbiased MMD^2 whichever subsets are drawn; IS with
    # one split does not depend on the shuffle: both estimators are then the same quantity in both libraries
    ours = _lightning_gen(net, real, fake, kid_subset_size=n, is_splits=1)
    f_real, f_fake = net(real).double(), net(fake).double()
    fid = fid_statistics_to_metric(
        fid_features_to_statistics(f_real), fid_features_to_statistics(f_fake), False
    )
    kid = kid_features_to_metric(f_real, f_fake, kid_subsets=3, kid_subset_size=n, verbose=False)
    isc = isc_features_to_metric(net.with_output("logits")(fake).double(), splits=1, shuffle=False)
    assert ours["fid"] == pytest.approx(fid["frechet_inception_distance"], rel=REL)
    assert ours["kid_mean"] == pytest.approx(kid["kernel_inception_distance_mean"], rel=REL)
    assert ours["is_mean"] == pytest.approx(isc["inception_score_mean"], rel=REL)
    assert ours["fid"] > 0.05 and ours["kid_mean"] > 1e-3 and ours["is_mean"] > 1.5  # not trivially zero


def test_subset_kid_mean_and_std_agree_with_torch_fidelity_on_the_same_subsets(feature_sets) -> None:
    """KID over 20 random subsets of 100: the subsets ImageMetrics draws (torch's RNG seeded by ``seed``,
    one randperm per set per subset, as torchmetrics does) scored by torch-fidelity's polynomial-kernel MMD."""
    net, real, fake = feature_sets
    metrics = ImageMetrics(("kid",), net, kid_subset_size=100, seed=3)
    metrics.metrics["kid"].subsets = 20
    metrics.update_real(real)
    metrics.update_fake(fake)
    ours = metrics.compute()
    f_real, f_fake = net(real).double().numpy(), net(fake).double().numpy()
    state = torch.get_rng_state()
    torch.manual_seed(3)
    try:
        subsets = [(torch.randperm(len(f_real))[:100], torch.randperm(len(f_fake))[:100]) for _ in range(20)]
    finally:
        torch.set_rng_state(state)
    theirs = np.array([kernel_mmd(f_real[r.numpy()], f_fake[f.numpy()]) for r, f in subsets])
    assert ours["kid_mean"] == pytest.approx(float(theirs.mean()), rel=REL)
    assert ours["kid_std"] == pytest.approx(float(theirs.std()), rel=REL) and ours["kid_std"] > 0
