"""configs/clip_*.yaml run on the real data of ../shared/data, and `lightning-gen evaluate` reads the result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightning_gen.cli import main
from tests.conftest import REPO_ROOT

CONFIGS = REPO_ROOT / "configs"


@pytest.mark.parametrize("name", ["clip_mnist", "clip_cifar10"])
def test_fast_dev_run_on_real_data(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    root = request.getfixturevalue("mnist_root" if "mnist" in name else "cifar_root")
    main(["fit", "--config", str(CONFIGS / f"{name}.yaml"), "--trainer.fast_dev_run", "true",
          "--trainer.default_root_dir", str(tmp_path), "--data.init_args.root", str(root),
          "--data.init_args.batch_size", "16"])  # fmt: skip


def test_short_run_then_evaluate_zero_shot_retrieval_and_probe(mnist_root: Path, tmp_path: Path, capsys) -> None:
    main(["fit", "--config", str(CONFIGS / "clip_mnist.yaml"), "--trainer.max_steps", "2",
          "--trainer.limit_val_batches", "1", "--trainer.num_sanity_val_steps", "0", "--trainer.val_check_interval", "1",
          "--trainer.default_root_dir", str(tmp_path), "--data.init_args.root", str(mnist_root),
          "--data.init_args.batch_size", "16", "--data.init_args.limit", "64"])  # fmt: skip
    ckpt = next(tmp_path.rglob("last.ckpt"))
    out = tmp_path / "eval.json"
    code = main(["evaluate", "--ckpt", str(ckpt), "--data", f"mnist:{mnist_root}", "--num-samples", "200",
                 "--metrics", "zeroshot,retrieval,linear_probe", "--out", str(out)])  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text())
    assert report["heldout_templates"] == [8, 9] and report["num_images"] == 200
    metrics = report["metrics"]
    for key in ("zeroshot_seen_top1", "zeroshot_heldout_top5", "retrieval_seen_image_to_text_R@1",
                "retrieval_heldout_text_to_image_R@5", "linear_probe"):  # fmt: skip
        assert 0.0 <= metrics[key] <= 1.0, key
    assert "zeroshot_seen_top1" in capsys.readouterr().out
    assert main(["evaluate", "--ckpt", str(ckpt), "--data", f"mnist:{mnist_root}", "--metrics", "fid"]) == 2
    assert "Unknown CLIP metric(s) ['fid']; choose from zeroshot, retrieval, linear_probe" in capsys.readouterr().err
