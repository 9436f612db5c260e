"""Load the functions a chapter defines, straight from its notebook, so that benchmarks and tests run the
chapter's own code instead of a copy of it.

    ns = load("11_backprop_by_hand", "init_params", "train_manual", n_embd=10, n_hidden=64, vocab_size=27,
              block_size=3)
    parameters = ns["init_params"](g)

Only top-level ``def`` / ``class`` statements are taken (with their decorators), plus the notebook's other
top-level functions that they call, in notebook order; they run in a namespace that holds the notebook's
top-level imports and the keyword arguments, which stand in for the chapter's globals (``block_size``,
``n_embd``, ...). Nothing else of the notebook runs: no data loading, no training, no printing.
"""

from __future__ import annotations

import ast
import contextlib
import io
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def _cells(stem: str) -> list[str]:
    nb = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        # IPython lines (%timeit, !pip) are not Python; blank them so that line numbers stay
        out.append("\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.split("\n")))
    return out


def definitions(stem: str) -> tuple[list[str], dict[str, tuple[int, str, ast.AST]]]:
    """The notebook's top-level imports (source) and its top-level functions and classes:
    name -> (order, source, node). A name defined twice is an error (which one would the caller mean?)."""
    imports: list[str] = []
    defs: dict[str, tuple[int, str, ast.AST]] = {}
    order = 0
    for src in _cells(stem):
        tree = ast.parse(src)
        lines = src.split("\n")
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                imports.append(ast.get_source_segment(src, node))
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                if node.name in defs:
                    raise ValueError(f"{stem}: {node.name} is defined twice")
                defs[node.name] = (order, "\n".join(lines[first - 1:node.end_lineno]), node)
                order += 1
    return imports, defs


def load(stem: str, *names: str, **env) -> dict:
    """Execute the definitions of ``names`` (and the notebook functions they use) from notebooks/<stem>.ipynb
    and return the namespace they live in (a dict: its globals, so ``env`` values can be changed later)."""
    imports, defs = definitions(stem)
    missing = [n for n in names if n not in defs]
    if missing:
        raise KeyError(f"{stem} defines no top-level {missing}")
    wanted: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        wanted.add(name)
        used = {n.id for n in ast.walk(defs[name][2]) if isinstance(n, ast.Name)}
        todo += [n for n in used if n in defs and n not in env]
    if str(NOTEBOOKS) not in sys.path:
        sys.path.insert(0, str(NOTEBOOKS))  # the notebooks import mm_utils from their own folder
    ns: dict = {"__name__": f"chapter_{stem}"}
    exec(compile("\n".join(imports), f"{stem}.ipynb (imports)", "exec"), ns)
    ns.update(env)
    for name in sorted(wanted, key=lambda n: defs[n][0]):
        exec(compile(defs[name][1], f"{stem}.ipynb ({name})", "exec"), ns)
    return ns


def load_cell(stem: str, defines: str, **env) -> dict:
    """Execute the whole code cell of notebooks/<stem>.ipynb that defines ``defines`` at top level (a cell
    that builds a model inline rather than in a function), after the notebook's imports, in a namespace
    holding ``env``; what the cell prints is discarded. Returns the namespace."""
    imports, defs = definitions(stem)
    if defines not in defs:
        raise KeyError(f"{stem} defines no top-level {defines!r}")
    cells = [src for src in _cells(stem) if any(
        isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == defines for n in ast.parse(src).body)]
    if str(NOTEBOOKS) not in sys.path:
        sys.path.insert(0, str(NOTEBOOKS))
    ns: dict = {"__name__": f"chapter_{stem}"}
    exec(compile("\n".join(imports), f"{stem}.ipynb (imports)", "exec"), ns)
    ns.update(env)
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(cells[0], f"{stem}.ipynb (cell defining {defines})", "exec"), ns)
    return ns
