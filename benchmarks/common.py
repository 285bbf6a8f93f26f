"""Helpers every benchmark uses: environment facts, resumable result files, markdown tables."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

RESULTS_DIR = Path(__file__).resolve().parent / "results"
WORK_DIR = Path(__file__).resolve().parent / "work"  # scratch (ignored by git)
SHARED_DATA = Path(os.environ.get("LIGHTNING_GEN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

__all__ = ["RESULTS_DIR", "SHARED_DATA", "WORK_DIR", "ResultFile", "environment", "markdown_table"]


def environment() -> dict[str, Any]:
    """Hardware and software facts recorded with every result."""
    cuda = torch.cuda.is_available()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "hardware": torch.cuda.get_device_name(0) if cuda else f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})",
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


class ResultFile:
    """A JSON result file made of units, written after every finished unit so a rerun can skip them.

    Layout: ``{"benchmark": name, "config": {...}, "units": {key: {...}}, "summary": {...}}``.
    A rerun with a different ``config`` (e.g. another step budget) starts over, after moving the old file
    aside, so units measured under different settings are never mixed.
    """

    def __init__(self, name: str, config: dict[str, Any], quick: bool = False) -> None:
        self.name = name + ("_quick" if quick else "")
        self.path = RESULTS_DIR / f"{self.name}.json"
        self.md_path = RESULTS_DIR / f"{self.name}.md"
        self.config = config
        self.data: dict[str, Any] = {"benchmark": name, "config": config, "units": {}, "summary": {}}
        if self.path.is_file():
            old = json.loads(self.path.read_text())
            if old.get("config") == config:
                self.data = old
            else:
                self.path.rename(self.path.with_suffix(f".stale-{int(time.time())}.json"))

    def done(self, key: str) -> bool:
        return key in self.data["units"]

    def unit(self, key: str) -> dict[str, Any]:
        return self.data["units"][key]

    @property
    def units(self) -> dict[str, Any]:
        return self.data["units"]

    def add(self, key: str, value: dict[str, Any]) -> None:
        self.data["units"][key] = {**value, "environment": environment()}
        self.save()

    def set_summary(self, summary: dict[str, Any], markdown: str) -> None:
        self.data["summary"] = summary
        self.save()
        self.md_path.write_text(markdown)

    def save(self) -> None:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, sort_keys=False))
        tmp.replace(self.path)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
