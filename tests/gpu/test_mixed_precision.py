"""Mixed precision on a GPU with gradient clipping: a few real Trainer steps of GAN, DDPM, CycleGAN and BigGAN
under ``bf16-mixed`` and ``16-mixed`` (issue 12, defect 1 and the GPU suite).

Clipping at ``CLIP`` (far below any real gradient norm of these nets) must leave each optimizer's gradients with
norm CLIP *after* the GradScaler unscaled them: clipping the scaled gradients instead leaves CLIP / scale
(about 1.5e-5 with 16-mixed's initial scale 65536), which is what the old code did.
"""

from __future__ import annotations

import math

import lightning.pytorch as pl
import pytest
import torch

from lightning_gen.models import GAN
from tests.helpers import image_loader, tiny_dcgan, trainer
from tests.models.cycle_helpers import pair_loader, tiny_cyclegan
from tests.models.diffusion_helpers import tiny_ddpm
from tests.models.test_biggan import tiny_biggan

CLIP = 1e-3
STEPS = 4


class GradNorms(pl.Callback):
    """Each optimizer's global gradient norm after every training batch (the clipped, unscaled gradients)."""

    def __init__(self) -> None:
        self.norms: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        for optimizer in trainer.optimizers:
            grads = [p.grad.float() for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
            if grads:
                self.norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))


def _families():
    return {
        "gan": (lambda: GAN(*tiny_dcgan(size=16), gradient_clip_val=CLIP), lambda: image_loader(size=16)),
        "ddpm": (lambda: tiny_ddpm(size=8, gradient_clip_val=CLIP), lambda: image_loader(size=8)),
        "cyclegan": (lambda: tiny_cyclegan(gradient_clip_val=CLIP), lambda: pair_loader(size=16)),
        "biggan": (lambda: tiny_biggan(gradient_clip_val=CLIP), lambda: image_loader(size=32, channels=3)),
    }


@pytest.mark.parametrize("precision", ["bf16-mixed", "16-mixed"])
@pytest.mark.parametrize("family", ["gan", "ddpm", "cyclegan", "biggan"])
def test_mixed_precision_with_clipping_trains_on_gpu(family, precision, tmp_path):
    pl.seed_everything(0, verbose=False)
    build, loader = _families()[family]
    model = build()
    before = [p.detach().clone() for p in model.parameters()]
    norms = GradNorms()
    t = trainer(tmp_path, accelerator="gpu", precision=precision, max_steps=STEPS, max_epochs=1, limit_val_batches=0, callbacks=[norms])
    t.fit(model, loader())
    after = list(model.parameters())
    assert all(p.device.type == "cuda" for p in after)
    assert all(torch.isfinite(p).all() for p in after)
    assert any(not torch.equal(b.to(a.device), a.detach()) for b, a in zip(before, after, strict=True))
    finite = [n for n in norms.norms if math.isfinite(n)]  # 16-mixed may skip an overflowing first step
    assert finite, f"every step overflowed: {norms.norms}"
    for norm in finite:
        assert norm == pytest.approx(CLIP, rel=0.05), f"{family}/{precision}: gradient norm {norm} after clipping at {CLIP}"
