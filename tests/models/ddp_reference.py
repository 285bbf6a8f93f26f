"""A 1-process reference for 2-process DDP runs: the same data and the same noise on one doubled batch.

Under ``strategy="ddp"`` with 2 ranks, rank r's batch k comes from Lightning's DistributedSampler and its noise is what ``step_generator`` draws for (seed, k, r). The
reference :func:`doubled_loader` puts rank 0's batch then rank 1's batch into one batch of 2B, and
:func:`virtual_ranks` makes a model class whose first normal draw of a batch (the GANs' z, via
``draw_normal``) or whose diffusion ``(t, eps)`` is the concatenation of the two ranks' draws. Because DDP
averages the ranks' gradients and every loss here is a mean over samples, one step of the reference must
then equal one DDP step, as long as no layer mixes samples (BatchNorm does: it normalises with per-rank
statistics, so the tests use networks without it).
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset

from lightning_gen.models.base import _TRAIN_STREAM, GenerativeModule

__all__ = ["WORLD", "assert_matches", "doubled_loader", "fit_state", "virtual_ranks"]

WORLD = 2


def doubled_loader(dataset: Dataset, batch_size: int, seed: int = 0) -> DataLoader:
    """Batches of ``WORLD * batch_size``: rank 0's batch k of a 2-rank DDP run's first epoch, then rank 1's.

    Lightning gives a DDP training loader a ``DistributedSampler(shuffle=True, seed=PL_GLOBAL_SEED)`` whatever
    the loader's own ``shuffle``; the same sampler gives each rank's order here."""
    per_rank = []
    for rank in range(WORLD):
        sampler = DistributedSampler(dataset, num_replicas=WORLD, rank=rank, shuffle=True, seed=seed)
        sampler.set_epoch(0)
        per_rank.append(list(sampler))
    n = len(per_rank[0]) // batch_size * batch_size
    order = [i for k in range(0, n, batch_size) for indices in per_rank for i in indices[k:k + batch_size]]
    return DataLoader(Subset(dataset, order), batch_size=WORLD * batch_size, shuffle=False)


def _rank_generators(model: GenerativeModule) -> list[torch.Generator]:
    index = model.trainer.fit_loop.epoch_loop.total_batch_idx
    return [model.seeded_generator(_TRAIN_STREAM, model.noise_seed, index, rank) for rank in range(WORLD)]


class _VirtualRanks:
    """Mixin: a batch's first draw is the WORLD ranks' first draws, concatenated along the batch."""

    def draw_normal(self, shape, dtype=None):
        n = shape[0] // WORLD
        return torch.cat([torch.randn((n, *shape[1:]), generator=g, device=self.device, dtype=dtype)
                          for g in _rank_generators(self)])

    def training_noise(self, x0, generator):
        parts = []
        for half, g in zip(x0.chunk(WORLD), _rank_generators(self), strict=True):
            parts.append(super().training_noise(half, g))  # (not in a comprehension: super() needs this frame)
        return torch.cat([t for t, _ in parts]), torch.cat([eps for _, eps in parts])


def virtual_ranks(cls: type) -> type:
    """``cls`` with the noise of WORLD ranks drawn on one doubled batch (see the module docstring)."""
    return type(f"VirtualRanks{cls.__name__}", (_VirtualRanks, cls), {})


def fit_state(model: torch.nn.Module) -> dict[str, list[float]]:
    """Every parameter and its last gradient (the last phase's, all-reduced under DDP), as JSON-able lists."""
    state: dict[str, list[float]] = {}
    for name, p in model.named_parameters():
        state[name] = p.detach().flatten().tolist()
        if p.grad is not None:
            state[name + ".grad"] = p.grad.detach().flatten().tolist()
    return state


def assert_matches(ddp: dict[str, list[float]], reference: torch.nn.Module, what: str) -> None:
    """A DDP rank's :func:`fit_state` equals the 1-process reference's (float tolerance: the sums differ in
    order), gradients included."""
    ref = fit_state(reference)
    assert ddp.keys() == ref.keys(), f"{what}: different parameters or gradients"
    assert any(key.endswith(".grad") for key in ref), f"{what}: no gradients to compare"
    for key, value in ref.items():
        torch.testing.assert_close(torch.tensor(ddp[key]), torch.tensor(value), rtol=1e-4, atol=1e-6,
                                   msg=lambda m, key=key: f"{what}: {key} differs: {m}")
