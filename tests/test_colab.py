"""Colab: every notebook starts with the same bootstrap cell, and a chapter runs when it is alone.

(a) The first code cell of every notebook in notebooks/ is exactly the bootstrap text below, tagged
    ``remove-cell`` (hidden on the site), and the raw URL in it is the one derived from _config.yml.
(b) A simulated offline Colab: a chapter notebook is copied alone into an empty directory, a local
    HTTP server plays raw.githubusercontent.com (mm_utils.py) and the data host (names.txt), any other
    HTTP(S) request goes to a dead proxy, and the notebook is executed top to bottom with nbclient.
    Each chapter runs in its own empty directory and kernel; by default chapters 01 (the first page a
    reader opens) and 04 (MM_COLAB_NOTEBOOK=all runs every notebook, ~1-2 min).
"""

from __future__ import annotations

import ast
import hashlib
import os
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from sitelib import NOTEBOOKS, ROOT, raw_base_url

# The verbatim first code cell of every chapter (copied from the chapter writers' template);
# @RAW_BASE@ is https://raw.githubusercontent.com/OWNER/REPO/BRANCH from _config.yml.
BOOTSTRAP_TEMPLATE = '''\
# Colab 引导：在本仓库里运行时 mm_utils 就在旁边，这个单元什么也不做。
# 只有这一个笔记本时（例如从 Colab 按钮打开），它从仓库下载 mm_utils.py；数据由 load_words() 下载。
import importlib, importlib.util, os
if importlib.util.find_spec("mm_utils") is None:
    import urllib.request
    base = os.environ.get("MM_BASE_URL", "@RAW_BASE@")
    urllib.request.urlretrieve(f"{base}/notebooks/mm_utils.py", "mm_utils.py")
    os.environ.setdefault("MM_NAMES_PATH", os.path.abspath("names.txt"))
    importlib.invalidate_caches()'''

NAMES_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"
ALL_NOTEBOOKS = sorted(NOTEBOOKS.glob("*.ipynb"))


def expected_bootstrap() -> str:
    return BOOTSTRAP_TEMPLATE.replace("@RAW_BASE@", raw_base_url())


def first_code_cell(path: Path):
    nb = nbformat.read(path, as_version=4)
    return next(c for c in nb.cells if c.cell_type == "code")


def test_raw_url_is_derived_from_config():
    url = raw_base_url()
    assert url.startswith("https://raw.githubusercontent.com/") and url.count("/") == 5, url
    # the URL the committed notebooks really carry (parsed from the first one's bootstrap cell)
    default = ast.parse(first_code_cell(ALL_NOTEBOOKS[0]).source).body[1].body[1].value.args[1].value
    assert default == url


def test_notebooks_exist():
    assert ALL_NOTEBOOKS, "no notebooks in notebooks/"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.stem)
def test_first_code_cell_is_bootstrap(path: Path):
    cell = first_code_cell(path)
    assert cell.source == expected_bootstrap(), (
        f"{path.name}: the first code cell must be the Colab bootstrap, verbatim, with the raw URL "
        f"{raw_base_url()} (from _config.yml repository.url + branch)"
    )
    assert "remove-cell" in cell.metadata.get("tags", []), f"{path.name}: bootstrap cell must be tagged remove-cell"
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors and not cell.get("outputs"), f"{path.name}: the bootstrap cell prints nothing in the repo"


# ---------------------------------------------------------------------------------------------
# (b) simulated offline Colab
# ---------------------------------------------------------------------------------------------


def _names_source() -> Path:
    """A verified copy of names.txt to serve (read only; the repo's data/names.txt is never written)."""
    for p in (ROOT / "data" / "names.txt", ROOT.parent / "shared" / "data" / "names.txt"):
        if p.exists() and hashlib.sha256(p.read_bytes()).hexdigest() == NAMES_SHA256:
            return p
    pytest.fail("need a verified names.txt in data/ or ../shared/data/ to serve (see data/README.md)")


def _colab_notebooks() -> list[Path]:
    """Chapters to run alone: 01 (the first page a reader opens in Colab) and 04 by default.

    ``MM_COLAB_NOTEBOOK=07_one_hot_net,08_regularization_parity`` picks others, ``=all`` runs every notebook.
    """
    wanted = os.environ.get("MM_COLAB_NOTEBOOK", "01_data_loading,04_sampling")
    if wanted == "all":
        return ALL_NOTEBOOKS
    paths = [NOTEBOOKS / f"{s.strip()}.ipynb" for s in wanted.split(",")]
    missing = [p.name for p in paths if not p.exists()]
    assert not missing, f"MM_COLAB_NOTEBOOK names notebooks that do not exist: {missing}"
    return paths


@pytest.mark.parametrize("src", _colab_notebooks() or [None], ids=lambda p: p.stem if p else "none")
def test_chapter_runs_alone_like_colab(src, tmp_path, monkeypatch, http_server):
    from nbclient import NotebookClient

    assert src is not None, "no chapter notebook to run alone (01_data_loading / 04_sampling missing)"
    names = _names_source()

    # what the HTTP server publishes: the repo's mm_utils.py (as on the raw URL) and a copy of the data
    served = {
        "/notebooks/mm_utils.py": (NOTEBOOKS / "mm_utils.py").read_bytes(),
        "/data/names.txt": names.read_bytes(),
    }

    # the "Colab" working directory: the notebook and nothing else
    work = tmp_path / "content"
    work.mkdir()
    shutil.copyfile(src, work / src.name)
    nb = nbformat.read(work / src.name, as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]

    with http_server(served) as srv:
        # the kernel inherits this environment
        monkeypatch.setenv("MM_BASE_URL", srv.url)
        monkeypatch.setenv("MM_NAMES_URL", f"{srv.url}/data/names.txt")
        monkeypatch.delenv("MM_NAMES_PATH", raising=False)  # the bootstrap sets it to ./names.txt
        monkeypatch.delenv("PYTHONPATH", raising=False)  # mm_utils must not be importable from the repo
        for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            monkeypatch.setenv(var, "http://127.0.0.1:9")  # offline: anything not local fails fast
        for var in ("no_proxy", "NO_PROXY"):
            monkeypatch.setenv(var, "127.0.0.1,localhost")
        t0 = time.perf_counter()
        NotebookClient(
            nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}
        ).execute()
        elapsed = time.perf_counter() - t0

    errors = [
        (i, o.get("ename"), o.get("evalue"))
        for i, c in enumerate(code_cells)
        if "raises-exception" not in c.metadata.get("tags", [])
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors, f"{src.name} failed when run alone: {errors}"
    counts = [c.execution_count for c in code_cells]
    assert counts == list(range(1, len(code_cells) + 1)), f"not every cell ran: {counts}"
    assert (work / "mm_utils.py").read_bytes() == (NOTEBOOKS / "mm_utils.py").read_bytes()
    downloaded = work / "names.txt"
    assert downloaded.exists(), "load_words() did not download names.txt next to the notebook"
    assert hashlib.sha256(downloaded.read_bytes()).hexdigest() == NAMES_SHA256
    assert "/notebooks/mm_utils.py" in srv.requests and "/data/names.txt" in srv.requests, srv.requests
    print(f"{src.name} ran alone in {elapsed:.1f} s; server saw {srv.requests}")
