"""Small builders shared by the tests (data the tests make, tiny networks, a quiet Trainer)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from lightning_gen.nn import DCGANDiscriminator, DCGANGenerator


def image_loader(n: int = 64, size: int = 16, channels: int = 1, batch_size: int = 16, seed: int = 0,
                 num_classes: int = 10) -> DataLoader:
    """Random [-1, 1] images with labels, in a fixed order. The loader has its own generator, like the
    package's datamodules, so creating its iterator draws nothing from the global RNG."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, channels, size, size, generator=gen) * 2 - 1
    y = torch.randint(0, num_classes, (n,), generator=gen)
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=False, drop_last=True,
                      generator=torch.Generator().manual_seed(seed))


def tiny_dcgan(size: int = 16, channels: int = 1, num_classes: int = 0, norm: str = "batch",
               pack: int = 1) -> tuple[DCGANGenerator, DCGANDiscriminator]:
    g = DCGANGenerator(latent_dim=8, channels=channels, image_size=size, base_width=4, norm=norm,
                       num_classes=num_classes)
    d = DCGANDiscriminator(channels=channels, image_size=size, base_width=4, norm=norm, num_classes=num_classes,
                           pack=pack)
    return g, d


def trainer(tmp_path: Path, **kwargs: Any) -> pl.Trainer:
    defaults: dict[str, Any] = dict(
        accelerator="cpu",
        devices=1,
        default_root_dir=str(tmp_path),
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        num_sanity_val_steps=0,
    )
    defaults.update(kwargs)
    return pl.Trainer(**defaults)


def state_vector(module: torch.nn.Module) -> torch.Tensor:
    # tensors only: extra states such as a text encoder's tokenizer (a JSON string) are not numbers
    return torch.cat([t.detach().flatten().float() for t in module.state_dict().values() if isinstance(t, torch.Tensor)])


class DumpWeights(pl.Callback):
    """Writes each rank's parameters (G, D and the EMA copy) to ``<dirpath>/rank<k>.pt`` at the end of fit.

    Parameters only: BatchNorm running statistics are per-rank between DDP's buffer broadcasts."""

    def __init__(self, dirpath: str) -> None:
        super().__init__()
        self.dirpath = dirpath

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        Path(self.dirpath).mkdir(parents=True, exist_ok=True)
        params = torch.cat([p.detach().flatten() for p in pl_module.parameters()])
        torch.save(params, Path(self.dirpath) / f"rank{trainer.global_rank}.pt")


REPO = Path(__file__).resolve().parents[1]


def run_ddp_script(body: str, tmp_path: Path, timeout: int = 300) -> list[dict[str, Any]]:
    """Run ``body`` (Python that trains with ``strategy="ddp", devices=2`` and dumps
    ``json.dump(record, open(OUT + f"/rank{rank}.json", "w"))``) as a real script with Lightning's own launcher,
    and return the two ranks' records. ``OUT`` (the output folder) and the repository on ``sys.path`` are set up
    for the body; a failing script fails the test with its stderr."""
    script = tmp_path / "ddp_script.py"
    header = f"import sys\nsys.path.insert(0, {str(REPO)!r})\nOUT = sys.argv[1]\n"
    script.write_text(header + textwrap.dedent(body))
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]


def load_quick_result(results_dir: Path, name: str) -> dict[str, Any]:
    """The ``--quick`` results file of benchmark ``name`` in ``results_dir``, checked to come with its markdown
    table and never to have written the full run's file."""
    data = json.loads((results_dir / f"{name}_quick.json").read_text())
    assert (results_dir / f"{name}_quick.md").is_file() and not (results_dir / f"{name}.json").exists()
    return data
