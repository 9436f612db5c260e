"""Committed notebooks diff cleanly: no execution timestamps or other volatile metadata.

The keys are the ones ``.ci/execute_notebook.py`` strips (the documented way to re-execute a notebook),
so a notebook saved by that command passes, and one saved by Jupyter or nbconvert with timing fails.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

_spec = importlib.util.spec_from_file_location("execute_notebook", ROOT / ".ci" / "execute_notebook.py")
execute_notebook = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(execute_notebook)


def volatile_metadata(nb: dict) -> list[str]:
    """Where the notebook carries metadata that changes on every run (empty list: clean)."""
    found = [f"metadata.{k}" for k in execute_notebook.VOLATILE_NB_KEYS if k in nb.get("metadata", {})]
    if "version" in nb.get("metadata", {}).get("language_info", {}):
        found.append("metadata.language_info.version")
    for i, cell in enumerate(nb["cells"]):
        meta = cell.get("metadata", {})
        found += [f"cell {i} metadata.{k}" for k in execute_notebook.VOLATILE_CELL_KEYS if k in meta]
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_has_no_volatile_metadata(path):
    found = volatile_metadata(json.loads(path.read_text(encoding="utf-8")))
    assert not found, (
        f"{path.name} stores volatile metadata ({len(found)} places, e.g. {found[:3]}): re-execute it with "
        f"`python .ci/execute_notebook.py notebooks/{path.name}` (or add --strip-only to keep the outputs)"
    )


def test_the_check_catches_timestamps_and_strip_only_removes_them(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1 + 1", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=1)]
    cell.metadata["execution"] = {"iopub.execute_input": "2026-12-01T21:00:00.000Z"}
    cell.metadata["tags"] = ["hide-cell"]
    nb.cells.append(cell)
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.2"}
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    assert volatile_metadata(json.loads(path.read_text())) == ["metadata.language_info.version",
                                                                "cell 0 metadata.execution"]
    res = subprocess.run([sys.executable, str(ROOT / ".ci" / "execute_notebook.py"), "--strip-only", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    out = json.loads(path.read_text())
    assert volatile_metadata(out) == []
    # what the stored-output contract needs is kept: outputs, execution counts, tags
    assert "".join(out["cells"][0]["outputs"][0]["data"]["text/plain"]) == "2"
    assert out["cells"][0]["execution_count"] == 1 and out["cells"][0]["metadata"]["tags"] == ["hide-cell"]


def split_streams(nb: dict) -> list[int]:
    """Cells (index) whose printed text is stored as two or more consecutive stream outputs of one name."""
    found = []
    for i, cell in enumerate(nb["cells"]):
        outs = cell.get("outputs", [])
        if any(a.get("output_type") == b.get("output_type") == "stream" and a.get("name") == b.get("name")
               for a, b in zip(outs, outs[1:])):
            found.append(i)
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_printed_text_of_a_cell_is_one_box(path):
    found = split_streams(json.loads(path.read_text(encoding="utf-8")))
    assert not found, (
        f"{path.name}: cells {found} store their printed text in several pieces (the site shows several boxes): "
        f"`python .ci/execute_notebook.py --strip-only notebooks/{path.name}` merges them"
    )


def test_strip_merges_consecutive_streams_and_keeps_the_rest():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("...", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="b\n"),
                    nbformat.v4.new_output("display_data", data={"text/plain": "<Figure>"}),
                    nbformat.v4.new_output("stream", name="stdout", text="c\n")]
    nb.cells.append(cell)
    assert split_streams(nb) == [0]
    out = execute_notebook.strip(nb).cells[0].outputs
    assert [(o.output_type, o.get("text")) for o in out] == [
        ("stream", "a\nb\n"), ("display_data", None), ("stream", "c\n")]
    assert split_streams(nb) == []
