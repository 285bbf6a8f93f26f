"""Under 2-process DDP on CPU: an UnrolledGAN (BatchNorm DCGAN, real MNIST) trains with the in-loop
SampleQuality callback; both processes end with identical weights, and the callback's FID, KID, IS and
precision/recall equal one-process values of the same samples against the same real images."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from lightning_gen.data import MNISTDataModule
from lightning_gen.metrics import ImageMetrics
from lightning_gen.sampling import load_model

REPO = Path(__file__).resolve().parents[2]
NUM = 200

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import lightning.pytorch as pl
    import torch
    from lightning_gen.callbacks import SampleQuality
    from lightning_gen.data import MNISTDataModule
    from lightning_gen.models import UnrolledGAN
    from lightning_gen.nn import DCGANDiscriminator, DCGANGenerator

    root, out, num = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(1)
    pl.seed_everything(0, verbose=False)
    g = DCGANGenerator(latent_dim=8, channels=1, image_size=32, base_width=4)
    d = DCGANDiscriminator(channels=1, image_size=32, base_width=4)
    model = UnrolledGAN(g, d, unroll_steps=2)
    data = MNISTDataModule(root, image_size=32, batch_size=8, limit=64)
    quality = SampleQuality(metrics=("fid", "pr", "kid", "is"), feature_net="mnist", num_samples=num, seed=0)
    trainer = pl.Trainer(accelerator="cpu", devices=2, strategy="ddp_find_unused_parameters_true", max_epochs=1, limit_train_batches=2,
                         limit_val_batches=0, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=[quality])
    trainer.fit(model, data)
    trainer.save_checkpoint(out + "/model.ckpt")
    state = torch.cat([t.detach().flatten().float() for t in model.state_dict().values()])
    torch.save(state, f"{out}/rank{trainer.global_rank}.pt")
    # ImageMetrics itself under DDP, on diverse images (the barely trained GAN's samples are one class, so
    # their IS is ~1 whatever the synchronisation): real digits vs the same digits with noise, KID on 50-item
    # subsets, IS in 10 splits; each process updates with its shard (items rank, rank + 2, ...)
    from lightning_gen.metrics import ImageMetrics

    real = torch.cat([x for x, _ in data.val_dataloader()])[:num]
    noisy = (real + 0.5 * torch.randn(real.shape, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)
    direct = ImageMetrics(("kid", "is"), "mnist", kid_subset_size=50, seed=0)
    direct.update_real(real[trainer.global_rank :: 2])
    direct.update_fake(noisy[trainer.global_rank :: 2])
    with open(f"{out}/metrics{trainer.global_rank}.json", "w") as f:
        json.dump({**quality.last, "direct": direct.compute()}, f)
    """
)


@pytest.mark.slow
@pytest.mark.shared_data
def test_in_loop_fid_under_two_process_ddp_equals_one_process(mnist_root, tmp_path):
    script = tmp_path / "ddp_fit.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(script), str(mnist_root), str(tmp_path), str(NUM)],
                          cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    rank0, rank1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert torch.equal(rank0, rank1)
    ddp = [json.loads((tmp_path / f"metrics{r}.json").read_text()) for r in (0, 1)]
    assert ddp[0] == ddp[1]  # every process logs the same synchronised values

    # one process, the same samples (same seed, same weights) and the same real images
    model = load_model(tmp_path / "model.ckpt")
    data = MNISTDataModule(str(mnist_root), image_size=32, batch_size=8, limit=64)
    data.setup("validate")
    real = torch.cat([x for x, _ in data.val_dataloader()])[:NUM]
    fake = model.sample(NUM, seed=0)
    # Process r keeps items r, r + 2, ...; the gathered states list rank 0's items, then rank 1's. FID,
    # precision/recall and KID (here one subset of all 200: the default subset size, 1000, is capped at the
    # sample count) do not depend on that order; IS's shuffled splits do (the same seeded permutation picks
    # other items), so the one-process run sees the items in the gathered order.
    gathered = torch.cat([torch.arange(0, NUM, 2), torch.arange(1, NUM, 2)])
    single = ImageMetrics(("fid", "pr", "kid", "is"), "mnist", seed=0)
    single.update_real(real[gathered])
    single.update_fake(fake[gathered])
    values = single.compute()
    assert values["fid"] == pytest.approx(ddp[0]["fid"], rel=1e-3)
    assert values["precision"] == pytest.approx(ddp[0]["precision"], abs=1e-9)
    assert values["recall"] == pytest.approx(ddp[0]["recall"], abs=1e-9)
    for name in ("kid_mean", "kid_std", "is_mean", "is_std"):  # abs: KID's std and IS's std are ~1e-8 here
        assert values[name] == pytest.approx(ddp[0][name], rel=1e-3, abs=1e-6), name
    assert ddp[0]["fid"] > 0 and ddp[0]["kid_mean"] > 0 and 0 < ddp[0]["is_mean"] <= 10

    # ImageMetrics under DDP on diverse images, against one process on the gathered order
    noisy = (real + 0.5 * torch.randn(real.shape, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)
    direct = ImageMetrics(("kid", "is"), "mnist", kid_subset_size=50, seed=0)
    direct.update_real(real[gathered])
    direct.update_fake(noisy[gathered])
    values = direct.compute()
    for name in ("kid_mean", "kid_std", "is_mean", "is_std"):
        assert values[name] == pytest.approx(ddp[0]["direct"][name], rel=1e-3), name
    assert values["is_mean"] > 3 and values["is_std"] > 0.05 and values["kid_std"] > 0  # not degenerate
