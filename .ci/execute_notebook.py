"""Re-execute notebooks from a fresh kernel and store them without volatile metadata.

    python .ci/execute_notebook.py notebooks/09_mlp.ipynb [more.ipynb ...]
    python .ci/execute_notebook.py --strip-only notebooks/*.ipynb   # only drop volatile metadata

Each notebook runs top to bottom in a new kernel whose working directory is the notebook's folder
(as in Jupyter, nbval and the book build). The stored file keeps outputs, execution counts and cell
tags, and drops what changes on every run: ``metadata.execution`` timestamps, ``collapsed``/
``scrolled`` UI state, widget state and the Python patch version in ``language_info``.
``--threads N`` sets ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` for the kernel (torch reads them).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat

VOLATILE_CELL_KEYS = ("execution", "collapsed", "scrolled", "ExecuteTime")
VOLATILE_NB_KEYS = ("widgets", "toc", "varInspector")


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for key in VOLATILE_NB_KEYS:
        nb.metadata.pop(key, None)
    info = nb.metadata.get("language_info")
    if info is not None:
        info.pop("version", None)
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
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
    args = ap.parse_args(argv)
    if args.threads is not None:
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(args.threads)
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4) if args.strip_only else execute(path, args.timeout)
        nbformat.write(strip(nb), path)
        print(f"{'stripped' if args.strip_only else 'executed'}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
