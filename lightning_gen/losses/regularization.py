"""Weight regularisers.

``orthogonal_regularization``: BigGAN's modified orthogonal regularisation (Brock et al., 2019, section
3.1, eq. 3): ``R_beta(W) = beta * || W W^T (.) (1 - I) ||_F^2``, summed over weight matrices. Unlike
the full orthogonality penalty of Brock et al. (2017) it leaves the filters' norms free and only pushes
distinct filters towards orthogonality, which the paper finds makes G amenable to truncation. Each
weight is viewed as a matrix with one row per output unit (a conv filter, flattened), as in the paper's
reference code; BigGAN uses beta = 1e-4 on G. With spectral normalisation the penalty applies to the raw
weight (the parametrization's ``original``), which is what ``module.parameters()`` yields.

Unlike the per-sample adversarial losses, a regulariser of weights returns a scalar.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

__all__ = ["orthogonal_regularization", "regularized_weights"]


def regularized_weights(module: nn.Module, exclude: Iterable[nn.Parameter] = ()) -> list[nn.Parameter]:
    """The parameters of ``module`` that are weight matrices or filters (ndim >= 2), minus ``exclude``
    (BigGAN exempts the shared class embedding)."""
    skip = {id(p) for p in exclude}
    return [p for p in module.parameters() if p.dim() >= 2 and id(p) not in skip]


def orthogonal_regularization(weights: Iterable[torch.Tensor], beta: float = 1e-4) -> torch.Tensor:
    """``beta * sum_W || W W^T (.) (1 - I) ||_F^2`` over ``weights`` (each flattened to (out, -1)).

    Raises:
        ValueError: ``beta`` is negative, or no weight was given.
    """
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}.")
    total: torch.Tensor | None = None
    for weight in weights:
        w = weight.flatten(1)  # (out, in * kh * kw)
        gram = w @ w.T  # (out, out)
        off_diagonal = gram - torch.diag_embed(torch.diagonal(gram))
        term = off_diagonal.pow(2).sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("orthogonal_regularization got no weights (tensors with ndim >= 2).")
    return beta * total
