"""The notebooks as one download and the per-page launch links (issue 24; book/_ext/downloads.py).

(a) The zip in the built site holds exactly the notebooks that _toc.yml lists, notebooks/mm_utils.py,
    data/README.md and a Chinese README, byte for byte as in the repo, under one top folder; building it
    twice gives the same bytes.
(b) Every page of the toc links the zip from its header (download menu), the intro also from its text, and
    every notebook page has a Kaggle launch link in Kaggle's pattern for a GitHub notebook, to its own file.
(c) The unpacked zip runs: chapter 01 from the unpacked folder, in a fresh kernel, with GitHub dead and the
    data mirror up (local servers; any other host goes to a dead proxy): the bootstrap finds mm_utils.py next
    to the notebook and load_words() fetches names.txt from the second address into data/.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import zipfile
from pathlib import Path
from urllib.parse import urljoin

import nbformat
import pytest
from sitelib import HTML, NOT_BUILT, ROOT, built, github_repo, html_page, toc_files, toc_notebooks
from test_colab import NAMES_SHA256, dead_url

_spec = importlib.util.spec_from_file_location("downloads", ROOT / "book" / "_ext" / "downloads.py")
downloads = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(downloads)

needs_build = pytest.mark.skipif(not built(), reason=NOT_BUILT)
TOP = "makemore-zh"


def expected_members() -> dict[str, Path]:
    members = {f"{TOP}/{doc}.ipynb": ROOT / f"{doc}.ipynb" for doc in toc_notebooks()}
    members[f"{TOP}/notebooks/mm_utils.py"] = ROOT / "notebooks" / "mm_utils.py"
    members[f"{TOP}/data/README.md"] = ROOT / "data" / "README.md"
    return members


def built_zip() -> Path:
    found = sorted((HTML / "_downloads").glob(f"*/{downloads.ZIP_NAME}"))
    assert len(found) == 1, f"expected one {downloads.ZIP_NAME} in _build/html/_downloads, found {found}"
    return found[0]


@needs_build
def test_zip_holds_exactly_the_toc_notebooks_and_their_helpers():
    with zipfile.ZipFile(built_zip()) as z:
        names = z.namelist()
        assert len(names) == len(set(names))
        want = expected_members()
        assert set(names) == set(want) | {f"{TOP}/README.md"}, (
            f"missing: {sorted(set(want) - set(names))}, extra: {sorted(set(names) - set(want))}")
        for name, src in want.items():
            assert z.read(name) == src.read_bytes(), f"{name} differs from {src.relative_to(ROOT)} (stale build?)"
        readme = z.read(f"{TOP}/README.md").decode("utf-8")
    assert "怎样运行" in readme and "mm_utils.py" in readme and "jupyter lab" in readme
    nbs = [n for n in names if n.endswith(".ipynb")]
    assert len(nbs) == len(toc_notebooks()) >= 2


def test_zip_is_reproducible(tmp_path):
    a = downloads.write_zip(ROOT, tmp_path / "a.zip").read_bytes()
    b = downloads.write_zip(ROOT, tmp_path / "b.zip").read_bytes()
    assert a == b
    assert set(zipfile.ZipFile(tmp_path / "a.zip").namelist()) == set(expected_members()) | {f"{TOP}/README.md"}


def _hrefs(doc: str) -> list[str]:
    return re.findall(r'<a[^>]+href="([^"]+)"', html_page(doc).read_text(encoding="utf-8"))


@needs_build
@pytest.mark.parametrize("doc", toc_files())
def test_every_page_header_links_the_zip(doc):
    html = html_page(doc).read_text(encoding="utf-8")
    m = re.search(r'<a href="([^"]+)"[^>]*class="[^"]*btn-download-all-notebooks-button', html, re.S)
    assert m, f"{doc}: no zip link in the page header"
    target = Path(urljoin(html_page(doc).as_uri(), m.group(1)).removeprefix("file://"))
    assert target.resolve() == built_zip().resolve()


@needs_build
def test_intro_text_links_the_zip():
    links = [h for h in _hrefs("book/intro") if h.endswith(downloads.ZIP_NAME)]
    assert len(links) >= 2, "the intro links the zip from its text and its header"


@needs_build
@pytest.mark.parametrize("doc", toc_notebooks())
def test_notebook_page_has_kaggle_link_to_its_notebook(doc):
    owner, repo, branch = github_repo()
    kaggle = [h for h in _hrefs(doc) if "kaggle.com" in h]
    assert kaggle == [f"https://kaggle.com/kernels/welcome?src=https://github.com/{owner}/{repo}/blob/{branch}/"
                      f"{doc}.ipynb"], kaggle
    assert (ROOT / f"{doc}.ipynb").is_file()


@needs_build
def test_unpacked_zip_runs_with_github_dead(tmp_path, monkeypatch, http_server, names_path):
    from nbclient import NotebookClient

    with zipfile.ZipFile(built_zip()) as z:
        z.extractall(tmp_path)
    first = toc_notebooks()[0]
    nb_path = tmp_path / TOP / f"{first}.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    with http_server({"/gh/names.txt": names_path.read_bytes()}) as srv:
        monkeypatch.setenv("MM_NAMES_URL", f"{dead_url('/names.txt')},{srv.url}/gh/names.txt")
        monkeypatch.delenv("MM_NAMES_PATH", raising=False)
        monkeypatch.delenv("MM_UTILS_URLS", raising=False)
        monkeypatch.delenv("PYTHONPATH", raising=False)
        for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            monkeypatch.setenv(var, "http://127.0.0.1:9")  # offline: anything not local fails fast
        for var in ("no_proxy", "NO_PROXY"):
            monkeypatch.setenv(var, "127.0.0.1,localhost")
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(nb_path.parent)}}).execute()
        assert srv.requests == ["/gh/names.txt"]
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
              and "raises-exception" not in c.metadata.get("tags", [])]
    assert not errors, errors
    data = tmp_path / TOP / "data" / "names.txt"
    assert hashlib.sha256(data.read_bytes()).hexdigest() == NAMES_SHA256
    assert (nb_path.parent / "mm_utils.py").read_bytes() == (ROOT / "notebooks" / "mm_utils.py").read_bytes()
