"""Colab: every notebook starts with the same bootstrap cell, and a chapter runs when it is alone.

(a) The first code cell of every notebook in notebooks/ is exactly the bootstrap that
    ``.ci/execute_notebook.py --bootstrap`` writes (its template, with the repository from _config.yml),
    tagged ``remove-cell`` (hidden on the site), with no output in the repo.
(b) The bootstrap itself, run as a script in an empty directory against local HTTP servers: the first
    mirror dead and the second good; every mirror dead (the error lists each URL); a mirror answering
    something that is not mm_utils.py (the next one is tried, nothing bad is written).
(c) A simulated offline Colab: a chapter notebook is copied alone into an empty directory, a local
    HTTP server plays the GitHub/jsDelivr hosts (mm_utils.py) and the data host (names.txt), the first
    URL of each list is dead, any other HTTP(S) request goes to a dead proxy, and the notebook is executed
    top to bottom with nbclient. Each chapter runs in its own empty directory and kernel; by default
    chapters 01 (the first page a reader opens) and 04 (MM_COLAB_NOTEBOOK=all runs every notebook).
(d) A notebook service in mainland China (book/china.md): the bootstrap and load_words() with their default
    address lists, raw.githubusercontent.com refusing and cdn.jsdelivr.net answering over real TLS (a local
    server with a throw-away CA); and the facts the China page states (timeouts, mirror) are the code's.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from sitelib import NOTEBOOKS, ROOT, github_repo, toc_files

_spec = importlib.util.spec_from_file_location("execute_notebook", ROOT / ".ci" / "execute_notebook.py")
execute_notebook = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(execute_notebook)

NAMES_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"
ALL_NOTEBOOKS = sorted(NOTEBOOKS.glob("*.ipynb"))


def expected_bootstrap() -> str:
    return execute_notebook.bootstrap_source(ROOT / "_config.yml")


def first_code_cell(path: Path):
    nb = nbformat.read(path, as_version=4)
    return next(c for c in nb.cells if c.cell_type == "code")


def dead_url(path: str = "/notebooks/mm_utils.py") -> str:
    """A URL on 127.0.0.1 where nobody listens (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}{path}"


def test_bootstrap_urls_come_from_config():
    owner, name, branch = github_repo()
    tree = ast.parse(expected_bootstrap())
    assigns = [n for n in ast.walk(tree) if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Tuple)]
    repo, br = (elt.value for elt in assigns[0].value.elts)
    assert (repo, br) == (f"{owner}/{name}", branch)
    src = expected_bootstrap()
    assert "https://raw.githubusercontent.com/{repo}/{branch}/notebooks/mm_utils.py" in src
    assert "https://cdn.jsdelivr.net/gh/{repo}@{branch}/notebooks/mm_utils.py" in src
    assert src.index("raw.githubusercontent.com") < src.index("cdn.jsdelivr.net"), "GitHub first, then the mirror"


def test_notebooks_exist():
    assert ALL_NOTEBOOKS, "no notebooks in notebooks/"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.stem)
def test_first_code_cell_is_bootstrap(path: Path):
    cell = first_code_cell(path)
    assert cell.source == expected_bootstrap(), (
        f"{path.name}: the first code cell must be the Colab bootstrap, verbatim "
        "(run `python .ci/execute_notebook.py --strip-only --bootstrap notebooks/NN_*.ipynb`)"
    )
    assert "remove-cell" in cell.metadata.get("tags", []), f"{path.name}: bootstrap cell must be tagged remove-cell"
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors and not cell.get("outputs"), f"{path.name}: the bootstrap cell prints nothing in the repo"


def test_the_tool_writes_the_bootstrap(tmp_path):
    """--strip-only --bootstrap on a copy: the first code cell becomes the bootstrap, the rest is unchanged."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 第 1 章"), nbformat.v4.new_code_cell("print('old bootstrap')"),
                nbformat.v4.new_code_cell("1 + 1", execution_count=2)]
    nb.cells[1].metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    res = subprocess.run([sys.executable, str(ROOT / ".ci" / "execute_notebook.py"), "--strip-only", "--bootstrap",
                          str(path)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    out = nbformat.read(path, as_version=4)
    assert out.cells[1].source == expected_bootstrap() and out.cells[1].metadata == {"tags": ["remove-cell"]}
    assert out.cells[2].source == "1 + 1" and out.cells[0].source == "# 第 1 章"


# ---------------------------------------------------------------------------------------------
# (b) the bootstrap against local servers
# ---------------------------------------------------------------------------------------------


def run_bootstrap(work: Path, urls: list[str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MM_NAMES_PATH")}
    env["MM_UTILS_URLS"] = " ".join(urls)
    return subprocess.run([sys.executable, "-c", expected_bootstrap()], cwd=work, env=env,
                          capture_output=True, text=True, timeout=120)


def test_bootstrap_first_mirror_dead_second_good(tmp_path, http_server):
    mm = (NOTEBOOKS / "mm_utils.py").read_bytes()
    with http_server({"/cdn/notebooks/mm_utils.py": mm}) as srv:
        res = run_bootstrap(tmp_path, [dead_url(), srv.url + "/cdn/notebooks/mm_utils.py"])
        assert srv.requests == ["/cdn/notebooks/mm_utils.py"]
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "mm_utils.py").read_bytes() == mm


def test_bootstrap_all_mirrors_dead_lists_them(tmp_path):
    urls = [dead_url(), dead_url("/gh/notebooks/mm_utils.py")]
    res = run_bootstrap(tmp_path, urls)
    assert res.returncode != 0
    assert "下载 mm_utils.py 失败" in res.stderr and all(u in res.stderr for u in urls), res.stderr
    assert not (tmp_path / "mm_utils.py").exists()


def test_bootstrap_skips_what_is_not_mm_utils(tmp_path, http_server):
    mm = (NOTEBOOKS / "mm_utils.py").read_bytes()
    routes = {"/a/mm_utils.py": b"<html>blocked</html>", "/b/mm_utils.py": b"def other():\n    pass\n",
              "/c/mm_utils.py": mm}
    with http_server(routes) as srv:
        res = run_bootstrap(tmp_path, [srv.url + p for p in routes])
        assert srv.requests == list(routes)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "mm_utils.py").read_bytes() == mm  # the HTML page and the wrong module were not kept
    assert res.stdout.count("不是 mm_utils.py") == 1 and "/a/mm_utils.py" in res.stdout


# ---------------------------------------------------------------------------------------------
# (c) simulated offline Colab
# ---------------------------------------------------------------------------------------------


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
def test_chapter_runs_alone_like_colab(src, tmp_path, monkeypatch, http_server, names_path):
    from nbclient import NotebookClient

    assert src is not None, "no chapter notebook to run alone (01_data_loading / 04_sampling missing)"
    names = names_path
    assert hashlib.sha256(names.read_bytes()).hexdigest() == NAMES_SHA256

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
        # the first URL of each list is dead: the bootstrap and load_words() must fall back to the second
        monkeypatch.setenv("MM_UTILS_URLS", f"{dead_url()} {srv.url}/notebooks/mm_utils.py")
        monkeypatch.setenv("MM_NAMES_URL", f"{dead_url('/data/names.txt')},{srv.url}/data/names.txt")
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


# ---------------------------------------------------------------------------------------------
# (d) mainland China (book/china.md): GitHub unreachable, jsDelivr up, the default address lists
# ---------------------------------------------------------------------------------------------

# Loaded by the child Python through PYTHONPATH: every HTTPS connection goes to a local TLS server for
# cdn.jsdelivr.net, is refused for raw.githubusercontent.com (blocked), and fails for any other host (offline).
_SITECUSTOMIZE = """\
import os, socket
_real = socket.create_connection
def _route(address, *args, **kwargs):
    host, port = address[0], address[1]
    if host == "cdn.jsdelivr.net" and port == 443:
        return _real(("127.0.0.1", int(os.environ["MM_TEST_MIRROR_PORT"])), *args, **kwargs)
    if host == "raw.githubusercontent.com":
        raise ConnectionRefusedError(f"{host} is unreachable (simulated)")
    if host in ("127.0.0.1", "localhost"):
        return _real(address, *args, **kwargs)
    raise OSError(f"offline (simulated): {host}")
socket.create_connection = _route
"""


def _tls_files(tmp: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a certificate for cdn.jsdelivr.net signed by it (openssl, Debian's base image)."""
    if not shutil.which("openssl"):
        pytest.fail("openssl (Debian package openssl) is needed to fake the mirror's TLS certificate")
    ca_key, ca, key, csr, cert, ext = (tmp / n for n in ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem", "ext"))
    ext.write_text("subjectAltName=DNS:cdn.jsdelivr.net\nbasicConstraints=CA:FALSE\n")
    for cmd in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=mm test CA"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=cdn.jsdelivr.net"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "2",
         "-extfile", ext],
    ):
        subprocess.run(["openssl", *map(str, cmd)], check=True, capture_output=True, timeout=60)
    return ca, cert, key


def test_bootstrap_and_data_from_jsdelivr_when_github_is_blocked(tmp_path, http_server, names_path):
    """The bootstrap cell and load_words() with their default addresses, as on a mainland notebook service:
    raw.githubusercontent.com refuses, cdn.jsdelivr.net answers (over real TLS, a local server with a test
    CA); both files arrive from the mirror and pass their checks."""
    import ssl

    mod = importlib.util.spec_from_file_location("mm_utils_check", NOTEBOOKS / "mm_utils.py")
    mm = importlib.util.module_from_spec(mod)
    mod.loader.exec_module(mm)
    owner, name, branch = github_repo()
    mirror = "https://cdn.jsdelivr.net"
    assert any(u.startswith(mirror) for u in mm.NAMES_URLS), "the data has no jsDelivr mirror"
    routes = {
        f"/gh/{owner}/{name}@{branch}/notebooks/mm_utils.py": (NOTEBOOKS / "mm_utils.py").read_bytes(),
        **{u.removeprefix(mirror): names_path.read_bytes() for u in mm.NAMES_URLS if u.startswith(mirror)},
    }
    ca, cert, key = _tls_files(tmp_path)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    work = tmp_path / "content"
    work.mkdir()
    script = expected_bootstrap() + "\nimport mm_utils\nprint(len(mm_utils.load_words()), 'names')\n"
    with http_server(routes) as srv:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        srv.httpd.socket = tls.wrap_socket(srv.httpd.socket, server_side=True)
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "MM_NAMES_PATH", "MM_NAMES_URL", "MM_UTILS_URLS")
               and not k.lower().endswith("_proxy")}
        env.update(PYTHONPATH=str(site), SSL_CERT_FILE=str(ca), MM_TEST_MIRROR_PORT=str(srv.httpd.server_address[1]))
        res = subprocess.run([sys.executable, "-c", script], cwd=work, env=env, capture_output=True, text=True,
                             timeout=120)
        requests = list(srv.requests)
    assert res.returncode == 0, res.stderr + res.stdout
    assert "32033 names" in res.stdout
    assert "raw.githubusercontent.com" in res.stdout, "the bootstrap should report the blocked GitHub address"
    assert sorted(requests) == sorted(routes), requests
    assert (work / "mm_utils.py").read_bytes() == (NOTEBOOKS / "mm_utils.py").read_bytes()
    assert hashlib.sha256((work / "names.txt").read_bytes()).hexdigest() == NAMES_SHA256


def test_china_page_matches_the_code():
    """book/china.md tells readers what the bootstrap and load_words() do; the facts it states are the code's."""
    page = (ROOT / "book" / "china.md").read_text(encoding="utf-8")
    mod = importlib.util.spec_from_file_location("mm_utils_check", NOTEBOOKS / "mm_utils.py")
    mm = importlib.util.module_from_spec(mod)
    mod.loader.exec_module(mm)
    waits = {int(s) for s in re.findall(r"最多等 (\d+) 秒", page)}
    boot = {int(s) for s in re.findall(r"timeout=(\d+)", expected_bootstrap())}
    assert waits and waits == boot == {int(inspect.signature(mm.load_words).parameters["timeout"].default)}
    assert "cdn.jsdelivr.net/gh/" in page and "cdn.jsdelivr.net/gh/" in expected_bootstrap()
    assert all(any(u.startswith(p) for u in mm.NAMES_URLS) for p in ("https://raw.githubusercontent.com/",
                                                                     "https://cdn.jsdelivr.net/gh/"))
    assert "book/china" in toc_files(), "book/china must be in _toc.yml"
