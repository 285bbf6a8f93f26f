"""The one rule by which every model turns a user's ``labels`` argument into the class labels it samples with."""

from __future__ import annotations

import torch

from lightning_gen.utils.validation import check_range

__all__ = ["class_grid_labels", "sampling_labels"]


def sampling_labels(
    num: int, labels: torch.Tensor | int | None, num_classes: int, device: torch.device | str, model: str = "model"
) -> torch.Tensor | None:
    """The labels of ``num`` samples from a model with ``num_classes`` classes (0: unconditional).

    Given labels are checked (count and range) and moved to ``device``; one int is repeated; ``None`` cycles
    through the classes 0, 1, ..., K-1, 0, ... so that every class appears. An unconditional model returns
    None and refuses labels. This runs once per ``sample`` call (the edge where user input enters), so its
    range check's device-to-host read is not in any training or sampling loop.

    Raises:
        ValueError: labels for an unconditional model, a count other than ``num``, or a label outside
            [0, num_classes - 1]; the message names ``model``.
    """
    if not num_classes:
        if labels is not None:
            raise ValueError(f"{model} is unconditional (num_classes=0); do not pass labels.")
        return None
    if labels is None:
        return torch.arange(num, device=device) % num_classes
    if isinstance(labels, int):
        labels = torch.full((num,), labels, device=device)
    labels = torch.as_tensor(labels).long().flatten()
    if labels.numel() != num:
        raise ValueError(f"Got {labels.numel()} labels for {num} samples.")
    check_range("Labels", labels.cpu(), 0, num_classes - 1)
    return labels.to(device)


def class_grid_labels(num_classes: int, per_class: int, device: torch.device | str) -> torch.Tensor:
    """Labels 0,0,...,1,1,...: one row of ``per_class`` samples per class (validation grids)."""
    return torch.arange(num_classes, device=device).repeat_interleave(per_class)
