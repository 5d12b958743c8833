"""The notebooks run top to bottom on tiny data, in a kernel of this interpreter."""

from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbformat import NotebookNode

from helpers import write_sweep

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"


def execute(name: str) -> dict[str, list[NotebookNode]]:
    """Run a notebook in notebooks/ (as Jupyter would); returns each code cell's outputs by id."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    # With no kernel folders, "python3" is ipykernel's own spec for sys.executable, whatever
    # kernelspecs the user or the environment hold.
    kernels = KernelSpecManager(kernel_dirs=[])
    manager = KernelManager(kernel_name="python3", kernel_spec_manager=kernels)
    resources = {"metadata": {"path": str(NOTEBOOKS)}}
    try:
        NotebookClient(notebook, km=manager, timeout=120, resources=resources).execute()
    finally:  # nbclient leaves a kernel it was given running
        if manager.has_kernel:
            manager.shutdown_kernel(now=True)
    return {cell.id: cell.outputs for cell in notebook.cells if cell.cell_type == "code"}


def data(output: NotebookNode) -> dict[str, str]:
    """A displayed output's data by MIME type (none for streams and errors)."""
    return output.get("data", {})


def text(outputs: list[NotebookNode]) -> str:
    """Everything a cell printed or displayed as plain text."""
    return "".join(out.get("text", "") + data(out).get("text/plain", "") for out in outputs)


def count(outputs: list[NotebookNode], mime: str, needle: str = "") -> int:
    """How many outputs hold `mime` data (containing `needle`)."""
    return sum(mime in data(out) and needle in data(out)[mime] for out in outputs)


@pytest.mark.parametrize("name", ["01_data.ipynb", "02_compare.ipynb"])
def test_stored_without_outputs(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)


def test_data_notebook(tiny_synth: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASRLAB_MANIFEST", str(tiny_synth["train"]))
    outputs = execute("01_data.ipynb")
    assert "train.jsonl: 24 utterances" in text(outputs["load-manifest"])
    for cell in ("duration-histogram", "waveforms", "features"):
        assert count(outputs[cell], "image/png") == 1, cell
    assert count(outputs["players"], "text/html", "<audio") == 3
    assert count(outputs["players"], "text/markdown") == 3


def test_compare_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASRLAB_SWEEP", str(write_sweep(tmp_path / "multirun")))
    outputs = execute("02_compare.ipynb")
    assert "multirun: 3 finished, 1 failed or unfinished" in text(outputs["load-runs"])
    table = text(outputs["ranked-table"])
    assert "3 runs ranked by test_wer" in table
    assert table.index("10.00%") < table.index("20.00%") < table.index("30.00%")
    assert "sweep/3" in table and "loss is NaN at step 12" in table
    assert "Pareto: on the front of test WER and params" in table
    assert count(outputs["plots"], "image/png") == 4
