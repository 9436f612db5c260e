"""The results table (成绩表, GUIDE §9): where its rows come from, shared by tests/test_results.py and
.ci/sync_results.py.

A chapter's `results-row` cell prints one markdown row per model:
    | <model> | <chapter NN> | <dev loss> | <test loss> | <parameters> | <seconds> s |
nbval compares that output (only the seconds column is masked by tests/nbval_sanitize.cfg), so the
numbers on the page are the numbers a fresh run of the chapter gives.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PAGE = ROOT / "book" / "results.md"
ROW = re.compile(r"^\| (?P<model>[^|]+?) \| (?P<ch>\d\d) \| (?P<dev>\d\.\d{4}) \| (?P<test>\d\.\d{4}) \| "
                 r"(?P<params>\d{1,3}(?:,\d{3})*) \| (?P<secs>\d+\.\d) s \|$")
# a line that looks like a results row (six cells, a two-digit chapter in the second) but may be malformed
LOOSE = re.compile(r"^\|[^|]+\| \d\d \|([^|]+\|){4}\s*$")


def rows_in(text: str) -> list[str]:
    """The lines of ``text`` that look like results rows, stripped."""
    return [line.strip() for line in text.splitlines() if LOOSE.match(line.strip())]


def produced() -> dict[str, list[str]]:
    """chapter number -> the rows its results-row cell printed (stored output)."""
    out: dict[str, list[str]] = {}
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for c in nb.cells:
            if c.cell_type == "code" and "results-row" in c.metadata.get("tags", []):
                text = "".join(o.get("text", "") for o in c.outputs if o.output_type == "stream")
                out.setdefault(path.name[:2], []).extend(rows_in(text))
    return out
