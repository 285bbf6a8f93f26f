"""BigGAN and BigBiGAN under 2-process DDP on CPU: a real ``Trainer.fit``
(``strategy="ddp_find_unused_parameters_true", devices=2``) on real MNIST digits; both ranks must end with
identical weights.

The fit runs in a subprocess script (Lightning re-launches that script for rank 1); one script fits both
models, one after the other, to pay the process start-up once. BatchNorm running statistics are per-rank
buffers (DDP broadcasts rank 0's at the start of each forward, then each rank's forward updates its own),
so the comparison is over parameters, which DDP keeps in sync by averaging gradients.

Why these tests do not compare with 1 process on the doubled batch (issue 14, item 7), as the CoGAN, CycleGAN,
GAN and DDPM DDP tests do: BigGAN's and BigBiGAN's generators normalise with (conditional) BatchNorm, which uses
per-rank batch statistics, so 2 ranks x B cannot equal 1 x 2B even with the same noise (SyncBatchNorm would
normalise over the global batch, but that is another model than the configs train, and it is not tested here on
CPU). That the two ranks draw different z and encoder
noise is checked by tests/models/test_noise_ranks.py; the gradient averaging itself by
tests/models/test_ddp_equivalence.py.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import sys
    import lightning.pytorch as pl
    import torch
    from lightning_gen.data import MNISTDataModule
    from lightning_gen.models import BigBiGAN, BigGAN
    from lightning_gen.nn import BigBiGANDiscriminator, BigBiGANEncoder, BigGANDiscriminator, BigGANGenerator

    root, out = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    models = {
        "biggan": lambda: BigGAN(
            BigGANGenerator(latent_dim=16, num_classes=10, channels=1, width=4, shared_dim=8, attention_resolution=16),
            BigGANDiscriminator(num_classes=10, channels=1, width=4),
            ema_decay=0.9,
        ),
        "bigbigan": lambda: BigBiGAN(
            BigGANGenerator(latent_dim=16, num_classes=0, channels=1, width=4),
            BigBiGANEncoder(channels=1, latent_dim=16, width=4, hidden_dim=16),
            BigBiGANDiscriminator(channels=1, latent_dim=16, width=4, hidden_dim=16),
            ema_decay=0.9,
        ),
    }
    for name, build in models.items():
        pl.seed_everything(0)
        model = build()
        initial = {k: v.detach().clone() for k, v in model.named_parameters()}
        trainer = pl.Trainer(
            strategy="ddp_find_unused_parameters_true", devices=2, accelerator="cpu", max_epochs=1, limit_val_batches=0,
            num_sanity_val_steps=0, logger=False, enable_checkpointing=False, enable_progress_bar=False,
            enable_model_summary=False,
        )
        # 32 real digits: 16 per rank, 2 batches of 8 per rank -> 2 D steps and 1 G (or E+G) step
        trainer.fit(model, MNISTDataModule(root=root, image_size=32, batch_size=8, limit=32, seed=0))
        params = {k: v.detach().cpu() for k, v in model.named_parameters()}
        moved = [k for k in params if not torch.equal(params[k], initial[k])]
        torch.save({"params": params, "moved": moved, "world": trainer.world_size},
                   f"{out}/{name}_rank{trainer.global_rank}.pt")
    """
)


@pytest.fixture(scope="module")
def ddp_results(mnist_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ddp")
    script = out / "fit_ddp.py"
    script.write_text(SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), str(mnist_root), str(out)],
        cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300,
        env={**__import__("os").environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["biggan", "bigbigan"])
def test_two_process_ddp_ranks_end_with_identical_weights(ddp_results: Path, name: str):
    rank0 = torch.load(ddp_results / f"{name}_rank0.pt")
    rank1 = torch.load(ddp_results / f"{name}_rank1.pt")
    assert rank0["world"] == rank1["world"] == 2
    assert rank0["params"].keys() == rank1["params"].keys()
    for key, value in rank0["params"].items():
        torch.testing.assert_close(rank1["params"][key], value, rtol=0, atol=1e-6, msg=f"{name}: {key} differs")
    # training really happened: G, D (and E) and the EMA moved
    for prefix in ("generator.", "discriminator.", "ema.") + (("encoder.",) if name == "bigbigan" else ()):
        assert any(k.startswith(prefix) for k in rank0["moved"]), f"{name}: nothing under {prefix} was trained"
