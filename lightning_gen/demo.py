"""``make demo``: train a DCGAN on the bundled scikit-learn digits, then sample from its checkpoint.

Runs ``lightning-gen fit --config configs/dcgan_digits.yaml`` and ``lightning-gen sample`` exactly as a user
would, writing ``<out>/samples.png`` and printing the checkpoint path.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lightning_gen.cli import LightningGenCLI, main


def run(config: str, out: str, extra: list[str]) -> int:
    start = time.perf_counter()
    cli = LightningGenCLI(
        args=["fit", "--config", config, "--trainer.default_root_dir", out, "--trainer.enable_progress_bar", "false",
              *extra]
    )
    ckpt = cli.trainer.checkpoint_callback.last_model_path
    samples = str(Path(out) / "samples.png")
    code = main(["sample", "--ckpt", ckpt, "--num", "64", "--seed", "0", "--out", samples])
    minutes = (time.perf_counter() - start) / 60
    print(f"\nDemo done in {minutes:.1f} min.\n  checkpoint: {ckpt}\n  samples:    {samples}")
    print(f"More samples: lightning-gen sample --ckpt {ckpt} --num 100 --out more.png --seed 1")
    return code


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="configs/dcgan_digits.yaml")
    parser.add_argument("--out", default="outputs/demo")
    known, rest = parser.parse_known_args()
    sys.exit(run(known.config, known.out, rest))
