"""Checkpoint -> samples: the one path that the CLI, notebooks and users call.

>>> from lightning_gen.sampling import load_model, save_samples
>>> model = load_model("last.ckpt")            # any lightning-gen checkpoint, no YAML needed
>>> images = model.sample(16, seed=0)           # (16, C, H, W) in [-1, 1]
>>> save_samples(images, "samples.png")        # a grid (or a folder of PNGs)
>>> save_samples(images, "samples.npy")        # raw values (.pt, .npy, .csv), for any model

2-D samples (the toy mixtures) become a scatter plot, with the data's modes when the checkpoint records them
(:func:`data_modes`). Checkpoints are read weights-only (:func:`read_checkpoint_safely`).
"""

from __future__ import annotations

import inspect
import json
import pickle
import re
from pathlib import Path
from typing import Any

import torch

from lightning_gen.models.base import GenerativeModule, read_checkpoint_info
from lightning_gen.nn.spec import resolve_class_path
from lightning_gen.utils.images import save_grid
from lightning_gen.utils.scatter import save_scatter

__all__ = [
    "EXPORT_DESCRIPTION",
    "EXPORT_FORMAT",
    "EXPORT_WEIGHTS",
    "RAW_SUFFIXES",
    "data_modes",
    "load_export",
    "load_model",
    "read_checkpoint_safely",
    "sample_chain",
    "sample_options",
    "save_samples",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
#: ``lightning-gen export``'s folder: a JSON description and the weights (no pickle anywhere)
EXPORT_FORMAT = "lightning-gen-export/1"
EXPORT_DESCRIPTION = "lightning_gen.json"
EXPORT_WEIGHTS = "model.safetensors"
#: files that hold the raw sample values: a tensor (torch.save), a NumPy array, comma-separated rows
RAW_SUFFIXES = (".pt", ".npy", ".csv")


def read_checkpoint_safely(path: str | Path) -> dict[str, Any]:
    """``torch.load(path, weights_only=True)``: tensors, numbers, strings and plain containers only, so that
    loading a file can never run code (full unpickling runs whatever ``__reduce__`` a file carries).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file holds other objects (names the first one) or is not a PyTorch checkpoint.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"Checkpoint not found: {path}")
    try:
        return torch.load(path, weights_only=True, map_location="cpu", mmap=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(err))
        what = f"a reference to {found.group(1)}" if found else "an object"
        raise ValueError(
            f"Refusing to load checkpoint {path}: it holds {what}, which weights-only loading does not allow. "
            "lightning-gen reads checkpoints with torch.load(weights_only=True), which restores only "
            "tensors and plain values, because unpickling anything else can run code. Checkpoints written by "
            "lightning-gen never need more; this file was written by something else or altered. Load only "
            "files you trust; see 'Loading checkpoints safely' in README.md."
        ) from err
    except (RuntimeError, OSError, EOFError) as err:
        raise ValueError(f"{path} is not a readable PyTorch checkpoint ({type(err).__name__}: {err}).") from err


def data_modes(ckpt: str | Path) -> torch.Tensor | None:
    """The (K, D) mode centers of the training data, where the checkpoint records them, else None.

    Lightning stores a datamodule's ``state_dict()`` in the checkpoint under the datamodule's class name;
    datamodules that know their modes (:class:`~lightning_gen.data.ToyDataModule`) put them there as
    ``{"modes": (K, D) tensor, ...}``. ``ckpt`` may be an export folder (the modes are in its JSON)."""
    if Path(ckpt).is_dir():  # an export: its description carries them
        modes = json.loads((Path(ckpt) / EXPORT_DESCRIPTION).read_text()).get("data_modes")
        return torch.tensor(modes) if modes else None
    checkpoint = read_checkpoint_safely(ckpt)
    for value in checkpoint.values():
        if isinstance(value, dict) and isinstance(value.get("modes"), torch.Tensor) and value["modes"].dim() == 2:
            return value["modes"]
    return None


def load_model(ckpt: str | Path, map_location: str | torch.device = "cpu") -> GenerativeModule:
    """Rebuild the model of a lightning-gen checkpoint (class, networks, weights, EMA) in eval mode; ``ckpt``
    may also be a folder written by ``lightning-gen export`` (:func:`load_export`).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a lightning-gen checkpoint, or its model class cannot be imported.
    """
    if Path(ckpt).is_dir():
        return load_export(ckpt, map_location=map_location)
    info = read_checkpoint_info(ckpt)
    cls = _model_class(info.get("model", ""), ckpt)
    model = cls.load_from_checkpoint(ckpt, map_location=map_location)
    return model.eval()


def load_export(directory: str | Path, map_location: str | torch.device = "cpu") -> GenerativeModule:
    """The model of a ``lightning-gen export`` folder: built from its JSON description, weights from
    safetensors (nothing is unpickled). Each averaged network and its EMA copy both hold the exported
    average, so ``sample`` gives what the checkpoint's EMA network gives for the same seed.

    Raises:
        FileNotFoundError: the folder lacks the export's files.
        ValueError: another format, or the weights do not fit the described networks.
    """
    from safetensors.torch import load_file

    from lightning_gen.nn.ema import EMA
    from lightning_gen.nn.spec import build_network

    directory = Path(directory)
    described, weights = directory / EXPORT_DESCRIPTION, directory / EXPORT_WEIGHTS
    for path in (described, weights):
        if not path.is_file():
            raise FileNotFoundError(f"{directory} is not a lightning-gen export: {path.name} is missing. Write one "
                                    "with `lightning-gen export --ckpt CKPT --out DIR`.")
    meta = json.loads(described.read_text())
    if meta.get("format") != EXPORT_FORMAT:
        raise ValueError(f"{described} has format {meta.get('format')!r}; this version reads {EXPORT_FORMAT!r}.")
    cls = _model_class(meta["model"], directory)
    networks = {name: build_network(spec, name) for name, spec in meta["networks"].items()}
    signature = inspect.signature(cls.__init__).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.values())
    hparams = {k: v for k, v in meta["hyper_parameters"].items() if takes_any or k in signature}
    model = cls(**networks, **hparams)
    state = {**load_file(weights), **meta.get("extra_state", {})}  # extra states: a trained tower's tokenizer
    ema_children = {name for name, module in model.named_children() if isinstance(module, EMA)}
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if k.split(".", 1)[0] not in ema_children]
    if missing or result.unexpected_keys:
        raise ValueError(f"{weights} does not fit {meta['model']}: missing {missing[:5]}, unexpected "
                         f"{result.unexpected_keys[:5]}.")
    for ema, network in model.averaged_networks().items():  # each average is what the export holds
        getattr(model, ema).shadow.load_state_dict(getattr(model, network).state_dict())
    return model.to(map_location).eval()


def _model_class(class_path: str, source: str | Path) -> type[GenerativeModule]:
    try:
        cls = resolve_class_path(class_path)
    except (ImportError, AttributeError, ValueError) as err:
        raise ValueError(
            f"{source} was written by model class {class_path!r}, which this installation cannot import ({err}). "
            "Install the lightning-gen version that wrote it."
        ) from err
    if not (isinstance(cls, type) and issubclass(cls, GenerativeModule)):
        raise ValueError(f"{source} names {class_path!r}, which is not a lightning-gen model class.")
    return cls


def sample_options(model: GenerativeModule, **options: Any) -> dict[str, Any]:
    """Keep the options that were set (not None) and check that ``model.sample`` takes each of them.

    Raises:
        ValueError: an option does not apply to this kind of model (names the option and the model).
    """
    given = {k: v for k, v in options.items() if v is not None}
    accepted = inspect.signature(model.sample).parameters
    for key in given:
        if key not in accepted:
            flag = "--" + key.replace("_", "-")
            usable = sorted("--" + k.replace("_", "-") for k in accepted if k not in ("num", "batch_size"))
            raise ValueError(
                f"{flag} does not apply to a {type(model).__name__} checkpoint; its sampling options are: "
                f"{', '.join(usable)}."
            )
    return given


def sample_chain(
    models: list[GenerativeModule],
    num: int,
    *,
    seed: int | None = 0,
    use_ema: bool = True,
    labels: torch.Tensor | int | None = None,
    sampler: str | None = None,
    steps: int | None = None,
    eta: float | None = None,
    guidance_scale: float | None = None,
    truncation: float | None = None,
    prompts: list[str] | None = None,
    dynamic_threshold: float | None = None,
) -> torch.Tensor:
    """Cascaded sampling (Ho et al., 2021): ``models[0].sample`` then each later stage in turn.

    The chaining rule: a stage with ``chain_from(previous, outputs, *, prompts, seed, use_ema, sampler, steps,
    eta)`` takes what the stage before it produced (an unCLIP decoder after its prior: CLIP image embeddings,
    Ramesh et al. 2022) and checks that it fits that stage; the stages after those are super-resolution
    stages (:func:`lightning_gen.diffusion.cascade.upsample_chain`). Base-model options (labels, guidance,
    truncation ...) go to the first model only; ``prompts`` to the first model and to every ``chain_from``
    stage; sampler/steps/eta to every diffusion stage. Stage i (from 0) is seeded with ``seed + i``.
    Text-conditional super-resolution stages (Imagen, Saharia et al. 2022) also get each image's prompt and
    ``guidance_scale`` / ``dynamic_threshold`` (Imagen's dynamic thresholding percentile).
    """
    from lightning_gen.diffusion.cascade import upsample_chain

    if not models:
        raise ValueError("sample_chain needs at least one model.")
    base, *stages = models
    options = sample_options(
        base, labels=labels, sampler=sampler, steps=steps, eta=eta, guidance_scale=guidance_scale, truncation=truncation,
        prompts=prompts, dynamic_threshold=dynamic_threshold,
    )
    images = base.sample(num, seed=seed, use_ema=use_ema, **options)
    previous, offset = base, 0
    while stages and hasattr(stages[0], "chain_from"):
        stage, offset = stages.pop(0), offset + 1
        shared = {k: v for k, v in {"sampler": sampler, "steps": steps, "eta": eta}.items() if v is not None}
        images = stage.chain_from(
            previous, images.to(stage.device), prompts=prompts, seed=None if seed is None else seed + offset,
            use_ema=use_ema, **shared,
        )
        previous = stage
    stage_seed = None if seed is None else seed + offset
    return upsample_chain(
        stages, images, seed=stage_seed, use_ema=use_ema, sampler=sampler, steps=steps, eta=eta, prompts=prompts,
        guidance_scale=guidance_scale, dynamic_threshold=dynamic_threshold,
    )


def save_samples(
    samples: torch.Tensor, out: str | Path, nrow: int | None = None, modes: torch.Tensor | None = None
) -> list[Path]:
    """Write samples by the suffix of ``out``:

    - ``.pt`` / ``.npy`` / ``.csv``: the raw values of any model (``.csv``: one sample per row, flattened);
    - ``.png`` / ``.jpg``: a grid of (N, C, H, W) images in [-1, 1], or a scatter plot of (N, 2) points with
      ``modes`` (K, 2) marked when given;
    - no suffix: a folder with one PNG per image.

    Raises:
        ValueError: the samples cannot be written that way (says which output would work).
    """
    out = Path(out)
    suffix = out.suffix.lower()
    samples = samples.detach().cpu()
    if suffix in RAW_SUFFIXES:
        return [_save_raw(samples, out, suffix)]
    if samples.dim() == 2 and (suffix in IMAGE_SUFFIXES or not suffix):
        if not suffix:
            raise ValueError(
                f"Samples of shape {tuple(samples.shape)} are vectors, not images: write one file, "
                "FILE.png (a scatter plot of 2-D points) or FILE.pt / .npy / .csv (raw values)."
            )
        return [save_scatter(samples, out, modes=modes)]
    if samples.dim() != 4:
        raise ValueError(
            f"Expected images of shape (N, C, H, W) or 2-D points (N, 2), got {tuple(samples.shape)}; write the raw "
            "samples instead (--out FILE.pt, .npy or .csv)."
        )
    if suffix in IMAGE_SUFFIXES:
        return [save_grid(samples, out, nrow=nrow or _square_rows(samples.shape[0]))]
    out.mkdir(parents=True, exist_ok=True)
    return [save_grid(img[None], out / f"{i:06d}.png", nrow=1, padding=0) for i, img in enumerate(samples)]


def _save_raw(samples: torch.Tensor, out: Path, suffix: str) -> Path:
    import numpy as np

    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".pt":
        torch.save(samples.clone(), out)  # a plain tensor: loads with torch.load(weights_only=True)
    elif suffix == ".npy":
        np.save(out, samples.float().numpy())
    else:
        rows = samples.float().reshape(samples.shape[0], -1).numpy()
        header = ",".join(f"x{i}" for i in range(rows.shape[1]))
        np.savetxt(out, rows, delimiter=",", header=header, comments="", fmt="%.7g")
    return out


def _square_rows(n: int) -> int:
    import math

    return max(1, math.ceil(math.sqrt(n)))
