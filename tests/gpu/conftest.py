"""The GPU suite (issue 12): every test under tests/gpu/ carries the ``gpu`` marker and is skipped, with the
reason, where CUDA is not available. Run it with ``tests/gpu/run_gpu_suite.sh`` (which records the run in
docs/gpu_runs.md) or ``pytest -m gpu tests/gpu``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.gpu)
            if not torch.cuda.is_available():
                item.add_marker(skip)


@pytest.fixture
def cuda() -> torch.device:
    return torch.device("cuda", 0)
