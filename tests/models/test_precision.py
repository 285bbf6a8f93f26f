"""Gradient clipping under mixed precision (issue 12, defect 1): the threshold applies to the true gradients.

Lightning turns a plain ``precision="16-mixed"`` on CPU into bf16 without a scaler, so the tests install the
16-bit plugin with a CPU GradScaler themselves: the same code path as ``16-mixed`` on a GPU.
"""

from __future__ import annotations

import pytest
import torch
from lightning.pytorch.plugins import MixedPrecision
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_gen.models.base import GenerativeModule
from tests.helpers import trainer


class LinearLoss(GenerativeModule):
    """loss = <w, c> with c fixed: the gradient is exactly c (norm 16.3 here), whatever the precision."""

    network_names = ("net",)
    sampling_network = "net"

    def __init__(self, gradient_clip_val: float | None = 1.0, gradient_clip_algorithm: str = "norm") -> None:
        super().__init__(gradient_clip_val=gradient_clip_val, gradient_clip_algorithm=gradient_clip_algorithm)
        self.net = nn.Linear(4, 1, bias=False)
        nn.init.zeros_(self.net.weight)
        self.register_buffer("c", torch.tensor([[10.0, -8.0, 6.0, 7.5]]))  # ||c|| = 16.3

    def configure_optimizers(self):
        return torch.optim.SGD(self.net.parameters(), lr=1.0)  # update = -gradient

    def training_step(self, batch, batch_idx):
        opt = self.optimizers()
        loss = (self.net.weight * self.c).sum() + 0 * batch[0].sum()
        self.optimization_step(opt, loss, "net")


def one_step(tmp_path, plugins, **model_options) -> torch.Tensor:
    model = LinearLoss(**model_options)
    loader = DataLoader(TensorDataset(torch.zeros(2, 4)), batch_size=2)
    trainer(tmp_path, max_steps=1, limit_val_batches=0, enable_checkpointing=False, plugins=plugins).fit(model, loader)
    return -model.net.weight.detach().flatten()  # the gradient that reached SGD


def fp16_plugin() -> list[MixedPrecision]:
    return [MixedPrecision("16-mixed", "cpu", scaler=torch.amp.GradScaler("cpu"))]


@pytest.mark.parametrize("plugins", [None, "fp16"], ids=["32-true", "16-mixed"])
def test_clip_by_norm_applies_to_the_unscaled_gradient(tmp_path, plugins):
    grad = one_step(tmp_path, fp16_plugin() if plugins == "fp16" else None)
    c = torch.tensor([10.0, -8.0, 6.0, 7.5])
    # old code, 16-mixed: the scaled gradient (norm 16.3 * 65536) was clipped to 1, then divided by 65536
    assert grad.norm().item() == pytest.approx(1.0, rel=2e-3)
    torch.testing.assert_close(grad, c / c.norm(), rtol=2e-3, atol=1e-4)  # direction kept


def test_clip_by_value_applies_to_the_unscaled_gradient(tmp_path):
    grad = one_step(tmp_path, fp16_plugin(), gradient_clip_val=0.5, gradient_clip_algorithm="value")
    torch.testing.assert_close(grad, torch.tensor([0.5, -0.5, 0.5, 0.5]))


def test_without_clipping_the_16_bit_step_sees_the_true_gradient(tmp_path):
    grad = one_step(tmp_path, fp16_plugin(), gradient_clip_val=None)
    torch.testing.assert_close(grad, torch.tensor([10.0, -8.0, 6.0, 7.5]), rtol=1e-3, atol=1e-3)
