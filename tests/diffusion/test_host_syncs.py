"""The per-step hot paths read no values back from the device (issue 12, defect 8).

Reading a CUDA tensor's value (``.item()``, ``bool(t.min() < 0)``, ``int(...)``) waits for all queued GPU
work: a range check of every step's labels, timesteps or augmentation levels, or CycleGAN's image-size
check, stalled the GPU each step. Two real checks on a machine without one:

- the ``meta`` device stands in for an accelerator: its tensors have no values at all, so any read-back
  raises; the hot paths must run on it (they raised before);
- a dispatch mode records every value read (``aten._local_scalar_dense``) with its Python stack while a real
  CycleGAN trains on the CPU; none may come from models/cyclegan.py.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from lightning_gen.diffusion import NoiseSchedule, augment_condition
from lightning_gen.nn.conditioning import LabelEmbedding
from tests.helpers import trainer
from tests.models.cycle_helpers import pair_loader, tiny_cyclegan
from tests.models.diffusion_helpers import tiny_ddpm, tiny_sr


class ValueReads(TorchDispatchMode):
    """Records, for every read of a tensor's value into Python, the innermost lightning_gen source line that
    made it (``file:line``; reads made by Lightning or torch alone are not recorded)."""

    def __init__(self) -> None:
        super().__init__()
        self.sites: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket is torch.ops.aten._local_scalar_dense:
            ours = [f for f in traceback.extract_stack() if "/lightning_gen/" in Path(f.filename).as_posix()]
            if ours:
                self.sites.append(f"{Path(ours[-1].filename).as_posix().split('/lightning_gen/')[-1]}:{ours[-1].lineno}")
        return func(*args, **(kwargs or {}))


def test_forward_process_runs_on_a_device_without_read_back():
    schedule = NoiseSchedule(num_timesteps=50).to("meta")
    x0 = torch.empty(4, 1, 8, 8, device="meta")
    t = torch.randint(0, 50, (4,), device="meta")
    assert schedule.q_sample(x0, t, torch.empty_like(x0)).device.type == "meta"
    mean, std = schedule.q_mean_std(x0, t)
    assert mean.shape == std.shape == x0.shape


def test_augmentation_and_label_embedding_run_on_a_device_without_read_back():
    schedule = NoiseSchedule(num_timesteps=50).to("meta")
    cond = torch.empty(3, 1, 4, 4, device="meta")
    assert augment_condition(cond, torch.zeros(3, dtype=torch.long, device="meta"), schedule).device.type == "meta"
    embedding = LabelEmbedding(10, 4).to("meta")
    assert embedding(torch.zeros(3, dtype=torch.long, device="meta"), 3).shape == (3, 4)


def test_host_inputs_are_still_checked_with_clear_errors():
    schedule = NoiseSchedule(num_timesteps=50)
    with pytest.raises(ValueError, match=r"Timesteps must lie in \[0, 49\], got min 0 max 50"):
        schedule.q_sample(torch.zeros(2, 1, 2, 2), torch.tensor([0, 50]))
    with pytest.raises(ValueError, match=r"Augmentation levels must lie in \[0, 50\]"):
        augment_condition(torch.zeros(2, 1, 2, 2), torch.tensor([-1, 3]), schedule)
    with pytest.raises(ValueError, match=r"Labels must lie in \[0, 9\], got min 0 max 10"):
        LabelEmbedding(10, 4)(torch.tensor([0, 10]), 2)
    with pytest.raises(ValueError, match=r"augmentation_level must lie in \[0, num_timesteps=1000\], got 1001"):
        tiny_sr().upsample(torch.zeros(1, 1, 4, 4), augmentation_level=1001, steps=1, progress=False)


def test_cyclegan_training_step_reads_no_device_values(tmp_path):
    torch.manual_seed(0)
    model = tiny_cyclegan()
    reads = ValueReads()
    with reads:
        trainer(tmp_path, max_steps=2, max_epochs=1, limit_val_batches=0).fit(model, pair_loader(n=8))
    assert int(model.image_size) == 16
    from_cyclegan = [site for site in reads.sites if site.startswith("models/cyclegan.py:")]
    assert not from_cyclegan, f"value reads in models/cyclegan.py during 2 training steps: {from_cyclegan}"


def test_labelled_batches_are_checked_once_on_the_host_before_the_transfer():
    """The batch boundary: Lightning's on_before_batch_transfer sees the host batch, so a bad label stops a
    GPU run there with the clear error (the network itself no longer reads device labels back)."""
    model = tiny_ddpm(num_classes=10)
    batch = (torch.zeros(2, 1, 8, 8), torch.tensor([3, 9]))
    assert model.on_before_batch_transfer(batch, 0) is batch
    with pytest.raises(ValueError, match=r"Labels must lie in \[0, 9\], got min 3 max 10"):
        model.on_before_batch_transfer((batch[0], torch.tensor([3, 10])), 0)
    unconditional = tiny_ddpm()
    assert unconditional.on_before_batch_transfer((batch[0], torch.tensor([99, 99])), 0)[1].tolist() == [99, 99]
