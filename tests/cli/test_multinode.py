"""Multi-node training: two torchrun "nodes" (node ranks 0 and 1) on this machine, gloo, one process each,
running a real `lightning-gen fit --trainer.num_nodes 2` (Lightning picks the torchrun environment up)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import torch

from tests.conftest import REPO_ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_node_ranks_on_localhost(tmp_path):
    dump, port = tmp_path / "weights", _free_port()
    fit = ["-m", "lightning_gen", "fit", "--config", str(REPO_ROOT / "configs" / "dcgan_digits.yaml"),
           "--trainer.num_nodes", "2", "--trainer.devices", "1", "--trainer.accelerator", "cpu",
           "--trainer.strategy", "ddp_find_unused_parameters_true", "--trainer.max_steps", "4", "--trainer.limit_val_batches", "0",
           "--trainer.num_sanity_val_steps", "0", "--trainer.logger", "false", "--trainer.enable_progress_bar",
           "false", "--data.init_args.batch_size", "8", "--trainer.default_root_dir", str(tmp_path / "run"),
           "--trainer.callbacks+=tests.helpers.DumpWeights", f"--trainer.callbacks.dirpath={dump}"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    nodes = [
        subprocess.Popen(
            [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
             "--node-rank", str(rank), "--master-addr", "127.0.0.1", "--master-port", str(port), *fit],
            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for rank in (0, 1)
    ]
    try:
        outputs = [node.communicate(timeout=300)[0] for node in nodes]
    finally:
        for node in nodes:
            if node.poll() is None:
                node.kill()
    for node, output in zip(nodes, outputs, strict=True):
        assert node.returncode == 0, output[-3000:]
    text = "\n".join(outputs)
    assert "GLOBAL_RANK: 0, MEMBER: 1/2" in text and "GLOBAL_RANK: 1, MEMBER: 2/2" in text
    r0, r1 = torch.load(dump / "rank0.pt"), torch.load(dump / "rank1.pt")
    assert torch.equal(r0, r1)  # one gradient all-reduce across the two nodes: both hold the same weights
    [ckpt] = list((tmp_path / "run").rglob("last.ckpt"))  # written once, by global rank 0
    assert torch.load(ckpt, weights_only=True)["global_step"] == 4
