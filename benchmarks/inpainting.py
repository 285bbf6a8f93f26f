"""Inpainting real MNIST digits with the unconditional ddpm_mnist model (RePaint) vs a blur-fill baseline.

Inputs: the first N of the 2,000 t10k digits held out from the MNIST feature network. Masks: ``center``
(the central 14x14 square) and ``random`` (three random rectangles), seeded. Methods: RePaint (Lugmayr
et al., 2022) through ``DDPM.inpaint`` with a reduced budget (stated in the result), and a classic
baseline: blur fill (harmonic in-filling: start from the mean of the known pixels, then repeatedly
replace the missing pixels by their 3x3 neighbourhood mean). Scores: MSE on the missing pixels only
(images in [0, 1]) and FID / IS of the completed images against the other held-out digits, with the
project's MNIST feature network. Lower MSE is not the goal of a generative in-filler (a plausible digit
can differ from the true one); FID measures plausibility.

    python -m benchmarks inpainting [--quick] [--ckpt PATH] [--num-images N] [--steps S --jumps J --resample R]

Without ``--ckpt`` the model is the ``ddpm_mnist`` run of :mod:`benchmarks.diffusion_runs`, trained or resumed
first when missing (``--quick``: a tiny one, trained in seconds).
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from benchmarks.common import ResultFile, markdown_table
from benchmarks.diffusion_nfe import checkpoint_facts, real_digits, score
from benchmarks.diffusion_runs import ensure_checkpoint
from lightning_gen.diffusion import preset_mask
from lightning_gen.metrics import load_feature_network
from lightning_gen.sampling import load_model
from lightning_gen.utils.images import to_unit

NAME = "inpainting"
MASKS = ("center", "random")


def blur_fill(images: torch.Tensor, mask: torch.Tensor, iterations: int = 200) -> torch.Tensor:
    """Harmonic in-filling baseline: missing pixels relax to the average of their neighbours."""
    known_mean = (images * mask).sum(dim=(2, 3), keepdim=True) / mask.sum(dim=(2, 3), keepdim=True).clamp(
        min=1
    )
    x = torch.where(mask.bool(), images, known_mean.expand_as(images))
    for _ in range(iterations):
        blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
        x = torch.where(mask.bool(), images, blurred)
    return x


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> float:
    missing = (1 - mask).expand_as(target)
    return float(((to_unit(pred) - to_unit(target)) ** 2 * missing).sum() / missing.sum())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks {NAME}")
    parser.add_argument("--quick", action="store_true", help="4 images, 4 RePaint steps")
    parser.add_argument(
        "--ckpt", default=None, help="default: the ddpm_mnist run under benchmarks/work/runs (trained if missing)"
    )
    parser.add_argument("--num-images", type=int, default=100)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--jumps", type=int, default=5)
    parser.add_argument("--resample", type=int, default=3)
    args = parser.parse_args(argv)
    num, steps = (4, 4) if args.quick else (args.num_images, args.steps)
    jumps, resample = (2, 2) if args.quick else (args.jumps, args.resample)
    args.ckpt = args.ckpt or str(ensure_checkpoint("ddpm_mnist", quick=args.quick))
    model = load_model(args.ckpt)
    held_out, _ = real_digits()
    inputs, reference = held_out[:num], held_out[num:]
    features = load_feature_network("mnist")
    config = {"checkpoint": checkpoint_facts(args.ckpt), "num_images": num, "repaint": {"steps": steps, "jumps": jumps,
              "resample": resample}, "reference": f"{reference.shape[0]} other held-out t10k digits"}  # fmt: skip
    result = ResultFile(NAME, config, quick=args.quick)
    for mask_name in MASKS:
        mask = preset_mask(mask_name, num, inputs.shape[-1], torch.Generator().manual_seed(0))
        for method in ("repaint", "blur_fill"):
            key = f"{mask_name}/{method}"
            if result.done(key):
                continue
            start = time.perf_counter()
            if method == "repaint":
                out = model.inpaint(
                    inputs, mask, seed=0, steps=steps, jumps=jumps, resample=resample, progress=False
                )
            else:
                out = blur_fill(inputs, mask)
            wall = time.perf_counter() - start
            metrics = score(reference, out, features, names=("fid", "kid", "is"))
            result.add(key, {"mask": mask_name, "method": method, "masked_mse": masked_mse(out, inputs, mask),
                             "missing_fraction": float(1 - mask.mean()), **metrics, "wall_s": round(wall, 1)})  # fmt: skip
            print(key, result.unit(key)["masked_mse"], result.unit(key)["fid"], flush=True)
    units = result.units
    summary = {m: {"repaint_fid": units[f"{m}/repaint"]["fid"], "blur_fill_fid": units[f"{m}/blur_fill"]["fid"],
                   "repaint_mse": units[f"{m}/repaint"]["masked_mse"], "blur_fill_mse": units[f"{m}/blur_fill"]["masked_mse"]}
               for m in MASKS}  # fmt: skip
    env = next(iter(units.values()))["environment"]
    rows = [[u["mask"], u["method"], u["missing_fraction"], u["masked_mse"], u["fid"], u["kid_mean"], u["is_mean"], u["wall_s"]]
            for u in units.values()]  # fmt: skip
    markdown = (
        f"# {NAME}\n\nCheckpoint {config['checkpoint']['checkpoint']} ({config['checkpoint']['global_step']} training "
        f"steps); {num} real held-out MNIST t10k digits; RePaint with {steps} steps, jump length {jumps}, {resample} "
        f"resamplings; FID/IS with the MNIST feature network vs {config['reference']}. Hardware: {env['hardware']}.\n\n"
        + markdown_table(["mask", "method", "missing", "masked MSE", "FID", "KID", "IS", "wall s"], rows)
    )
    result.set_summary(summary, markdown)
    print(markdown)
    return 0
