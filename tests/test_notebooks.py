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
# The course's notebooks (issue 13): name -> (needs ../shared/data, figures drawn in quick mode, what the last cell prints)
COURSE = {
    "01_autoencoders.ipynb": (True, 3, '"held_out_mse"'),
    "02_gan_objectives.ipynb": (False, 4, '"g_grad_first_10_mean"'),
    "03_mode_collapse.ipynb": (False, 2, '"claims"'),
    "04_dcgan_guidelines.ipynb": (True, 2, '"autoencoders (notebook 01)"'),
    "05_conditional_and_biggan.ipynb": (True, 4, '"biggan_truncation"'),
    "06_representations_and_domains.ipynb": (True, 5, '"label_preservation"'),
    "07_ddpm.ipynb": (True, 7, '"convergence"'),
    "08_cascade_and_applications.ipynb": (True, 4, '"colorization"'),
    "09_text_to_image.ipynb": (True, 3, '"cosine_variation_to_input"'),
}


def figures(notebook: nbformat.NotebookNode) -> list[bytes]:
    """The PNG bytes of every figure an executed notebook drew, in order."""
    return [
        base64.b64decode(output["data"]["image/png"])
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]


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
    pngs = figures(notebook)
    assert len(pngs) == 2, "expected two figures: the real batch and the samples from the checkpoint"
    assert all(png.startswith(PNG_MAGIC) for png in pngs)


@pytest.mark.parametrize("name", sorted(COURSE), ids=str)
def test_course_notebook_runs_in_quick_mode(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    needs_data, num_figures, summary_key = COURSE[name]
    notebook = read(NOTEBOOKS / name)
    sources = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert not re.search(r"^class ", sources, re.MULTILINE), "notebooks import the package's models, never define them"
    assert "LIGHTNING_GEN_QUICK" in notebook.cells[1].source, "the parameters cell reads the quick-mode switch"
    if needs_data:  # skips, with the fixture's reason, without ../shared/data
        monkeypatch.setenv("LIGHTNING_GEN_SHARED_DATA", str(request.getfixturevalue("shared_data")))
    monkeypatch.setenv("LIGHTNING_GEN_QUICK", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("LIGHTNING_GEN_COURSE_DIR", raising=False)  # quick mode must not overwrite docs/course
    monkeypatch.delenv("MPLBACKEND", raising=False)
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()

    pngs = figures(notebook)
    assert len(pngs) == num_figures and all(png.startswith(PNG_MAGIC) for png in pngs)
    last = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    assert '"quick": true' in last and summary_key in last, last[-500:]
