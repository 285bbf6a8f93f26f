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
from lightning.fabric.utilities.distributed import DistributedSamplerWrapper
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from lightning_gen.models.base import _TRAIN_STREAM, GenerativeModule

__all__ = ["WORLD", "DoubledOrder", "assert_matches", "doubled_from", "doubled_loader", "fit_state", "virtual_ranks"]

WORLD = 2


class DoubledOrder(Sampler[int]):
    """The items of a 2-rank DDP epoch in doubled-batch order: rank 0's batch k, then rank 1's, for each k.

    Lightning gives a DDP training loader a ``DistributedSampler(shuffle=True, seed=PL_GLOBAL_SEED)`` whatever
    the loader's own ``shuffle``, and sets its epoch before each epoch; this sampler replays that (Lightning
    calls its ``set_epoch`` too)."""

    def __init__(self, dataset: Dataset, batch_size: int, seed: int = 0, sampler: Sampler | None = None) -> None:
        # a loader with its own sampler (the package's datamodules) gets Lightning's DistributedSamplerWrapper
        make = (lambda rank: DistributedSampler(dataset, num_replicas=WORLD, rank=rank, shuffle=True, seed=seed)) \
            if sampler is None else \
            (lambda rank: DistributedSamplerWrapper(sampler, num_replicas=WORLD, rank=rank, shuffle=True, seed=seed))
        self.samplers = [make(rank) for rank in range(WORLD)]
        self.batch_size = batch_size

    def set_epoch(self, epoch: int) -> None:
        for sampler in self.samplers:
            sampler.set_epoch(epoch)

    def __iter__(self):
        per_rank = [list(sampler) for sampler in self.samplers]
        n = len(per_rank[0]) // self.batch_size * self.batch_size
        b = self.batch_size
        return iter([i for k in range(0, n, b) for indices in per_rank for i in indices[k:k + b]])

    def __len__(self) -> int:
        return len(self.samplers[0]) // self.batch_size * self.batch_size * WORLD


def doubled_loader(dataset: Dataset, batch_size: int, seed: int = 0) -> DataLoader:
    """Batches of ``WORLD * batch_size``: rank 0's batch k of a 2-rank DDP run, then rank 1's, every epoch."""
    return DataLoader(dataset, batch_size=WORLD * batch_size, sampler=DoubledOrder(dataset, batch_size, seed))


def doubled_from(loader: DataLoader, seed: int = 0) -> DataLoader:
    """:func:`doubled_loader` for a datamodule's training ``loader`` (its dataset, sampler and collate)."""
    order = DoubledOrder(loader.dataset, loader.batch_size, seed, sampler=loader.sampler)
    return DataLoader(loader.dataset, batch_size=WORLD * loader.batch_size, sampler=order,
                      collate_fn=loader.collate_fn)


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


def assert_matches(ddp: dict[str, list[float]], reference: torch.nn.Module, what: str,
                   dead_below: float | None = None) -> None:
    """A DDP rank's :func:`fit_state` equals the 1-process reference's, gradients included, to float tolerance:
    rtol 1e-4 plus 1e-3 of the tensor's largest entry (the sums run in another order, and through
    several Adam steps round-off grows to ~1e-4 of the scale; wrong data or noise differ at order 1).

    ``dead_below``: parameters whose reference gradient stays below it everywhere have no effect on the loss
    (a convolution's bias before InstanceNorm, which subtracts it again); Adam turns their round-off
    gradients into full-size steps of random sign, so only their being dead in both runs is compared."""
    ref = fit_state(reference)
    assert ddp.keys() == ref.keys(), f"{what}: different parameters or gradients"
    assert any(key.endswith(".grad") for key in ref), f"{what}: no gradients to compare"
    dead = set()
    if dead_below is not None:
        dead = {key[: -len(".grad")] for key, g in ref.items()
                if key.endswith(".grad") and torch.tensor(g).abs().max() < dead_below}
        for name in dead:
            assert torch.tensor(ddp[name + ".grad"]).abs().max() < dead_below, f"{what}: {name} is alive under DDP"
    for key, value in ref.items():
        if key.removesuffix(".grad") in dead:
            continue
        expected, got = torch.tensor(value), torch.tensor(ddp[key])
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-6 + 1e-3 * float(expected.abs().max()),
                                   msg=lambda m, key=key: f"{what}: {key} differs: {m}")
