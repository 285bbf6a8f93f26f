"""The notebooks run top to bottom (nbclient, a real kernel of this interpreter), in quick mode, in a temporary
working folder; they are committed without outputs."""

from __future__ import annotations

import base64
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
QUICKSTART = NOTEBOOKS / "quickstart.ipynb"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def read(path: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    return notebook


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(path: Path) -> None:
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} cell {index}: clear outputs"


def test_quickstart_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = read(QUICKSTART)
    sources = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert not re.search(r"^class ", sources, re.MULTILINE), "notebooks import the package's models, never define them"
    # The kernel must be this interpreter (jupyter_client starts the "python3" spec with sys.executable):
    # an extra cell, on the in-memory copy only, reports which one ran.
    notebook.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable)"))

    monkeypatch.setenv("LIGHTNING_GEN_QUICK", "1")  # the kernel inherits this process's environment
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend turns figures into PNG outputs
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the failing cell and traceback, on any error

    assert notebook.cells[-1].outputs[0]["text"].strip() == sys.executable
    assert (tmp_path / "quickstart_checkpoints" / "last.ckpt").is_file()
    pngs = [
        base64.b64decode(output["data"]["image/png"])
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    assert len(pngs) == 2, "expected two figures: the real batch and the samples from the checkpoint"
    assert all(png.startswith(PNG_MAGIC) for png in pngs)
