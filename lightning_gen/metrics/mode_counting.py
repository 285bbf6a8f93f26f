"""Mode counting: how many modes of a known mixture a generator covers, and how evenly.

- 2-D toys (VEEGAN, Srivastava et al., 2017; PacGAN, Lin et al., 2018, section 4.1, as in the authors' code
  ``synthetic_data_experiments/PacGAN/pacgan/extensions.py``): a sample is *high quality* when its distance
  to the nearest mode is below ``threshold`` (3) standard deviations; a mode is *captured* when it has at
  least one high-quality sample; the *reverse KL* is KL(p || uniform) where p is the histogram of the
  high-quality samples over the modes.
- Stacked MNIST (Srivastava et al., 2017; Metz et al., 2017; Lin et al., 2018, section 4.2): each of the 3
  channels is classified by an MNIST classifier; the 3 digits name one of 1,000 modes; the number of
  modes with at least one sample and KL(p || uniform) over all samples are reported.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

__all__ = ["ModeCount", "count_modes", "histogram_kl_to_uniform", "stacked_mnist_modes"]


@dataclass(frozen=True)
class ModeCount:
    """Result of a mode count.

    Attributes:
        modes: number of captured modes.
        num_modes: number of modes of the target.
        high_quality: fraction of samples that count (within the threshold; 1.0 for stacked MNIST).
        reverse_kl: KL(p || uniform) of the samples' mode histogram (inf when no sample counts).
        histogram: samples per mode (length ``num_modes``).
    """

    modes: int
    num_modes: int
    high_quality: float
    reverse_kl: float
    histogram: list[int]

    def as_dict(self) -> dict:
        return asdict(self)


def histogram_kl_to_uniform(histogram: torch.Tensor) -> float:
    """KL(p || uniform) of a count histogram, in nats: sum_i p_i log(p_i K). inf for an empty histogram."""
    counts = histogram.double()
    total = counts.sum()
    if total <= 0:
        return math.inf
    p = counts[counts > 0] / total
    return float((p * (p * histogram.numel()).log()).sum())


def count_modes(samples: torch.Tensor, modes: torch.Tensor, std: float, threshold: float = 3.0) -> ModeCount:
    """PacGAN mode count of ``samples`` (N, D) against isotropic mixture ``modes`` (K, D) with ``std``.

    Raises:
        ValueError: shapes disagree or ``std``/``threshold`` are not positive.
    """
    if samples.dim() != 2 or modes.dim() != 2 or samples.shape[1] != modes.shape[1]:
        raise ValueError(
            f"samples (N, D) and modes (K, D) must share D; got {tuple(samples.shape)} and {tuple(modes.shape)}."
        )
    if std <= 0 or threshold <= 0:
        raise ValueError(f"std and threshold must be > 0, got std={std}, threshold={threshold}.")
    samples = samples.detach().double().cpu()
    centers = modes.detach().double().cpu()
    distance, nearest = torch.cdist(samples, centers).min(dim=1)  # (N,), (N,)
    good = distance < threshold * std
    histogram = torch.bincount(nearest[good], minlength=centers.shape[0])
    return ModeCount(
        modes=int((histogram > 0).sum()),
        num_modes=centers.shape[0],
        high_quality=float(good.double().mean()) if samples.shape[0] else 0.0,
        reverse_kl=histogram_kl_to_uniform(histogram),
        histogram=histogram.tolist(),
    )


def stacked_mnist_modes(digits: torch.Tensor) -> ModeCount:
    """Mode count of Stacked MNIST from the classified digits ``(N, 3)`` (channel order R, G, B).

    The mode of a sample is ``100 * d_R + 10 * d_G + d_B`` (1,000 modes). Every sample counts
    (``high_quality`` is 1.0): the protocol has no quality threshold.
    """
    if digits.dim() != 2 or digits.shape[1] != 3:
        raise ValueError(f"digits must be (N, 3), one predicted digit per channel; got {tuple(digits.shape)}.")
    if digits.numel() and (digits.min() < 0 or digits.max() > 9):
        raise ValueError("digits must lie in 0..9.")
    index = (digits.long() * torch.tensor([100, 10, 1], device=digits.device)).sum(dim=1).cpu()
    histogram = torch.bincount(index, minlength=1000)
    return ModeCount(
        modes=int((histogram > 0).sum()),
        num_modes=1000,
        high_quality=1.0,
        reverse_kl=histogram_kl_to_uniform(histogram),
        histogram=histogram.tolist(),
    )
