"""Peak resident memory (RSS) of training and of sampling, per model family, at the configs' sizes.

``python -m benchmarks memory [--quick] [--families ...]`` -> ``benchmarks/results/memory.json`` (+ ``.md``).

Every measurement is its own fresh process (``python -m benchmarks memory --child ...``), which reports its
``getrusage(RUSAGE_SELF).ru_maxrss`` at the end, so that no two measurements share a high-water mark. Each
child also reports the RSS after importing torch, Lightning and lightning-gen and building the model and
data (``baseline_mib``): the difference is what training (``steps`` optimiser steps with the config's batch
size, CPU, one thread) or sampling (``num_samples`` samples with the model's defaults, diffusion: DDIM
``sample_steps`` steps) adds. The training child writes the checkpoint that the sampling child loads.
``--quick`` measures two small families for a few steps (the test's smoke run).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import (
    REPO,
    WORK_DIR,
    ResultFile,
    build_from_config,
    markdown_table,
    prepare_cifar10,
    t10k_as_train_root,
)

__all__ = ["FAMILIES", "QUICK_FAMILIES", "main", "measure"]

#: family -> the config measured (its network widths and batch size are what is measured)
FAMILIES: dict[str, str] = {
    "gan (MLP, toy)": "configs/gan_toy.yaml",
    "gan (MLP, MNIST)": "configs/gan_mnist.yaml",
    "dcgan": "configs/dcgan_mnist.yaml",
    "cgan": "configs/cgan_mnist.yaml",
    "unrolled_gan": "configs/unrolled_gan_toy.yaml",
    "biggan": "configs/biggan_cifar10.yaml",
    "bigbigan": "configs/bigbigan_mnist.yaml",
    "cogan": "configs/cogan_mnist_edges.yaml",
    "cyclegan": "configs/cyclegan_horse_deer.yaml",
    "autoencoder": "configs/ae_mnist.yaml",
    "ddpm": "configs/ddpm_mnist.yaml",
    "ddpm (CIFAR-10)": "configs/ddpm_cifar10.yaml",
    "cascade base": "configs/cascade_base_mnist.yaml",
    "cascade sr": "configs/cascade_sr_mnist.yaml",
    "colorization": "configs/colorize_cifar10.yaml",
}
QUICK_FAMILIES = ("gan (MLP, toy)", "dcgan (digits)")
_QUICK_CONFIGS = {"dcgan (digits)": "configs/dcgan_digits.yaml"}
MIB = 1024.0  # ru_maxrss is in KiB on Linux


def data_overrides(config: str) -> list[str]:
    """``--data.init_args.*`` pointing a config at the real data of ../shared/data."""
    data = yaml.safe_load((REPO / config).read_text())["data"]
    name = data["class_path"].rsplit(".", 1)[-1]
    if "MNIST" in name:  # MNISTDataModule, MNISTDomainsDataModule
        return [f"--data.init_args.root={t10k_as_train_root()}"]
    if "CIFAR10" in name:  # CIFAR10DataModule, CIFAR10DomainsDataModule
        return [f"--data.init_args.root={prepare_cifar10()}"]
    return []


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / MIB


def _current_rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(mode: str, config: str, ckpt: Path, steps: int, num_samples: int, sample_steps: int) -> dict[str, Any]:
    """One measurement, run inside its own process (see the module docstring)."""
    import lightning.pytorch as pl
    import torch

    torch.set_num_threads(1)
    pl.seed_everything(0)
    if mode == "train":
        model, datamodule = build_from_config(config, data_overrides(config))
        baseline = _current_rss_mib()
        start = time.perf_counter()
        # max_epochs: a bound that models with epoch-based schedules (CycleGAN) need; max_steps ends the run
        trainer = pl.Trainer(accelerator="cpu", devices=1, max_steps=steps, max_epochs=1000, limit_val_batches=0,
                             num_sanity_val_steps=0, logger=False, enable_checkpointing=False,
                             enable_progress_bar=False, enable_model_summary=False)
        trainer.fit(model, datamodule=datamodule)
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        trainer.save_checkpoint(ckpt)
        return {"baseline_mib": baseline, "peak_mib": _rss_mib(), "seconds": time.perf_counter() - start,
                "batch_size": datamodule.batch_size, "steps": trainer.global_step}
    from lightning_gen.sampling import load_model

    model = load_model(ckpt)
    baseline = _current_rss_mib()
    options: dict[str, Any] = {"seed": 0}
    if "sampler" in inspect.signature(model.sample).parameters:
        options.update(sampler="ddim", steps=sample_steps, progress=False)
    start = time.perf_counter()
    try:
        samples = model.sample(num_samples, **options)
    except (NotImplementedError, ValueError) as err:  # CycleGAN translates, it has no noise prior
        return {"baseline_mib": baseline, "peak_mib": None, "skipped": str(err).split(";")[0]}
    return {"baseline_mib": baseline, "peak_mib": _rss_mib(), "seconds": time.perf_counter() - start,
            "shape": list(samples.shape)}


def measure(mode: str, config: str, ckpt: Path, steps: int, num_samples: int, sample_steps: int) -> dict[str, Any]:
    """Run :func:`child` in a fresh process and return its report."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "benchmarks", "memory", "--child", mode, config, str(ckpt), str(steps),
           str(num_samples), str(sample_steps)]
    run = subprocess.run(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=3600)
    if run.returncode != 0:
        raise RuntimeError(f"memory child {mode} {config} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def _markdown(results: ResultFile) -> str:
    rows = []
    for family in results.config["families"]:
        train, sample = results.units.get(f"train/{family}"), results.units.get(f"sample/{family}")
        if train is None:
            continue
        peak = sample.get("peak_mib") if sample else None
        rows.append([family, results.config["configs"][family], train["batch_size"], round(train["baseline_mib"]),
                     round(train["peak_mib"]), round(peak) if peak is not None else (sample or {}).get("skipped", "-")])
    return ("# Peak resident memory (MiB), CPU, one thread\n\n"
            f"Training: {results.config['steps']} optimiser steps at the config's batch size; sampling: "
            f"{results.config['num_samples']} samples (diffusion: DDIM {results.config['sample_steps']} steps).\n\n"
            + markdown_table(["family", "config", "batch", "after build", "training peak", "sampling peak"], rows))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        mode, config, ckpt, steps, num, sample_steps = argv[1:7]
        print(json.dumps(child(mode, config, Path(ckpt), int(steps), int(num), int(sample_steps))))
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks memory", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="two small families, 4 steps, 16 samples")
    parser.add_argument("--families", nargs="+", choices=list(FAMILIES), default=list(FAMILIES))
    parser.add_argument("--steps", type=int, default=20, help="optimiser steps of each training run")
    parser.add_argument("--num-samples", type=int, default=64)
    parser.add_argument("--sample-steps", type=int, default=50, help="DDIM steps of the diffusion samplers")
    args = parser.parse_args(argv)
    families = list(QUICK_FAMILIES) if args.quick else args.families
    configs = {**FAMILIES, **_QUICK_CONFIGS}
    steps, num, sample_steps = (4, 16, 2) if args.quick else (args.steps, args.num_samples, args.sample_steps)
    config = {"families": families, "configs": {f: configs[f] for f in families}, "steps": steps,
              "num_samples": num, "sample_steps": sample_steps, "threads": 1}
    results = ResultFile("memory", config, quick=args.quick)
    work = WORK_DIR / ("memory_quick" if args.quick else "memory")
    for family in families:
        ckpt = work / (family.replace(" ", "_").replace("(", "").replace(")", "").replace(",", "") + ".ckpt")
        for mode in ("train", "sample"):
            if not results.done(f"{mode}/{family}"):
                results.add(f"{mode}/{family}", measure(mode, configs[family], ckpt, steps, num, sample_steps))
    text = _markdown(results)
    results.set_summary({f: {"train_peak_mib": results.unit(f"train/{f}")["peak_mib"],
                             "sample_peak_mib": results.unit(f"sample/{f}").get("peak_mib")} for f in families}, text)
    print(text)
    return 0
