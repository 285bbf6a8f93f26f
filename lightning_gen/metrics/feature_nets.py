"""Feature networks for IS / FID / KID / precision-recall, loaded offline.

``load_feature_network(spec)``:

- ``"mnist"`` / ``"cifar10"``: the classifiers this project trains on real data
  (:mod:`lightning_gen.metrics.train_feature_net`), shipped in ``lightning_gen/assets/`` as safetensors; the
  file's sha256 is checked against ``assets/feature_nets.json``, which also records the training command,
  the data split and the held-out accuracy.
- ``"inception:PATH"``: the standard FID Inception-v3 (Heusel et al., 2017) from a local weights file such
  as ``pt_inception-2015-12-05-6726825d.pth``, through torch-fidelity's ``FeatureExtractorInceptionV3``
  (what torchmetrics uses). Nothing is downloaded: a missing file or a missing torch-fidelity is an error
  that says so.

The returned :class:`FeatureNetwork` takes images in [-1, 1] (the library's convention) and gives
``features(x)`` (penultimate activations / Inception pool3, 2048-d) and ``logits(x)`` (for the Inception
Score). Numbers made with different feature networks are not comparable; results name theirs.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from lightning_gen.nn.spec import build_network
from lightning_gen.utils.validation import check_choice

__all__ = [
    "ASSETS",
    "FeatureNetwork",
    "FeatureOutput",
    "ProjectFeatureNet",
    "asset_info",
    "load_feature_network",
    "mnist_feature_split",
    "sha256_file",
]

ASSETS = Path(str(resources.files("lightning_gen") / "assets"))
INFO_FILE = "feature_nets.json"
ProjectFeatureNet = Literal["mnist", "cifar10"]
FeatureOutput = Literal["features", "logits"]


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def asset_info(assets: Path = ASSETS) -> dict[str, Any]:
    """The contents of ``assets/feature_nets.json`` ({} when absent)."""
    path = assets / INFO_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def mnist_feature_split(num_items: int = 10_000, num_held_out: int = 2_000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, held-out) indices into the MNIST t10k split used for the MNIST feature network.

    A seeded permutation: the last ``num_held_out`` indices are never seen in training, so the held-out
    accuracy and the real-data sanity numbers (IS of real digits) use them.
    """
    permutation = torch.randperm(num_items, generator=torch.Generator().manual_seed(seed))
    return permutation[: num_items - num_held_out].sort().values, permutation[num_items - num_held_out :].sort().values


class FeatureNetwork(nn.Module):
    """A frozen, eval-mode feature network on [-1, 1] images.

    ``output`` selects what ``forward`` returns, so a torchmetrics metric (which calls ``feature(imgs)``)
    gets features (FID / KID / precision-recall) or logits (Inception Score). ``num_features`` is set,
    so torchmetrics needs no dummy forward pass.
    """

    def __init__(self, net: nn.Module, name: str, output: FeatureOutput = "features", num_features: int | None = None) -> None:
        super().__init__()
        check_choice("output", output, FeatureOutput)
        self.net = net.eval().requires_grad_(False)
        self.name = name
        self.output = output
        dim = num_features if num_features is not None else getattr(net, "num_features", None)
        if output == "logits":
            dim = getattr(net, "num_classes", None) if num_features is None else num_features
        if dim is None:
            raise ValueError(f"Feature network {name!r} does not expose num_features/num_classes; pass num_features.")
        self.num_features = int(dim)

    def train(self, mode: bool = True) -> FeatureNetwork:  # always eval: BatchNorm/Dropout frozen
        return super().train(False)

    def with_output(self, output: FeatureOutput) -> FeatureNetwork:
        """The same network returning ``output`` (weights shared)."""
        return FeatureNetwork(self.net, self.name, output)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        images = images.float()
        return self.net.features(images) if self.output == "features" else self.net(images)


class _InceptionAdapter(nn.Module):
    """torch-fidelity's Inception-v3 behind the ``features`` / ``__call__`` (logits) interface."""

    num_classes = 1008

    def __init__(self, path: Path) -> None:
        super().__init__()
        try:
            from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
        except ImportError as err:
            raise ValueError(
                "--feature-net inception:PATH needs torch-fidelity (pip install torch-fidelity) to build the FID "
                f"Inception-v3 around the weights file {path}."
            ) from err
        self.num_features = 2048
        self.model = FeatureExtractorInceptionV3(
            "inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=str(path)
        )

    def _run(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        uint8 = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)  # the extractor takes uint8
        pool, logits = self.model(uint8)
        return pool, logits

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self._run(images)[0]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self._run(images)[1]


def _load_project_net(name: ProjectFeatureNet, assets: Path) -> nn.Module:
    from safetensors.torch import load_file

    info = asset_info(assets).get(name)
    if info is None:
        raise FileNotFoundError(
            f"No trained '{name}' feature network in {assets} ({INFO_FILE} has no entry). Train it with "
            f"`python -m lightning_gen.metrics.train_feature_net {name} ...` (see docs/results/evaluation.md)."
        )
    path = assets / info["file"]
    if not path.is_file():
        raise FileNotFoundError(f"Feature network weights {path} are missing; retrain with: {info.get('command', '?')}")
    digest = sha256_file(path)
    if digest != info["sha256"]:
        raise ValueError(f"{path} has sha256 {digest}, but {INFO_FILE} records {info['sha256']}; the file is corrupt or stale.")
    net = build_network({"class_path": info["class_path"], "init_args": info["init_args"]}, name)
    net.load_state_dict(load_file(str(path)))
    return net


def load_feature_network(spec: str, output: FeatureOutput = "features", assets: Path = ASSETS) -> FeatureNetwork:
    """``"mnist"``, ``"cifar10"`` or ``"inception:PATH"`` -> a :class:`FeatureNetwork` (never downloads).

    Raises:
        FileNotFoundError: the weights file is missing (named in the message, with how to get it).
        ValueError: an unknown spec, a checksum mismatch, or torch-fidelity missing for ``inception:``.
    """
    if spec.startswith("inception:"):
        path = Path(spec.split(":", 1)[1]).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"FID Inception weights not found: {path}. This project never downloads them: get "
                "pt_inception-2015-12-05-6726825d.pth (the weights torch-fidelity / pytorch-fid use) on a machine "
                "with internet access and pass its local path as inception:PATH."
            )
        return FeatureNetwork(_InceptionAdapter(path), f"inception-v3 ({path.name})", output)
    if spec not in ("mnist", "cifar10"):
        raise ValueError(f"--feature-net {spec!r} is not supported; choose one of: 'mnist', 'cifar10', 'inception:PATH'.")
    return FeatureNetwork(_load_project_net(spec, assets), f"lightning-gen {spec} classifier", output)  # type: ignore[arg-type]
