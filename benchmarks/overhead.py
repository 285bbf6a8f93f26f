"""Framework overhead: one DCGAN trained in a plain PyTorch loop and through lightning-gen + a Trainer.

``python -m benchmarks overhead [--quick] [--steps N] [--repeats R] [--threads T]``

Both sides train the same DCGAN (Radford et al., 2016; the networks and settings of
``configs/dcgan_digits.yaml``) on the same data (the bundled scikit-learn digits at 32x32, same loader,
same shuffling seed) for the same number of iterations, from the same initial weights and noise. The
plain loop repeats :meth:`lightning_gen.models.GAN.training_step` operation for operation: the D step on
the detached fake with the generator frozen, the G step with the discriminator frozen (what Lightning's
``toggle_optimizer`` does), the NaN/inf check before each backward, ``zero_grad(set_to_none=True)``, the
same D statistics (computed, not logged), the EMA update after the G step. Label smoothing is off and no
gradient clipping, on both sides. The plain loop calls the sampler's ``set_epoch`` before each epoch, as
Lightning does. Because the work is the same, both sides end with the same weights; the benchmark checks
that and records the largest difference.

Variants, timed in alternation (plain, lightning, lightning_defaults, plain, ...) after an untimed warm-up
of each:

- ``plain``: the loop above.
- ``lightning``: ``GAN`` in a ``Trainer`` with ``logger=False, enable_checkpointing=False,
  enable_progress_bar=False, enable_model_summary=False``.
- ``lightning_defaults``: the Trainer's defaults (TensorBoard logger every 50 steps, epoch-end
  checkpointing, progress bar, model summary), written to a temporary folder.

Both Lightning variants set ``limit_val_batches=0, num_sanity_val_steps=0`` (the plain loop does not
validate) and ``max_steps=2 * steps`` (Lightning counts one step per optimiser step).

A run's total covers ``Trainer(...)`` + ``trainer.fit`` or the loop (optimiser creation included), measured
twice: on the wall clock and as the CPU time of the process (``time.process_time``; one torch thread and no
loader workers, so it is the work done, without the time spent waiting for other jobs on a shared machine).
The reported ``ratio`` is the median CPU total of ``lightning`` over that of ``plain`` (``ratio_wall``: the
same on the wall clock; minima are recorded too). Per-iteration times are taken at the same point on both
sides (after the EMA update; a Lightning callback's ``on_train_batch_end``); their median, first iteration
excluded, gives the per-iteration overhead without the fixed set-up cost.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import lightning.pytorch as pl
import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader

from benchmarks.common import ResultFile, markdown_table
from lightning_gen.data import DigitsDataModule
from lightning_gen.losses import discriminator_loss, generator_loss
from lightning_gen.models import GAN
from lightning_gen.models.base import batch_generator
from lightning_gen.nn import DCGANDiscriminator, DCGANGenerator
from lightning_gen.nn.ema import EMA

LOG_EVERY = 50  # Trainer's default log_every_n_steps

__all__ = ["SETTINGS", "VARIANTS", "main", "run_lightning", "run_plain"]

Variant = Literal["plain", "lightning", "lightning_defaults"]
VARIANTS: tuple[Variant, ...] = ("plain", "lightning", "lightning_defaults")
TARGET_RATIO = 1.03

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "dcgan_digits.yaml"


def demo_settings(config: Path = CONFIG) -> dict[str, Any]:
    """The networks, optimiser and data settings of the demo config (read from it, so the two cannot drift).
    Label smoothing (``real_label_range``) is left out on both sides: see the module docstring."""
    cfg = yaml.safe_load(config.read_text())
    model, data = cfg["model"]["init_args"], cfg["data"]["init_args"]
    g, d = model["generator"]["init_args"], model["discriminator"]["init_args"]
    betas = {tuple(model.get(key, (0.5, 0.999))) for key in ("betas_g", "betas_d")}
    if betas != {(0.5, 0.999)} or model["lr_g"] != model["lr_d"]:
        raise ValueError(f"{config}: the overhead benchmark assumes one lr and DCGAN's betas for G and D.")
    return {
        "latent_dim": g["latent_dim"],
        "g_base_width": g["base_width"],
        "d_base_width": d["base_width"],
        "norm": g["norm"],
        "image_size": data["image_size"],
        "batch_size": data["batch_size"],
        "loss": model["loss"],
        "lr": model["lr_g"],
        "betas": (0.5, 0.999),
        "ema_decay": model["ema_decay"],
        "seed": 0,
    }


#: the model and data of configs/dcgan_digits.yaml
SETTINGS: dict[str, Any] = demo_settings()


def stamp() -> tuple[float, float]:
    """(wall clock, CPU time of this process). CPU time leaves out the time spent waiting for the other
    processes of a shared machine; with one torch thread and no loader workers it is the work done."""
    return time.perf_counter(), time.process_time()


@dataclass
class Run:
    """One timed training run: its start and end stamps, the stamp at the end of each iteration, the final
    state of the generator, the discriminator and the EMA generator (flattened)."""

    start: tuple[float, float]
    end: tuple[float, float]
    step_ends: list[tuple[float, float]]
    final_state: torch.Tensor

    def record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"iterations": len(self.step_ends)}
        for clock, suffix in ((0, ""), (1, "_cpu")):
            ends = [self.start[clock]] + [e[clock] for e in self.step_ends]
            steps = [b - a for a, b in zip(ends[:-1], ends[1:], strict=True)]
            record[f"total{suffix}_s"] = self.end[clock] - self.start[clock]
            # the first iteration includes the set-up; the median of the others is the steady state
            record[f"iteration{suffix}_median_ms"] = 1000 * statistics.median(steps[1:] or steps)
            record[f"first_iteration_end{suffix}_s"] = steps[0]
        return record


# ---------------------------------------------------------------------------------------------- shared set-up
def build_networks() -> tuple[DCGANGenerator, DCGANDiscriminator]:
    """The same initial weights on both sides (seeded)."""
    s = SETTINGS
    torch.manual_seed(s["seed"])
    generator = DCGANGenerator(s["latent_dim"], 1, s["image_size"], s["g_base_width"], s["norm"])
    discriminator = DCGANDiscriminator(1, s["image_size"], s["d_base_width"], s["norm"])
    return generator, discriminator


def build_data(limit: int | None) -> DigitsDataModule:
    data = DigitsDataModule(
        image_size=SETTINGS["image_size"],
        batch_size=SETTINGS["batch_size"],
        seed=SETTINGS["seed"],
        limit=limit,
    )
    data.setup("fit")  # read and resize once, outside the timed region, for both sides
    return data


def flat_state(*modules: nn.Module) -> torch.Tensor:
    return torch.cat([t.detach().flatten().float() for m in modules for t in m.state_dict().values()])


# ---------------------------------------------------------------------------------------------- plain PyTorch
@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """``requires_grad=False`` on ``module``'s parameters for the block (what ``toggle_optimizer`` does to the
    networks of the other optimiser)."""
    params = list(module.parameters())
    states = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad = False
    try:
        yield
    finally:
        for p, state in zip(params, states, strict=True):
            p.requires_grad = state


def check_finite(loss: torch.Tensor, phase: str) -> None:
    if not torch.isfinite(loss.detach()).all():
        raise FloatingPointError(f"The {phase} loss is not finite.")


def plain_loop(
    generator: DCGANGenerator, discriminator: DCGANDiscriminator, loader: DataLoader, steps: int
) -> tuple[list[tuple[float, float]], EMA]:
    """``steps`` GAN iterations, operation for operation what ``GAN.training_step`` does; returns the
    :func:`stamp` at the end of each iteration and the EMA of the generator."""
    s = SETTINGS
    ema = EMA(generator, s["ema_decay"])
    opt_g = torch.optim.Adam(generator.parameters(), lr=s["lr"], betas=s["betas"])
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=s["lr"], betas=s["betas"])
    generator.train()
    discriminator.train()
    ends: list[tuple[float, float]] = []
    epoch = 0
    while len(ends) < steps:
        loader.sampler.set_epoch(
            epoch
        )  # the datamodule's sampler shuffles by (seed, epoch); Lightning calls this too
        epoch += 1
        for real, _ in loader:
            # the GAN module's training noise: a generator per batch, seeded by (noise seed 0, batch index, rank 0)
            z = torch.randn(real.shape[0], generator.latent_dim, dtype=real.dtype, generator=batch_generator(0, len(ends)))
            fake = generator(z)
            with frozen(generator):  # D step: maximise log D(x) + log(1 - D(G(z)))
                real_logits = discriminator(real)
                fake_logits = discriminator(fake.detach())
                loss_real, loss_fake = discriminator_loss(real_logits, fake_logits, s["loss"])
                d_loss = loss_real.mean() + loss_fake.mean()
                check_finite(d_loss, "discriminator")
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
            if (len(ends) + 1) % LOG_EVERY == 0:  # GAN computes its statistics on logging steps only
                _stats = (
                    d_loss.detach(),
                    torch.sigmoid(real_logits.detach()).mean(),
                    torch.sigmoid(fake_logits.detach()).mean(),
                )
            with frozen(discriminator):  # G step: minimise -log D(G(z))
                g_loss = generator_loss(discriminator(fake), s["loss"]).mean()
                check_finite(g_loss, "generator")
                opt_g.zero_grad(set_to_none=True)
                g_loss.backward()
                opt_g.step()
            ema.update(generator)
            ends.append(stamp())
            if len(ends) == steps:
                break
    return ends, ema


def run_plain(steps: int, limit: int | None = None) -> Run:
    generator, discriminator = build_networks()
    loader = build_data(limit).train_dataloader()
    torch.manual_seed(SETTINGS["seed"] + 1)  # the noise stream, same on both sides
    start = stamp()
    ends, ema = plain_loop(generator, discriminator, loader, steps)
    return Run(start, stamp(), ends, flat_state(generator, discriminator, ema.shadow))


# ---------------------------------------------------------------------------------------------- Lightning
class IterationClock(pl.Callback):
    """The :func:`stamp` at the end of every training batch (after the G step and the EMA update)."""

    def __init__(self) -> None:
        self.ends: list[tuple[float, float]] = []

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        self.ends.append(stamp())


def run_lightning(steps: int, *, defaults: bool, root: Path, limit: int | None = None) -> Run:
    s = SETTINGS
    generator, discriminator = build_networks()
    model = GAN(
        generator,
        discriminator,
        loss=s["loss"],
        lr_g=s["lr"],
        lr_d=s["lr"],
        betas_g=s["betas"],
        betas_d=s["betas"],
        ema_decay=s["ema_decay"],
    )
    data = build_data(limit)
    clock = IterationClock()
    lean: dict[str, Any] = (
        {}
        if defaults
        else {
            "logger": False,
            "enable_checkpointing": False,
            "enable_progress_bar": False,
            "enable_model_summary": False,
        }
    )
    torch.manual_seed(s["seed"] + 1)
    start = stamp()
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=2 * steps,
        max_epochs=-1,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        callbacks=[clock],
        default_root_dir=str(root),
        **lean,
    )
    trainer.fit(model, datamodule=data)
    end = stamp()
    if len(clock.ends) != steps:
        raise RuntimeError(f"The Trainer ran {len(clock.ends)} iterations, expected {steps}.")
    assert model.ema is not None
    return Run(start, end, clock.ends, flat_state(model.generator, model.discriminator, model.ema.shadow))


def run_variant(variant: Variant, steps: int, limit: int | None) -> Run:
    if variant == "plain":
        return run_plain(steps, limit)
    with tempfile.TemporaryDirectory(prefix="lightning_gen_overhead_") as root:
        return run_lightning(steps, defaults=variant == "lightning_defaults", root=Path(root), limit=limit)


# ---------------------------------------------------------------------------------------------- reporting
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


CLOCKS = {"cpu": "_cpu", "wall": ""}


def variant_stats(units: list[dict[str, Any]]) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    for clock, suffix in CLOCKS.items():
        totals = [u[f"total{suffix}_s"] for u in units]
        iterations = [u[f"iteration{suffix}_median_ms"] for u in units]
        stats[clock] = {
            "total_s": totals,
            "total_median_s": statistics.median(totals),
            "total_min_s": min(totals),
            "iteration_median_ms": iterations,
            "iteration_median_of_medians_ms": statistics.median(iterations),
            "first_iteration_end_median_s": statistics.median(
                u[f"first_iteration_end{suffix}_s"] for u in units
            ),
        }
    return stats


def ratios(stats: dict[str, Any], plain: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for clock in CLOCKS:
        s, p = stats[clock], plain[clock]
        out[f"{clock}_median"] = s["total_median_s"] / p["total_median_s"]
        out[f"{clock}_min"] = s["total_min_s"] / p["total_min_s"]
        out[f"{clock}_iteration"] = s["iteration_median_of_medians_ms"] / p["iteration_median_of_medians_ms"]
        out[f"{clock}_iteration_overhead_ms"] = (
            s["iteration_median_of_medians_ms"] - p["iteration_median_of_medians_ms"]
        )
        out[f"{clock}_fixed_overhead_s"] = (
            s["first_iteration_end_median_s"] - p["first_iteration_end_median_s"]
        )
    return out


def noise_verdict(paired: list[float], target: float) -> dict[str, Any]:
    """Read the paired ratios against their own spread instead of one median against the target.

    ``verdict``: "met" when every paired ratio is <= target; "missed" when every one is above it; "within noise
    of 1.0" when the pairs straddle 1.0 (the runs cannot tell the two loops apart); "inconclusive" otherwise.
    """
    low, high = min(paired), max(paired)
    if low <= 1.0 <= high:
        verdict = "within noise of 1.0"
    elif high <= target:
        verdict = "met"
    elif low > target:
        verdict = "missed"
    else:
        verdict = "inconclusive"
    return {
        "paired_ratios": paired,
        "paired_ratio_median": statistics.median(paired),
        "paired_ratio_min": low,
        "paired_ratio_max": high,
        "verdict": verdict,
        "target_met": verdict == "met",
    }


def summarize(results: ResultFile, variants: list[Variant], repeats: int) -> tuple[dict[str, Any], str]:
    stats = {v: variant_stats([results.unit(f"{v}/{r}") for r in range(repeats)]) for v in variants}
    ratio_table = {v: ratios(stats[v], stats["plain"]) for v in variants}
    # repetition r of every variant ran back to back (alternating), so lightning_r / plain_r pairs runs that saw
    # the same machine state; their spread is the noise the median ratio must be read against
    paired = [
        results.unit(f"lightning/{r}")["total_cpu_s"] / results.unit(f"plain/{r}")["total_cpu_s"] for r in range(repeats)
    ]
    summary: dict[str, Any] = {
        "ratio": ratio_table["lightning"]["cpu_median"],
        "ratio_wall": ratio_table["lightning"]["wall_median"],
        "ratio_definition": "lightning / plain, median over repetitions of the total CPU time of the process "
        "(ratio_wall: of the wall time); warm-up excluded",
        "target_ratio": TARGET_RATIO,
        **noise_verdict(paired, TARGET_RATIO),
        "ratios": ratio_table,
        "variants": stats,
        "max_abs_weight_diff_vs_plain": {
            v: max(results.unit(f"{v}/{r}")["max_abs_weight_diff_vs_plain"] for r in range(repeats))
            for v in variants
        },
        "loadavg_1min": [results.unit(f"{v}/{r}")["loadavg_1min"] for r in range(repeats) for v in variants],
    }
    header = [
        "variant",
        "CPU total, median (s)",
        "ratio (CPU medians)",
        "ratio (CPU mins)",
        "wall total, median (s)",
        "ratio (wall medians)",
        "iteration CPU median (ms)",
        "per-iteration overhead, CPU (ms)",
        "CPU totals per repetition (s)",
        "wall totals per repetition (s)",
    ]
    rows = [
        [
            v,
            stats[v]["cpu"]["total_median_s"],
            ratio_table[v]["cpu_median"],
            ratio_table[v]["cpu_min"],
            stats[v]["wall"]["total_median_s"],
            ratio_table[v]["wall_median"],
            stats[v]["cpu"]["iteration_median_of_medians_ms"],
            ratio_table[v]["cpu_iteration_overhead_ms"],
            " ".join(f"{t:.2f}" for t in stats[v]["cpu"]["total_s"]),
            " ".join(f"{t:.2f}" for t in stats[v]["wall"]["total_s"]),
        ]
        for v in variants
    ]
    cfg = results.config
    env = results.unit("plain/0")["environment"]
    loads = summary["loadavg_1min"]
    md = (
        "# Overhead: plain PyTorch loop vs lightning-gen + Trainer\n\n"
        f"DCGAN of configs/dcgan_digits.yaml on the scikit-learn digits (32x32, batch {SETTINGS['batch_size']}), "
        f"{cfg['steps']} iterations per run, {repeats} alternating repetitions after an untimed warm-up, "
        f"torch threads {cfg['threads']}; {env['hardware']} ({results.unit('plain/0')['cpu_model']}), torch {env['torch']}; "
        f"1-minute load average during the runs {min(loads):.1f}-{max(loads):.1f} (shared machine).\n\n"
        + markdown_table(header, rows)
        + f"\nRatio `lightning`/`plain` (medians of total CPU time): **{summary['ratio']:.4f}**; "
        f"paired per-repetition ratios {summary['paired_ratio_min']:.3f}-{summary['paired_ratio_max']:.3f} "
        f"(median {summary['paired_ratio_median']:.3f}). Verdict against the target <= {TARGET_RATIO}: "
        f"**{summary['verdict']}**. Of wall time: "
        f"{summary['ratio_wall']:.4f}. Largest |difference| of the final weights (G, D, EMA G) vs plain: "
        + ", ".join(f"{v} {d:.3g}" for v, d in summary["max_abs_weight_diff_vs_plain"].items())
        + ".\n"
    )
    return summary, md


# ---------------------------------------------------------------------------------------------- entry point
def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks overhead", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (few iterations, 2 repetitions)")
    parser.add_argument(
        "--steps", type=int, default=None, help="GAN iterations per run (default 120; quick 3)"
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed repetitions per variant (default 5; quick 2)"
    )
    parser.add_argument(
        "--warmup", type=int, default=None, help="iterations of the untimed warm-up (default 10; quick 1)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    args = parser.parse_args(argv)
    for name, quick, full in (("steps", 3, 120), ("repeats", 2, 5), ("warmup", 1, 10)):
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    for name in ("steps", "repeats", "warmup", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.steps < 2:
        parser.error("--steps must be >= 2 (the first iteration is excluded from the per-iteration median)")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    variants = list(VARIANTS)
    limit = 128 if args.quick else None  # quick: 2 batches per epoch, so 3 iterations cross an epoch boundary
    config = {
        "steps": args.steps,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "threads": args.threads,
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in SETTINGS.items()},
        "data": "scikit-learn digits (DigitsDataModule, 32x32)",
        "train_items_limit": limit,
        "variants": variants,
        "trainer_lean": "logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False",
        "trainer_common": "accelerator=cpu, devices=1, max_steps=2*steps, limit_val_batches=0, num_sanity_val_steps=0",
    }
    results = ResultFile("overhead", config, quick=args.quick)
    todo = [(r, v) for r in range(args.repeats) for v in variants if not results.done(f"{v}/{r}")]
    if todo:
        for v in variants:  # untimed warm-up: first-call costs (allocator, kernels, imports inside Lightning)
            run_variant(v, args.warmup, limit)
    reference: torch.Tensor | None = None  # final plain weights: every run starts from the same seeds
    for r, v in todo:
        if v != "plain" and reference is None:  # resumed after the plain runs: recompute them, untimed
            reference = run_plain(args.steps, limit).final_state
        run = run_variant(v, args.steps, limit)
        record = {
            **run.record(),
            "repetition": r,
            "loadavg_1min": os.getloadavg()[0],
            "cpu_model": cpu_model(),
        }
        if reference is None:
            reference = run.final_state
        record["max_abs_weight_diff_vs_plain"] = float((run.final_state - reference).abs().max())
        results.add(f"{v}/{r}", record)
        print(
            f"{v:>18} rep {r}: CPU {record['total_cpu_s']:.2f} s (iteration {record['iteration_cpu_median_ms']:.1f} ms), "
            f"wall {record['total_s']:.2f} s",
            flush=True,
        )
    summary, md = summarize(results, variants, args.repeats)
    results.set_summary(summary, md)
    print(md)
    return 0
