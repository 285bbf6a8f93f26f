"""CLIP's symmetric contrastive (InfoNCE) loss, with multi-positive targets and the DDP gather spelled out.

Radford et al. (2021), Figure 3: for a batch of N (image, text) pairs with L2-normalised features,
``logits = logit_scale * I @ T.T`` and the loss is the mean of the cross-entropies over rows (image ->
text) and over columns (text -> image), the i-th text being the i-th image's positive (InfoNCE, van den
Oord et al. 2018).

**Repeated captions.** Captions made from labels repeat inside a batch, and plain InfoNCE then pushes an
image away from an identical copy of its own caption (a false negative). Here every pair carries a group id
(the caption's hash, or the label): all pairs of the same group are positives of each other, and the
target of a row is uniform over its positives (row-normalised, as in SupCon, Khosla et al. 2020). With
distinct groups this is exactly CLIP's loss.

**DDP (open_clip's ``local_loss=True, gather_with_grad=True``).** Each rank gathers every rank's features
*with* gradients and computes its own rows against all N columns: ``logits_per_image = s * I_local @
T_all.T`` and ``logits_per_text = s * T_local @ I_all.T``, targets offset by ``rank * b``. The mean over
the ranks of these local losses is the one-process loss of the whole batch. The gather's backward sums the
gradients of every rank's loss into each rank's features, and DDP then averages over ranks, so the weights
receive exactly the one-process gradient: no extra ``* world_size`` (open_clip #616) and no gather without
gradients, which would drop the other ranks' terms (#1047). ``tests/losses/test_contrastive.py`` checks both
against one process on the concatenated batch.

Functions return per-sample (per local row) losses; the caller reduces with ``.mean()``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = ["ContrastiveLoss", "Gather", "caption_groups", "contrastive_loss", "distributed_gather", "positive_targets"]

#: ``(b, ...) -> (world_size * b, ...)``: every rank's tensor, rank order, with gradients for features.
Gather = Callable[[torch.Tensor], torch.Tensor]


def caption_groups(texts: list[str]) -> torch.Tensor:
    """(b,) int64 ids equal exactly for identical strings (BLAKE2b, 63 bits): the same on every process, so
    the ids gather across DDP ranks where the strings cannot."""
    return torch.tensor(
        [int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "big") >> 1 for t in texts], dtype=torch.long
    )


def positive_targets(groups: torch.Tensor, all_groups: torch.Tensor) -> torch.Tensor:
    """(b, N) soft targets: row i is uniform over the columns j with ``all_groups[j] == groups[i]``."""
    same = (groups[:, None] == all_groups[None, :]).float()  # (b, N)
    counts = same.sum(dim=1, keepdim=True)
    if (counts == 0).any():
        raise ValueError("A row has no positive column: the local groups must appear among the gathered ones.")
    return same / counts


def contrastive_loss(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    logit_scale: torch.Tensor | float,
    *,
    all_image_features: torch.Tensor | None = None,
    all_text_features: torch.Tensor | None = None,
    groups: torch.Tensor | None = None,
    all_groups: torch.Tensor | None = None,
    offset: int = 0,
) -> torch.Tensor:
    """Per-row symmetric InfoNCE, (b,): ``(CE(image -> texts) + CE(text -> images)) / 2``.

    Args:
        image_features, text_features: (b, D) L2-normalised features of the local pairs.
        logit_scale: the inverse temperature (already exponentiated and clamped).
        all_image_features, all_text_features: (N, D) every rank's features (default: the local ones);
            the local rows must sit at ``offset : offset + b``.
        groups, all_groups: (b,) and (N,) group ids (identical captions or labels are positives); default
            one group per pair (CLIP's identity targets).
        offset: index of the first local pair among the gathered ones (``rank * b``).
    """
    if image_features.shape != text_features.shape or image_features.dim() != 2:
        raise ValueError(
            f"image and text features must both be (b, D), got {tuple(image_features.shape)} and {tuple(text_features.shape)}."
        )
    all_images = image_features if all_image_features is None else all_image_features
    all_texts = text_features if all_text_features is None else all_text_features
    b, n = image_features.shape[0], all_images.shape[0]
    if groups is None:
        groups = torch.arange(offset, offset + b, device=image_features.device)
        all_groups = torch.arange(n, device=image_features.device)
    elif all_groups is None:
        all_groups = groups
    targets = positive_targets(groups, all_groups).to(image_features.dtype)  # (b, N)
    logits_per_image = logit_scale * image_features @ all_texts.T  # (b, N)
    logits_per_text = logit_scale * text_features @ all_images.T  # (b, N)
    image_to_text = F.cross_entropy(logits_per_image, targets, reduction="none")
    text_to_image = F.cross_entropy(logits_per_text, targets, reduction="none")
    return (image_to_text + text_to_image) / 2


def distributed_gather(tensor: torch.Tensor) -> torch.Tensor:
    """open_clip's ``gather_features`` through ``torch.distributed`` (identity outside a process group):
    floating tensors with gradients (``torch.distributed.nn.functional.all_gather``, whose backward sums
    the ranks' gradients), integer ids without."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    if tensor.is_floating_point():
        import torch.distributed.nn.functional as dist_nn

        return torch.cat(dist_nn.all_gather(tensor.contiguous()))
    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts)


class ContrastiveLoss:
    """The DDP-aware loss object (open_clip's ``ClipLoss(local_loss=True, gather_with_grad=True)``).

    Args:
        gather: gathers a tensor from every rank (see :data:`Gather`); None: a single process.
        rank: this process's rank (its rows' offset among the gathered columns is ``rank * b``).

    ``loss(image_features, text_features, logit_scale, groups=None) -> (b,)`` per local row.
    """

    def __init__(self, gather: Gather | None = None, rank: int = 0) -> None:
        self.gather = gather
        self.rank = rank

    def __call__(
        self,
        image_features: torch.Tensor,
        text_features: torch.Tensor,
        logit_scale: torch.Tensor | float,
        groups: torch.Tensor | None = None,
    ) -> torch.Tensor:
        b = image_features.shape[0]
        if self.gather is None:
            return contrastive_loss(image_features, text_features, logit_scale, groups=groups)
        offset = self.rank * b
        if groups is None:
            groups = torch.arange(offset, offset + b, device=image_features.device)
        return contrastive_loss(
            image_features,
            text_features,
            logit_scale,
            all_image_features=self.gather(image_features),
            all_text_features=self.gather(text_features),
            groups=groups,
            all_groups=self.gather(groups),
            offset=offset,
        )
