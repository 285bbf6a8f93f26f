"""Peak resident memory (RSS) of training and of sampling, per model family, at the configs' sizes.

``python -m benchmarks memory [--quick] [--families ...]`` -> ``benchmarks/results/memory.json`` (+ ``.md``).

Every measurement is its own fresh process (``python -m benchmarks memory --child ...``), which reports its
``getrusage(RUSAGE_SELF).ru_maxrss`` at the end, so that no two measurements share a high-water mark. Each
child also reports the RSS after importing torch, Lightning and lightning-gen and building the model and
data (``baseline_mib``): the difference is what training (``steps`` optimiser steps with the config's batch
size, CPU, one thread) or sampling (``num_samples`` samples with the model's defaults, diffusion: DDIM
``sample_steps`` steps) adds. The training child writes the checkpoint that the sampling child loads.
``--quick`` measures the smallest family for a few steps (the test's smoke run).
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
    "clip": "configs/clip_mnist.yaml",
    "text-to-image (MiniLM)": "configs/t2i_mnist.yaml",
    "text-to-image sr": "configs/t2i_sr_mnist.yaml",
    "text-to-image (two digits)": "configs/t2i_two_digits.yaml",
    "unclip clip": "configs/unclip_clip_mnist.yaml",
    "unclip prior": "configs/unclip_prior_mnist.yaml",
    "unclip decoder": "configs/unclip_decoder_mnist.yaml",
}
#: families whose model takes a trained CLIP (``--model.init_args.clip``): the one this benchmark's own
#: "unclip clip" training child wrote, so they are measured after it
NEEDS_CLIP = {"unclip prior": "unclip clip", "unclip decoder": "unclip clip"}
#: the caption every text-conditional sampling child draws (any caption of the training templates would do)
PROMPT = "a handwritten digit seven"
QUICK_FAMILIES = ("gan (MLP, toy)",)
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


def child(
    mode: str, config: str, ckpt: Path, steps: int, num_samples: int, sample_steps: int, overrides: list[str]
) -> dict[str, Any]:
    """One measurement, run inside its own process (see the module docstring); ``overrides``: extra
    command-line style options of the config (e.g. the CLIP checkpoint an unCLIP stage takes)."""
    import lightning.pytorch as pl
    import torch

    torch.set_num_threads(1)
    pl.seed_everything(0)
    if mode == "train":
        model, datamodule = build_from_config(config, data_overrides(config) + overrides)
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
    if not hasattr(model, "sample"):  # CLIP embeds images and texts, it does not generate
        return {"baseline_mib": baseline, "peak_mib": None,
                "skipped": f"{type(model).__name__} is not a generative model: nothing to sample"}
    options: dict[str, Any] = {"seed": 0}
    parameters = inspect.signature(model.sample).parameters
    if "sampler" in parameters:
        options.update(sampler="ddim", steps=sample_steps, progress=False)
    count = num_samples
    if "prompts" in parameters:  # text-conditional: num is per prompt there, so num_samples prompts, one each
        options.update(prompts=[PROMPT] * num_samples)
        count = 1
    start = time.perf_counter()
    try:
        samples = model.sample(count, **options)
    except (NotImplementedError, ValueError) as err:  # CycleGAN translates, it has no noise prior
        return {"baseline_mib": baseline, "peak_mib": None, "skipped": str(err).split(";")[0]}
    return {"baseline_mib": baseline, "peak_mib": _rss_mib(), "seconds": time.perf_counter() - start,
            "shape": list(samples.shape)}


def measure(
    mode: str, config: str, ckpt: Path, steps: int, num_samples: int, sample_steps: int, overrides: list[str] = ()
) -> dict[str, Any]:
    """Run :func:`child` in a fresh process and return its report."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "benchmarks", "memory", "--child", mode, config, str(ckpt), str(steps),
           str(num_samples), str(sample_steps), *overrides]
    run = subprocess.run(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=3600)
    if run.returncode != 0:
        raise RuntimeError(f"memory child {mode} {config} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def _markdown(results: ResultFile) -> str:
    rows, missing = [], []
    for family, config in FAMILIES.items():
        train, sample = results.units.get(f"train/{family}"), results.units.get(f"sample/{family}")
        if train is None:
            missing += [] if results.name.endswith("_quick") else [family]
            continue
        peak = sample.get("peak_mib") if sample else None
        rows.append([family, config, train["batch_size"], round(train["baseline_mib"]),
                     round(train["peak_mib"]), round(peak) if peak is not None else (sample or {}).get("skipped", "-")])
    return ("# Peak resident memory (MiB), CPU, one thread\n\n"
            f"Training: {results.config['steps']} optimiser steps at the config's batch size; sampling: "
            f"{results.config['num_samples']} samples (diffusion: DDIM {results.config['sample_steps']} steps).\n\n"
            + markdown_table(["family", "config", "batch", "after build", "training peak", "sampling peak"], rows)
            + (f"\n\n**Partial run**: not measured yet: {', '.join(missing)}. `python -m benchmarks memory` resumes it.\n"
               if missing else "\n"))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        mode, config, ckpt, steps, num, sample_steps = argv[1:7]
        print(json.dumps(child(mode, config, Path(ckpt), int(steps), int(num), int(sample_steps), argv[7:])))
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks memory", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the toy GAN only, 4 steps, 16 samples")
    parser.add_argument("--families", nargs="+", choices=list(FAMILIES), default=list(FAMILIES))
    parser.add_argument("--steps", type=int, default=20, help="optimiser steps of each training run")
    parser.add_argument("--num-samples", type=int, default=64)
    parser.add_argument("--sample-steps", type=int, default=50, help="DDIM steps of the diffusion samplers")
    args = parser.parse_args(argv)
    families = list(QUICK_FAMILIES) if args.quick else args.families
    steps, num, sample_steps = (4, 16, 2) if args.quick else (args.steps, args.num_samples, args.sample_steps)
    # the settings every unit shares; each unit records its own config file, so adding a family resumes the file
    config = {"steps": steps, "num_samples": num, "sample_steps": sample_steps, "threads": 1}
    import torch

    torch.set_num_threads(1)  # each unit's recorded environment (this process's) then says the children's 1 thread
    results = ResultFile("memory", config, quick=args.quick)
    work = WORK_DIR / ("memory_quick" if args.quick else "memory")

    def ckpt_of(family: str) -> Path:
        return work / (family.replace(" ", "_").replace("(", "").replace(")", "").replace(",", "") + ".ckpt")

    for family in sorted(families, key=lambda f: f in NEEDS_CLIP):  # a CLIP before the stages that take it
        overrides = [f"--model.init_args.clip={ckpt_of(NEEDS_CLIP[family])}"] if family in NEEDS_CLIP else []
        if overrides and not ckpt_of(NEEDS_CLIP[family]).is_file():
            raise SystemExit(f"memory: {family!r} takes the checkpoint of {NEEDS_CLIP[family]!r}: "
                             f"measure both (--families {NEEDS_CLIP[family]!r} {family!r})")
        for mode in ("train", "sample"):
            if not results.done(f"{mode}/{family}"):
                report = measure(mode, FAMILIES[family], ckpt_of(family), steps, num, sample_steps, overrides)
                results.add(f"{mode}/{family}", {**report, "config": FAMILIES[family]})
    text = _markdown(results)
    measured = [f for f in FAMILIES if results.done(f"train/{f}") and results.done(f"sample/{f}")]  # every run's, not this one's
    results.set_summary({f: {"train_peak_mib": results.unit(f"train/{f}")["peak_mib"],
                             "sample_peak_mib": results.unit(f"sample/{f}").get("peak_mib")} for f in measured}, text)
    print(text)
    return 0
