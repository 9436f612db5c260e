"""Re-execute notebooks from a fresh kernel and store them without volatile metadata.

    python .ci/execute_notebook.py notebooks/09_mlp.ipynb [more.ipynb ...]
    python .ci/execute_notebook.py --strip-only notebooks/*.ipynb   # only drop volatile metadata
    python .ci/execute_notebook.py --strip-only --bootstrap notebooks/*.ipynb   # ... and renew the Colab cell

Each notebook runs top to bottom in a new kernel whose working directory is the notebook's folder
(as in Jupyter, nbval and the book build). The stored file keeps outputs, execution counts and cell
tags, and drops what changes on every run: ``metadata.execution`` timestamps, ``collapsed``/
``scrolled`` UI state, widget state and the Python patch version in ``language_info``; consecutive stream
outputs of a cell are merged into one (a slow loop's prints would otherwise show as several boxes).
``--threads N`` sets ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` for the kernel (torch reads them).
``--bootstrap`` makes the first code cell the Colab bootstrap below (tagged ``remove-cell``; in the repo it
does nothing and prints nothing, so its stored output stays empty and the notebook need not be re-run).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat

VOLATILE_CELL_KEYS = ("execution", "collapsed", "scrolled", "ExecuteTime")
VOLATILE_NB_KEYS = ("widgets", "toc", "varInspector")

# The first code cell of every notebook. In the repo mm_utils is importable and the cell does nothing; alone
# (Colab) it downloads mm_utils.py from raw GitHub, then from jsDelivr's mirror of the same repository, keeps
# the first answer that is Python defining load_words, and fails with the list of URLs otherwise.
# @REPO@ = OWNER/NAME and @BRANCH@ come from _config.yml (repository.url / repository.branch).
BOOTSTRAP_TEMPLATE = """\
# Colab 引导：在本仓库里运行时 mm_utils 就在旁边，这个单元什么也不做。
# 只有这一个笔记本时（例如从 Colab 按钮打开），它下载 mm_utils.py：先试 GitHub，再试 jsDelivr 镜像。
import ast
import importlib.util
import os
import urllib.request

if importlib.util.find_spec("mm_utils") is None:
    repo, branch = "@REPO@", "@BRANCH@"
    urls = os.environ.get("MM_UTILS_URLS", "").split() or [
        f"https://raw.githubusercontent.com/{repo}/{branch}/notebooks/mm_utils.py",
        f"https://cdn.jsdelivr.net/gh/{repo}@{branch}/notebooks/mm_utils.py",
    ]
    for url in urls:
        try:
            src = urllib.request.urlopen(url, timeout=15).read().decode("utf-8")
            if "load_words" in {f.name for f in ast.parse(src).body if isinstance(f, ast.FunctionDef)}:
                break
            print(f"{url}：下载到的不是 mm_utils.py")
        except Exception as e:  # 连不上、超时、HTTP 错误、不是 Python 代码
            print(f"{url}：{e}")
    else:
        raise RuntimeError("下载 mm_utils.py 失败，试过：\\n" + "\\n".join(urls)
                           + "\\n请检查网络，或手动下载其中一个文件，放在这个笔记本旁边。")
    with open("mm_utils.py", "w", encoding="utf-8") as f:
        f.write(src)
    os.environ.setdefault("MM_NAMES_PATH", os.path.abspath("names.txt"))
    importlib.invalidate_caches()"""


def bootstrap_source(config: Path | None = None) -> str:
    """The bootstrap cell with the repository of ``_config.yml`` filled in."""
    import re

    import yaml

    config = config or Path(__file__).resolve().parent.parent / "_config.yml"
    repo = yaml.safe_load(config.read_text(encoding="utf-8"))["repository"]
    m = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?/?", repo["url"])
    if not m:
        raise ValueError(f"repository.url in {config} is not a GitHub URL: {repo['url']!r}")
    return BOOTSTRAP_TEMPLATE.replace("@REPO@", m.group(1)).replace("@BRANCH@", repo.get("branch", "main"))


def set_bootstrap(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Make the first code cell the bootstrap (source and ``remove-cell`` tag; outputs and count kept)."""
    cell = next(c for c in nb.cells if c.cell_type == "code")
    cell.source = bootstrap_source()
    tags = cell.metadata.setdefault("tags", [])
    if "remove-cell" not in tags:
        tags.append("remove-cell")
    return nb


def coalesce_streams(outputs: list) -> list:
    """Merge consecutive stream outputs of the same name (stdout, stderr) into one.

    A cell that prints slowly (a training loop) produces one stream output per flush, and the site shows each
    as a box of its own; nbval compares the merged text, so merging changes nothing it checks.
    """
    merged: list = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (out.get("output_type") == "stream" and prev is not None and prev.get("output_type") == "stream"
                and prev.get("name") == out.get("name")):
            prev["text"] = prev["text"] + out["text"]
        else:
            merged.append(out)
    return merged


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for key in VOLATILE_NB_KEYS:
        nb.metadata.pop(key, None)
    info = nb.metadata.get("language_info")
    if info is not None:
        info.pop("version", None)
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
    return nb


def execute(path: Path, timeout: int) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    client.execute()
    return nb


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="+", type=Path)
    ap.add_argument("--strip-only", action="store_true", help="do not execute, only drop volatile metadata")
    ap.add_argument("--threads", type=int, default=None, help="torch/OpenMP threads in the kernel")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    ap.add_argument("--bootstrap", action="store_true", help="make the first code cell the Colab bootstrap cell")
    args = ap.parse_args(argv)
    if args.threads is not None:
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(args.threads)
    for path in args.notebooks:
        if args.bootstrap:
            nbformat.write(set_bootstrap(nbformat.read(path, as_version=4)), path)
        nb = nbformat.read(path, as_version=4) if args.strip_only else execute(path, args.timeout)
        nbformat.write(strip(nb), path)
        print(f"{'stripped' if args.strip_only else 'executed'}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
