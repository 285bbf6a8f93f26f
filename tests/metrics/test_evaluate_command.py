"""``lightning-gen evaluate`` on a dcgan_mnist checkpoint trained on real MNIST by the CLI."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pytest

from lightning_gen.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dcgan_mnist_ckpt(mnist_root, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("dcgan_mnist")
    main(["fit", "--config", str(REPO / "configs" / "dcgan_mnist.yaml"), "--data.root", str(mnist_root),
          "--data.batch_size", "16", "--data.limit", "64", "--trainer.max_steps", "4", "--trainer.limit_val_batches", "1",
          "--trainer.logger", "false", f"--trainer.default_root_dir={out}"])  # fmt: skip
    (ckpt,) = glob.glob(str(out / "**" / "last.ckpt"), recursive=True)
    return ckpt


@pytest.mark.shared_data
def test_evaluate_prints_a_table_and_writes_json(dcgan_mnist_ckpt, mnist_root, tmp_path, capsys):
    out = tmp_path / "results.json"
    code = main(["evaluate", "--ckpt", dcgan_mnist_ckpt, "--data", f"mnist:{mnist_root}", "--metrics", "fid,kid,is,pr",
                 "--num-samples", "200", "--out", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    for key in ("fid", "kid_mean", "kid_std", "is_mean", "is_std", "precision", "recall"):
        assert key in printed
    report = json.loads(out.read_text())
    assert report["model"] == "GAN" and report["num_samples"] == 200 and report["num_real"] == 200
    assert report["feature_net"] == "lightning-gen mnist classifier"
    values = report["metrics"]
    assert values["fid"] > 0 and 1.0 <= values["is_mean"] <= 10.0 and 0 <= values["precision"] <= 1
    # an IS-only evaluation needs no real data; bad options are errors that name the problem
    assert main(["evaluate", "--ckpt", dcgan_mnist_ckpt, "--data", "mnist:/nowhere", "--metrics", "is", "--num-samples", "20"]) == 0
    assert main(["evaluate", "--ckpt", dcgan_mnist_ckpt, "--data", "mnist:/nowhere", "--metrics", "fid", "--num-samples", "20"]) == 2
    assert "MNIST test split" in capsys.readouterr().err
    assert main(["evaluate", "--ckpt", dcgan_mnist_ckpt, "--data", "folder:/x", "--num-samples", "20"]) == 2
    assert "--feature-net" in capsys.readouterr().err
    assert main(["evaluate", "--ckpt", dcgan_mnist_ckpt, "--data", f"mnist:{mnist_root}", "--metrics", "fid,lpips"]) == 2
    missing = main(["evaluate", "--ckpt", dcgan_mnist_ckpt, "--data", f"mnist:{mnist_root}",
                    "--feature-net", "inception:/nowhere/pt_inception-2015-12-05-6726825d.pth", "--num-samples", "20"])  # fmt: skip
    assert missing == 2 and "pt_inception-2015-12-05-6726825d.pth" in capsys.readouterr().err
