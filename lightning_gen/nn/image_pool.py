"""History of generated images for the discriminator (Shrivastava et al., 2017; CycleGAN, Zhu et al., 2017).

Shrivastava et al. (2017, "Learning from Simulated and Unsupervised Images through Adversarial Training",
section 2.3) update the discriminator with a history of refined images rather than only the latest ones,
which reduces model oscillation. CycleGAN (section 4, "Training details") keeps a buffer of the 50 most
recently generated images; its ``image_pool.py`` rule, implemented here image by image: while the pool is
not full, store the new image and return it; once full, with probability 1/2 return a stored image picked
uniformly at random and put the new image in its place, else return the new image.
"""

from __future__ import annotations

import torch

from lightning_gen.utils.validation import check_positive

__all__ = ["ImagePool"]


class ImagePool:
    """A pool of up to ``size`` past generated images; :meth:`query` mixes them into the current batch.

    Not an ``nn.Module``: the pool is training-time state, kept out of ``state_dict`` (as in CycleGAN, a
    resumed run starts with an empty pool). ``size=0`` disables it (``query`` returns its input).

    Args:
        size: capacity (CycleGAN: 50).
        seed: seeds the pool's own random draws, so runs are reproducible and other random streams
            (noise, dropout) are not shifted by using a pool.
    """

    def __init__(self, size: int = 50, seed: int = 0) -> None:
        check_positive("size", size, allow_zero=True)
        self.size = size
        self.images: list[torch.Tensor] = []
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """A batch the same shape as ``images`` (B, C, H, W), detached: each item is the new image or, once
        the pool is full, with probability 1/2 a stored one (which the new image then replaces). The choices
        come from ``generator`` when given (a model's per-step, per-rank generator), else the pool's own."""
        if self.size == 0:
            return images.detach()
        generator = self.generator if generator is None else generator
        device = generator.device
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=generator, device=device) < 0.5:
                index = int(torch.randint(self.size, (), generator=generator, device=device))
                out.append(self.images[index])
                self.images[index] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)
