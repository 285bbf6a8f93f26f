"""A preempted job: SIGTERM to a real `lightning-gen fit` writes last.ckpt and exits; `--ckpt_path last` resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import lightning.pytorch as pl
import pytest
import torch

from lightning_gen.callbacks import PreemptionCheckpoint
from lightning_gen.cli import SIGTERM_EXIT_CODE, main
from lightning_gen.data import DigitsDataModule
from lightning_gen.models import GAN
from tests.conftest import REPO_ROOT
from tests.helpers import tiny_dcgan, trainer

# batches of 2 digits: one epoch is ~800 steps, so the signal always lands inside the first epoch, before the
# config's ModelCheckpoint (save_last, at epoch end) has written anything
ARGS = ["--config", str(REPO_ROOT / "configs" / "dcgan_digits.yaml"), "--data.init_args.batch_size", "2",
        "--trainer.limit_val_batches", "0", "--trainer.num_sanity_val_steps", "0", "--trainer.logger", "false",
        "--trainer.enable_progress_bar", "false"]


def test_sigterm_writes_a_checkpoint_that_resumes(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    log = (tmp_path / "fit.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "lightning_gen", "fit", *ARGS, "--trainer.max_epochs", "1",
                             "--trainer.default_root_dir", str(tmp_path)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 120
        while "Total params" not in (tmp_path / "fit.log").read_text():  # the summary: training starts now
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "fit.log").read_text()
            time.sleep(0.2)
        time.sleep(3.0)  # some training steps
        assert not list(tmp_path.rglob("*.ckpt"))
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    output = (tmp_path / "fit.log").read_text()
    assert code == SIGTERM_EXIT_CODE, output
    assert "stopped by SIGTERM; resume with --ckpt_path last" in output
    [ckpt] = list(tmp_path.rglob("*.ckpt"))
    assert ckpt.name == "last.ckpt"
    saved = torch.load(ckpt, weights_only=True)
    assert 0 < saved["global_step"] < 2 * 800 and saved["epoch"] == 0  # stopped inside the first epoch
    assert f"checkpoint at step {saved['global_step']} written to {ckpt}" in output

    target = saved["global_step"] + 4  # two more GAN iterations (D + G steps)
    main(["fit", *ARGS, "--ckpt_path", "last", "--trainer.max_steps", str(target),
          "--trainer.default_root_dir", str(tmp_path)])
    assert sorted(p.name for p in ckpt.parent.iterdir()) == [f"epoch=0-step={target}.ckpt", "last.ckpt"]
    resumed = torch.load(ckpt, weights_only=True)  # the resumed run's last.ckpt replaced the preemption one
    assert resumed["global_step"] == target
    key = next(k for k in saved["state_dict"] if k.startswith("generator.") and k.endswith("weight"))
    assert not torch.equal(resumed["state_dict"][key], saved["state_dict"][key])  # it trained on from there


def test_no_checkpoint_for_other_exceptions(tmp_path):
    """A crash must not overwrite last.ckpt with a broken state: only SIGTERM writes."""
    callback = PreemptionCheckpoint()
    t = trainer(tmp_path, max_steps=4, callbacks=[callback, _Crash()])
    with pytest.raises(RuntimeError, match="crash"):
        t.fit(GAN(*tiny_dcgan(size=16)), DigitsDataModule(image_size=16, batch_size=8, limit=32))
    assert callback.saved_path is None and not list(tmp_path.rglob("*.ckpt"))


class _Crash(pl.Callback):
    def on_train_batch_end(self, *args) -> None:
        raise RuntimeError("crash")
