"""Images/s of lightning-gen's diffusion sampling path vs diffusers' DDPMPipeline / DDIMPipeline.

Both run the *same* ``UNet2DModel`` object (the EMA denoiser of the ddpm_mnist checkpoint, which is what
``DDPM.sample(use_ema=True)`` and ``lightning-gen sample`` use), the same scheduler class and
configuration (built by :func:`lightning_gen.diffusion.make_scheduler`), the same batch size and step
count. Runs alternate (ours, theirs, ours, theirs ...) in one process so load changes on a shared
machine hit both; the result is the median time per batch, measured twice: wall-clock, and CPU time of
this process (``time.process_time``; with one thread it is the work done, which other jobs on a shared
machine do not inflate). The ratio is reported for both. Our path returns a [-1, 1] tensor, the
pipelines a numpy array (``output_type="np"``). Target: ratio (ours / diffusers) >= 1.0.

    python -m benchmarks diffusion_throughput [--quick] [--ckpt PATH] [--batch-size B] [--steps S] [--rounds R]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from diffusers import DDIMPipeline, DDPMPipeline

from benchmarks.common import ResultFile, markdown_table
from benchmarks.diffusion_nfe import checkpoint_facts
from benchmarks.diffusion_runs import ensure_checkpoint
from lightning_gen.diffusion import make_scheduler
from lightning_gen.sampling import load_model

NAME = "diffusion_throughput"
PIPELINES = {"ddpm": DDPMPipeline, "ddim": DDIMPipeline}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks {NAME}")
    parser.add_argument("--quick", action="store_true", help="batch 4, 3 steps, 2 rounds")
    parser.add_argument(
        "--ckpt", default=None, help="default: the ddpm_mnist run of the diffusion benchmarks (trained when missing)"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    batch, steps, rounds = (4, 3, 2) if args.quick else (args.batch_size, args.steps, args.rounds)
    args.ckpt = args.ckpt or str(ensure_checkpoint("ddpm_mnist", quick=args.quick))
    model = load_model(args.ckpt)
    unet = model.sampler_network(use_ema=True).unet
    config = {"checkpoint": checkpoint_facts(args.ckpt)["checkpoint"], "batch_size": batch, "steps": steps, "rounds": rounds,
              "timers": ["wall", "process_cpu"]}  # fmt: skip
    result = ResultFile(NAME, config, quick=args.quick)
    for sampler, pipeline_class in PIPELINES.items():
        if result.done(sampler):
            continue
        pipeline = pipeline_class(
            unet=unet, scheduler=make_scheduler(sampler, model.noise_schedule, model.hparams.prediction_type)
        )
        pipeline.set_progress_bar_config(disable=True)

        def ours(seed: int, sampler=sampler) -> None:
            model.sample(batch, seed=seed, sampler=sampler, steps=steps, batch_size=batch, progress=False)

        def theirs(seed: int, pipeline=pipeline) -> None:
            pipeline(
                batch_size=batch,
                generator=torch.Generator().manual_seed(seed),
                num_inference_steps=steps,
                output_type="np",
            )

        ours(0), theirs(0)  # warm-up
        times: dict[str, list[float]] = {"lightning_gen": [], "diffusers": []}
        cpu: dict[str, list[float]] = {"lightning_gen": [], "diffusers": []}
        for r in range(rounds):
            for name, fn in (("lightning_gen", ours), ("diffusers", theirs)):
                start, start_cpu = time.perf_counter(), time.process_time()
                fn(r + 1)
                times[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
        median = {k: statistics.median(v) for k, v in times.items()}
        median_cpu = {k: statistics.median(v) for k, v in cpu.items()}
        result.add(sampler, {
            "pipeline": pipeline_class.__name__,
            "wall_seconds_per_batch": times,
            "cpu_seconds_per_batch": cpu,
            "images_per_s": {k: batch / v for k, v in median.items()},
            "images_per_cpu_s": {k: batch / v for k, v in median_cpu.items()},
            "ratio": median["diffusers"] / median["lightning_gen"],
            "ratio_cpu": median_cpu["diffusers"] / median_cpu["lightning_gen"],
        })  # fmt: skip
        print(sampler, result.unit(sampler)["images_per_s"], flush=True)
    units = result.units
    worst = min(u["ratio"] for u in units.values())
    worst_cpu = min(u["ratio_cpu"] for u in units.values())
    env = next(iter(units.values()))["environment"]
    summary = {"ratios_wall": {k: u["ratio"] for k, u in units.items()},
               "ratios_cpu": {k: u["ratio_cpu"] for k, u in units.items()}, "target": ">= 1.0x",
               "target_met_wall": bool(worst >= 1.0), "target_met_cpu": bool(worst_cpu >= 1.0)}  # fmt: skip
    rows = [[k, u["pipeline"], u["images_per_s"]["lightning_gen"], u["images_per_s"]["diffusers"], u["ratio"],
             u["images_per_cpu_s"]["lightning_gen"], u["images_per_cpu_s"]["diffusers"], u["ratio_cpu"]]
            for k, u in units.items()]  # fmt: skip
    markdown = (
        f"# {NAME}\n\nSame UNet2DModel weights ({config['checkpoint']}), batch {batch}, {steps} steps, "
        f"{rounds} alternating rounds, median time. Hardware: {env['hardware']}, {env['torch_threads']} thread(s), "
        "shared with other jobs (absolute numbers vary with load; the ratio is the result).\n\n"
        + markdown_table(
            [
                "sampler",
                "diffusers pipeline",
                "ours img/s (wall)",
                "diffusers img/s (wall)",
                "ratio (wall)",
                "ours img/CPU-s",
                "diffusers img/CPU-s",
                "ratio (CPU)",
            ],
            rows,
        )  # fmt: skip
        + f"\nTarget >= 1.0x: wall-clock {'met' if summary['target_met_wall'] else 'MISSED'} (worst {worst:.3f}), "
        f"CPU time {'met' if summary['target_met_cpu'] else 'MISSED'} (worst {worst_cpu:.3f}).\n"
    )
    result.set_summary(summary, markdown)
    print(markdown)
    return 0
